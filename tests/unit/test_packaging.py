"""The pack as `pip install .` (not editable) installs it: every package is in the wheel, and
the installed `deforum-comfy` renders, evaluates schedules and prompts away from the checkout.
One module identity: the engine is `deforum_core` everywhere, never a copy inside the pack."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIRS = {"deforum_comfy": ".", "deforum_comfy.nodes": "nodes"}


def packages_on_disk() -> set[str]:
    """Every folder with an __init__.py under the engine and the app, and the pack itself."""
    found = set(PACKAGE_DIRS)
    for top in ("deforum_core", "deforum_app"):
        for init in (REPO_ROOT / top).rglob("__init__.py"):
            found.add(".".join(init.parent.relative_to(REPO_ROOT).parts))
    return found


def test_pyproject_lists_every_package():
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    assert set(setuptools["packages"]) == packages_on_disk()
    assert setuptools["package-dir"] == PACKAGE_DIRS


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The pack built as a wheel and installed into a folder of its own (no dependencies:
    this venv has them)."""
    wheels, target = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(REPO_ROOT)], check=True)
    (wheel,) = wheels.glob("deforum_comfy-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)],
                   check=True)  # fmt: skip
    return target


def run_installed(target: Path, cwd: Path, *arguments: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(target)}
    return subprocess.run(
        [str(target / "bin" / "deforum-comfy"), *arguments],
        cwd=cwd, env=environment, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_the_installed_command_renders_away_from_the_checkout(installed, tmp_path):
    workflow = json.loads((REPO_ROOT / "workflows/headless/deforum_2d.json").read_text())
    for node in workflow.values():
        if node["class_type"] == "DeforumAnimate":
            node["inputs"].update(width=64, height=64, max_frames=3)
    (tmp_path / "twin.json").write_text(json.dumps(workflow), encoding="utf-8")

    rendered = run_installed(installed, tmp_path, "render", "twin.json", "--preview",
                             "--out", "out")  # fmt: skip

    assert rendered.returncode == 0, rendered.stderr
    (run,) = (tmp_path / "out" / "deforum").iterdir()
    assert sorted(path.name for path in run.glob("frame_*.png")) == [
        "frame_00000.png", "frame_00001.png", "frame_00002.png",
    ]  # fmt: skip
    assert (run / "deforum.mp4").is_file()
    schedule = run_installed(installed, tmp_path, "schedule", "0:(0), 2:(4)", "--frames", "3")
    assert schedule.stdout.splitlines() == ["0\t0.0", "1\t2.0", "2\t4.0"]
    prompts = run_installed(installed, tmp_path, "prompts", "0: a cat", "--frames", "1")
    assert json.loads(prompts.stdout)["positive"] == "a cat"


def test_the_installed_modules_are_the_installed_copies(installed, tmp_path):
    probe = (
        "import json, deforum_app.cli, deforum_comfy, deforum_core, sys;"
        "print(json.dumps({'files': [m.__file__ for m in (deforum_app.cli, deforum_comfy,"
        " deforum_core)], 'engines': sorted(n for n in sys.modules if 'deforum_core' in n"
        " and not n.startswith('deforum_core'))}))"
    )
    environment = {**os.environ, "PYTHONPATH": str(installed)}
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=environment,
                            capture_output=True, text=True, check=True)  # fmt: skip
    report = json.loads(result.stdout)
    assert all(Path(file).is_relative_to(installed) for file in report["files"])
    assert report["engines"] == []  # no second copy of the engine under another name


def imported_modules(path: Path) -> set[str]:
    """The absolute names a module imports (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(REPO_ROOT).parent.parts)
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = (
                package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            )
            names.add(".".join([*base, node.module] if node.module else base))
    return names


FORBIDDEN_IN_ENGINE = ("nodes", "deforum_comfy", "deforum_app", "comfy", "folder_paths",
                       "comfy_execution", "comfy_api", "latent_preview", "server")  # fmt: skip


@pytest.mark.parametrize(
    "path", sorted((REPO_ROOT / "deforum_core").rglob("*.py")), ids=lambda p: p.name
)
def test_the_engine_imports_neither_the_nodes_nor_comfyui(path):
    imported = imported_modules(path)
    bad = sorted(n for n in imported if n.split(".")[0] in FORBIDDEN_IN_ENGINE)
    assert bad == [], f"{path.relative_to(REPO_ROOT)} imports {bad}"


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "nodes").glob("*.py")), ids=lambda p: p.name)
def test_the_nodes_import_the_engine_by_its_absolute_name(path):
    assert "..deforum_core" not in path.read_text(encoding="utf-8")


MAX_MODULE_LINES = 400


@pytest.mark.parametrize(
    "path",
    sorted([*(REPO_ROOT / "deforum_core").rglob("*.py"), *(REPO_ROOT / "nodes").glob("*.py")]),
    ids=lambda p: str(p.relative_to(REPO_ROOT)),
)
def test_modules_stay_small(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.name} has {lines} lines: split it by job"
