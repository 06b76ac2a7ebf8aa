"""Deforum Audio Schedule called as ComfyUI calls it: a sound from the input folder or an
AUDIO dict gives the same schedule, which a schedule input takes as it is; names outside the
input folder are refused without a word about them; in ComfyUI the curve shows as a preview."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest
import torch
from fake_comfy import FakeFolderPaths
from sounds import click_track, write_clicks

from deforum_app.workflow_runner import run_workflow
from deforum_core.errors import DeforumError
from deforum_core.keyframes import parse_schedule

WIDGETS = {
    "feature": "beats",
    "fps": 24.0,
    "max_frames": 0,
    "start_seconds": 0.0,
    "attack": 0.0,
    "decay": 0.1,
    "low": 1.0,
    "high": 1.05,
    "curve": 1.0,
}


def node(pack):
    return pack.NODE_CLASS_MAPPINGS["DeforumAudioSchedule"]


def build(pack, audio_file="music/clicks.wav", **given):
    return node(pack)().build(audio_file=audio_file, **{**WIDGETS, **given})


@pytest.fixture
def clicks(host):
    (host.input / "music").mkdir()
    return write_clicks(host.input / "music" / "clicks.wav", bpm=120, seconds=4.0)


def test_the_combo_lists_the_sounds_of_the_input_folder(pack, host, clicks):
    (host.input / "notes.txt").write_text("not a sound", encoding="utf-8")
    (host.input / "song.MP3").write_bytes(b"")
    choices = node(pack).INPUT_TYPES()["required"]["audio_file"][0]
    assert choices == ["none", "music/clicks.wav", "song.MP3"]


def test_the_file_and_the_same_samples_as_audio_give_the_same_schedule(pack, clicks):
    from_file = build(pack)["result"]
    samples = torch.from_numpy(click_track(120, 4.0).astype(np.float32) / 32768)
    audio = {"waveform": samples.expand(2, -1)[None], "sample_rate": 44100}  # [1, 2, T]
    from_audio = build(pack, audio_file="none", audio=audio)["result"]
    assert from_audio == from_file
    text, frames = from_file
    values = parse_schedule(text).evaluate(frames)
    assert frames == 96 and [f for f, v in enumerate(values) if v == 1.05] == [*range(0, 96, 12)]


def test_a_schedule_input_takes_the_text_as_it_is(pack, clicks):
    workflow = {
        "1": {"class_type": "DeforumAudioSchedule",
              "inputs": {"audio_file": "music/clicks.wav", **WIDGETS}},
        "2": {"class_type": "DeforumSchedule",
              "inputs": {"schedule": ["1", 0], "max_frames": ["1", 1], "interpolation": "linear",
                         "s_value": 0, "fps": 24.0, "name": "zoom"}},
    }  # fmt: skip
    shown = run_workflow(workflow, pack.NODE_CLASS_MAPPINGS)["2"]["values"]
    text, frames = build(pack)["result"]
    assert shown == parse_schedule(text).evaluate(frames) and max(shown) == 1.05


@pytest.mark.parametrize("name", ["../secret.wav", "../missing.wav", "/etc/hostname"])
def test_names_outside_the_input_folder_are_refused_saying_nothing_about_them(
    pack, host, tmp_path, name
):
    (tmp_path / "secret.wav").write_bytes(b"RIFF")
    expected = f"audio_file: {name!r} is outside the input folder"
    with pytest.raises(DeforumError) as error:
        build(pack, audio_file=name)
    assert str(error.value).splitlines()[0] == expected
    assert str(tmp_path) not in str(error.value)
    checked = node(pack).VALIDATE_INPUTS(audio_file=name, **WIDGETS)
    assert checked.splitlines()[0] == expected


def test_queue_checks_name_the_input(pack, clicks):
    assert node(pack).VALIDATE_INPUTS(audio_file="music/clicks.wav", **WIDGETS) is True
    linked = {**WIDGETS, "fps": None, "max_frames": None}  # linked inputs arrive at run time
    assert node(pack).VALIDATE_INPUTS(audio_file="none", **linked) is True
    wrong = node(pack).VALIDATE_INPUTS(audio_file="none", **{**WIDGETS, "feature": "drums"})
    assert wrong.startswith("feature: unknown feature 'drums'")
    with pytest.raises(DeforumError, match=r"^audio_file: no sound: choose an audio file"):
        build(pack, audio_file="none")


def test_in_comfyui_the_curve_shows_as_a_preview_image(pack, host, clicks, tmp_path, monkeypatch):
    class WithTemp(FakeFolderPaths):
        def get_temp_directory(self):
            return str(tmp_path / "temp")

    monkeypatch.setitem(sys.modules, "folder_paths", WithTemp(tmp_path / "models"))
    assert importlib.import_module(f"{pack.__name__}.nodes.comfy_bridge").input_directory() == (
        host.input
    )
    made = build(pack)
    (image,) = made["ui"]["images"]
    assert image["type"] == "temp" and image["subfolder"] == ""
    assert (tmp_path / "temp" / image["filename"]).read_bytes()[:4] == b"\x89PNG"
    assert build(pack)["ui"] == made["ui"]  # the same curve, the same file
