"""Every real Deforum settings file in ../shared/deforum_settings (all three dialects, 2022 to
2025) imports with a report line per key and renders a 6-frame 64x64 motion preview with
`deforum-comfy run FILE --preview --max-frames 6 --size 64x64`, or stops with an error naming
a file the settings reference that is absent. Pictures they name are then supplied under
their file name, and the render must go through (or stop at the next absent file)."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from deforum_app.cli import main
from deforum_core.render import RunDirectory
from deforum_core.settings_file import read_settings_file
from deforum_core.settings_file.report import DEFAULTED

SHARED = Path(__file__).resolve().parents[3] / "shared" / "deforum_settings"
PARSEQ = ("A_v09_test_parseq.json", "A_v09_user_tholonia_parseq.json")
SETTINGS = sorted(
    path
    for path in (SHARED.glob("*") if SHARED.is_dir() else [])
    if path.suffix in (".txt", ".json") and path.name not in PARSEQ
)
IMAGE_KEYS = ("init_image", "color_coherence_image_path")
# The files whose render needs a file that is not an image (a video or a sound): they stop
# with an error naming that key, after any pictures they name were supplied.
STOPS_AT = {
    "A_v08_user_eduardonba1_3d_hybrid_cn.txt": "video_init_path",  # the soundtrack video
    "A_v09_user_astinastin_2d_hybrid_cn.txt": "video_init_path",  # the soundtrack video
    "A_v09_user_malkohol_2d_preview_maskvideo.txt": "soundtrack_path",
    "A_v09_user_tholonia_3d_parseq_hybrid_cn.txt": "soundtrack_path",
    "L_user_berkanz_video_input.txt": "video_init_path",  # Video Input's video
}
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/deforum_settings absent")


def test_the_corpus_is_all_there():
    assert len(SETTINGS) == 27


def _preview(path: Path, tmp_path: Path, capsys) -> tuple[int, str, str]:
    arguments = ["run", str(path), "--preview", "--max-frames", "6", "--size", "64x64",
                 "--out", str(tmp_path / "out"), "--input", str(tmp_path / "input")]  # fmt: skip
    code = main(arguments)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _supply_picture(folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    picture = np.full((40, 56, 3), (40, 160, 220), np.uint8)
    picture[10:30, 20:40] = (250, 250, 250)
    assert cv2.imwrite(str(folder / name), picture)


@pytest.mark.parametrize("path", SETTINGS, ids=lambda path: path.name)
def test_a_real_settings_file_imports_and_previews(path, tmp_path, capsys):
    keys = list(json.loads(path.read_text(encoding="utf-8")))
    imported = read_settings_file(path)
    assert [line.key for line in imported.report if line.status != DEFAULTED] == keys
    references = {ref.key: ref for ref in imported.references}
    supplied = []
    for _ in range(len(references) + 1):
        code, out, err = _preview(path, tmp_path, capsys)
        if code == 0:
            break
        assert code == 2, err
        named = [ref for ref in references.values() if err.startswith(f"error: {ref.key}:")]
        assert len(named) == 1, f"the error names no referenced file: {err}"
        reference = named[0]
        assert repr(reference.value) in err and reference.file_name in err
        if reference.key not in IMAGE_KEYS:
            assert STOPS_AT.get(path.name) == reference.key, err
            return
        assert reference.key not in supplied, f"{reference.key} not found once supplied: {err}"
        _supply_picture(tmp_path / "input", reference.file_name)
        supplied.append(reference.key)
    assert code == 0, err
    assert path.name not in STOPS_AT
    (run_dir,) = (tmp_path / "out" / "deforum").iterdir()
    assert out.startswith(f"frames: {run_dir} (6 written)")
    frames = RunDirectory(run_dir).frame_sequence(6)
    assert [cv2.imread(str(frame)).shape for frame in frames] == [(64, 64, 3)] * 6
    report = (run_dir / "import_report.txt").read_text(encoding="utf-8")
    assert all(f" {key}" in report for key in keys)


@pytest.mark.parametrize("name", PARSEQ)
def test_a_parseq_document_is_refused_with_what_it_is(name, tmp_path, capsys):
    code, _, err = _preview(SHARED / name, tmp_path, capsys)
    assert code == 2
    assert f"error: settings: {name} is a Parseq document, not Deforum settings" in err
