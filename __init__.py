"""ComfyUI entry point of the Deforum pack.

ComfyUI imports this file as a package named after the pack's folder; everything else is
reached through relative imports so the pack works whatever the folder is called.
"""

WEB_DIRECTORY = "./web"

# pytest also imports this file, as a bare module when the checkout's folder name is not a
# valid module name; there is no package to import the nodes from then.
if __package__:
    from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

    __all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
