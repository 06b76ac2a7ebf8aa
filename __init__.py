"""ComfyUI entry point of the Deforum pack.

ComfyUI imports this file as a package named after the pack's folder; everything else is
reached through relative imports so the pack works whatever the folder is called.
"""

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

WEB_DIRECTORY = "./web"

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
