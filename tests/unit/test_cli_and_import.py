"""The command line and the cost of importing the pack."""

import json
import subprocess
import sys
from pathlib import Path

import cv2

from deforum_app.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_schedule_command_prints_each_frame_and_writes_a_plot(capsys, tmp_path):
    plot = tmp_path / "zoom.png"
    assert main(["schedule", "0:(0), 4:(8)", "--frames", "6", "--plot", str(plot)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["0\t0.0", "1\t2.0", "2\t4.0", "3\t6.0", "4\t8.0", "5\t8.0"]
    image = cv2.imread(str(plot))
    assert image.shape == (256, 512, 3)
    assert [path.name for path in tmp_path.iterdir()] == ["zoom.png"]


def test_schedule_command_reads_text_from_a_file(capsys, tmp_path):
    source = tmp_path / "angle.txt"
    source.write_text("0:(t*2)", encoding="utf-8")
    assert main(["schedule", f"@{source}", "--frames", "3"]) == 0
    assert capsys.readouterr().out.splitlines() == ["0\t0.0", "1\t2.0", "2\t4.0"]


def test_prompts_command_prints_json_lines(capsys):
    assert main(["prompts", '{"0": "a cat", "2": "a dog"}', "--frames", "3"]) == 0
    frames = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [frame["positive"] for frame in frames] == ["a cat", "a cat", "a dog"]
    assert frames[1]["blend"] == 0.5


def test_bad_schedule_exits_2_with_the_message(capsys):
    assert main(["schedule", "0:(1,02)", "--name", "zoom"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: zoom: decimal comma")
    assert "use '.' as the decimal separator" in error


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("deforum-comfy")
    result = subprocess.run(
        [str(script), "schedule", "0:(1), 1:(3)", "--frames", "3"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.stdout.splitlines() == ["0\t1.0", "1\t3.0", "2\t3.0"]


IMPORT_PROBE = """
import importlib.util, json, sys
import torch  # ComfyUI has torch loaded before it imports custom nodes
root = sys.argv[1]
spec = importlib.util.spec_from_file_location(
    "deforum_pack", root + "/__init__.py", submodule_search_locations=[root])
module = importlib.util.module_from_spec(spec)
sys.modules["deforum_pack"] = module
spec.loader.exec_module(module)
print(json.dumps({
    "heavy": [name for name in HEAVY if name in sys.modules],
    "nodes": sorted(module.NODE_CLASS_MAPPINGS),
    "engine": sys.modules["deforum_core"].__file__,
    "copies": [name for name in sys.modules if name.startswith("deforum_pack.deforum_core")],
}))
"""
HEAVY = ("diffusers", "transformers", "timm", "cv2", "kornia", "torchvision")


def test_importing_the_pack_is_light_once_torch_is_loaded(pack):
    result = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{IMPORT_PROBE}", str(REPO_ROOT)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert report["nodes"] == sorted(pack.NODE_CLASS_MAPPINGS)
    assert report["heavy"] == []
    assert report["engine"] == str(REPO_ROOT / "deforum_core" / "__init__.py")
    assert report["copies"] == []  # one engine, by its absolute name


def test_readme_python_example_runs_and_its_comments_hold():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    examples = [block.split("```", 1)[0] for block in readme.split("```python\n")[1:]]
    assert len(examples) == 2
    namespace: dict = {}
    for example in examples:
        exec(compile(example, "README.md", "exec"), namespace)  # our own documentation
    assert namespace["noised"].shape == (1, 64, 64, 3)
    assert len(namespace["zoom"]) == 60
    assert namespace["angle"].key_frames(120) == [0, 30]
    frame = namespace["frame"]
    assert (frame.positive, frame.next_positive, frame.blend) == (
        "masterpiece a cat",
        "masterpiece a dog",
        0.5,
    )
    assert len(namespace["seeds"]) == 60
