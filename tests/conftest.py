"""Shared fixtures: the pack imported as ComfyUI imports it, and a real ComfyUI server.

The integration tests run by default and never skip: a ComfyUI that cannot be installed or
booted fails them with the server log, because "the pack loads in ComfyUI" is the product.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

# Before anything loads torch: the kernels every test process renders with (see the module).
sys.path.insert(0, str(Path(__file__).resolve().parent / "reproducible"))
import reproducible_numerics

reproducible_numerics.pin_numerics()

import pytest  # noqa: E402

# The harness sits beside this file; make it importable whatever pytest's import mode is.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import comfyui_harness as harness  # noqa: E402

PACK_PACKAGE_NAME = harness.PACK_FOLDER_NAME


def load_pack() -> ModuleType:
    """Import the repository root as the package ``deforum_comfy``, like ComfyUI does.

    ComfyUI loads a custom-node folder with spec_from_file_location on its ``__init__.py``,
    so the pack's relative imports only work when it is imported as a package; doing the same
    here lets node tests use exactly the module objects ComfyUI would register.
    """
    existing = sys.modules.get(PACK_PACKAGE_NAME)
    if existing is not None:
        return existing
    root = harness.REPO_ROOT
    spec = importlib.util.spec_from_file_location(
        PACK_PACKAGE_NAME, root / "__init__.py", submodule_search_locations=[str(root)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACK_PACKAGE_NAME] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(PACK_PACKAGE_NAME, None)
        raise
    return module


@pytest.fixture(scope="session")
def pack() -> ModuleType:
    """The pack's top-level module (NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS, ...)."""
    return load_pack()


@pytest.fixture(scope="session", params=sorted(harness.GENERATIONS))
def comfyui_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[harness.ComfyServer]:
    """A real ComfyUI with the pack linked in, once per generation (harness.GENERATIONS):
    every test that uses it runs on the March-2024 and on the late-2025 ComfyUI.

    Yields a ComfyServer: ``generation``, ``base_url``, ``port``, ``log_path``, ``output_dir``,
    ``input_dir`` and ``client`` (HTTP helpers). Installation or boot failures fail the tests
    with the log.
    """
    generation = harness.GENERATIONS[request.param]
    workdir = tmp_path_factory.mktemp(generation.name)
    try:
        instance = harness.create_instance(harness.ensure_comfyui(generation), workdir)
        server = harness.start_server(generation, instance, workdir)
    except harness.HarnessError as error:
        pytest.fail(f"ComfyUI could not be installed or started:\n{error}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def object_info(comfyui_server: harness.ComfyServer) -> dict:
    """/object_info of the running server, fetched once."""
    return comfyui_server.client.object_info()


@pytest.fixture(scope="session")
def checkpoint(comfyui_server: harness.ComfyServer) -> str:
    """The tiny SD1.5 checkpoint in the running server's checkpoints folder, written once.
    ComfyUI re-lists a model folder when its modification time changes: no restart needed."""
    from tiny_models import TINY_CHECKPOINT, write_tiny_sd15_checkpoint

    write_tiny_sd15_checkpoint(comfyui_server.root / "models" / "checkpoints" / TINY_CHECKPOINT)
    return TINY_CHECKPOINT


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny pipeline saved as a diffusers folder, for `--model`."""
    from tiny_models import tiny_sd_pipeline

    folder = tmp_path_factory.mktemp("model") / "tiny-sd"
    tiny_sd_pipeline(tmp_path_factory.mktemp("scratch")).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory):
    """A tiny diffusers StableDiffusionPipeline with seeded random weights."""
    from tiny_models import tiny_sd_pipeline

    return tiny_sd_pipeline(tmp_path_factory.mktemp("tiny-sd"))
