"""ComfyUI entry point of the Deforum pack.

ComfyUI imports this file as a package named after the pack's folder. The node classes are
reached relatively (`.nodes`, whatever the folder is called); they import the engine by its
absolute name, `deforum_core`, so the engine is one module wherever it is used (ComfyUI, the
command line, tests). ComfyUI does not install the pack, so the engine beside this file is
registered under that name first; an installed pack (`pip install .`) finds it as usual.
"""

import importlib.util
import os
import sys

WEB_DIRECTORY = "./web"
ENGINE = "deforum_core"


def _register_engine() -> None:
    """Import the engine beside this file as `deforum_core`, unless one is imported already
    (only that one name is made importable: the pack's other folders stay private)."""
    engine_init = os.path.join(os.path.dirname(os.path.abspath(__file__)), ENGINE, "__init__.py")
    if ENGINE in sys.modules or not os.path.isfile(engine_init):
        return
    spec = importlib.util.spec_from_file_location(
        ENGINE, engine_init, submodule_search_locations=[os.path.dirname(engine_init)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[ENGINE] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[ENGINE]
        raise


# pytest also imports this file, as a bare module when the checkout's folder name is not a
# valid module name; there is no package to import the nodes from then.
if __package__:
    _register_engine()

    from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

    __all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
