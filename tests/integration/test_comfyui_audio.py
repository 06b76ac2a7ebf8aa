"""Audio-reactive zoom inside both real ComfyUIs: workflows/deforum_audio.json, with a 120-bpm
click track uploaded as the frontend uploads it and the tiny checkpoint, renders a 2D animation
whose zoom (Deforum Audio Schedule's schedule, linked into Motion 2D's zoom) peaks on every
beat, and Deforum Video carries the same sound. The headless twin renders the same zoom with
the command line as `deforum-comfy audio` prints it.

At 16 fps and 120 bpm a beat falls on every 8th frame, so the peaks sit on whole frames.
"""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import pairwise
from pathlib import Path
from typing import Any

import av
import pytest
from comfyui_harness import (
    REPO_ROOT,
    ComfyServer,
    comparable_links,
    load_workflow,
    node_of,
    set_widgets,
    widget_values,
    workflow_to_api_prompt,
)
from sounds import write_clicks
from tiny_models import TINY_CHECKPOINT

from deforum_core.audio import AudioScheduleSettings, audio_schedule
from deforum_core.keyframes import evaluate_schedule

pytestmark = pytest.mark.comfyui

WORKFLOW = REPO_ROOT / "workflows" / "deforum_audio.json"
TWIN = REPO_ROOT / "workflows" / "headless" / "deforum_audio.json"
SOUND = "deforum_beat.wav"  # the name the workflow's Deforum Audio Schedule and Video name
BPM, FPS, FRAMES = 120, 16.0, 17
BEATS = [0, 8, 16]  # 60 / 120 bpm * 16 fps = a beat every 8 frames
LENGTH = {"fps": FPS, "max_frames": FRAMES}
SMALL = {"width": 64, "height": 64, "steps_schedule": "0:(2)", **LENGTH}


def click_track(path: Path) -> Path:
    return write_clicks(path, bpm=BPM, seconds=FRAMES / FPS + 0.5)


def assert_pulses_on_the_beats(zoom: list[float], high: float) -> None:
    """The zoom is `high` on each beat frame only, and falls from it until the next beat."""
    assert len(zoom) == FRAMES
    assert [frame for frame, value in enumerate(zoom) if value == pytest.approx(high)] == BEATS
    for beat, following in pairwise(BEATS):
        falling = zoom[beat:following]
        assert falling == sorted(falling, reverse=True) and falling[-1] < high - 0.01


def recorded_zoom(folder: Path) -> tuple[str, list[float]]:
    """The zoom schedule the run recorded in settings.json, and its value on every frame."""
    record = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    assert (record["max_frames"], record["fps"]) == (FRAMES, FPS)
    text = record["stages"]["motion"]["zoom"]
    return text, evaluate_schedule(text, FRAMES, name="zoom", fps=FPS)


def assert_video_with_sound(path: Path) -> None:
    with av.open(str(path)) as container:
        assert len(container.streams.audio) == 1
        assert sum(1 for _ in container.decode(video=0)) == FRAMES


def test_the_audio_workflow_pulses_the_zoom_on_each_beat_with_the_music(
    comfyui_server: ComfyServer, object_info: dict, checkpoint: str, tmp_path: Path
) -> None:
    sound = click_track(tmp_path / SOUND)
    assert comfyui_server.client.upload(SOUND, sound.read_bytes(), "audio/wav") == SOUND
    workflow = load_workflow(WORKFLOW)
    shipped = widget_values(workflow, object_info, "DeforumAudioSchedule")
    assert shipped["audio_file"] == SOUND and shipped["feature"] == "beats"
    animate = widget_values(workflow, object_info, "DeforumAnimate")
    assert (shipped["fps"], shipped["max_frames"]) == (animate["fps"], animate["max_frames"])
    assert widget_values(workflow, object_info, "DeforumVideo")["audio_file"] == SOUND
    set_widgets(workflow, object_info, "CheckpointLoaderSimple", ckpt_name=TINY_CHECKPOINT)
    set_widgets(workflow, object_info, "DeforumAnimate", run_name="audio", **SMALL)
    set_widgets(workflow, object_info, "DeforumAudioSchedule", **LENGTH)

    prompt = workflow_to_api_prompt(workflow, object_info)
    outputs = comfyui_server.client.run_prompt(prompt, workflow, timeout_s=240)["outputs"]

    (run_dir,) = outputs[str(node_of(workflow, "DeforumAnimate")["id"])]["run_dir"]
    folder = comfyui_server.output_dir / run_dir
    assert len(list(folder.glob("frame_*.png"))) == FRAMES
    text, zoom = recorded_zoom(folder)
    assert_pulses_on_the_beats(zoom, shipped["high"])
    settings = {**{k: v for k, v in shipped.items() if k != "audio_file"}, **LENGTH}
    assert text == audio_schedule(sound, AudioScheduleSettings(**settings)).text
    (curve,) = outputs[str(node_of(workflow, "DeforumAudioSchedule")["id"])]["images"]
    assert curve["type"] == "temp" and curve["filename"].endswith(".png")
    (video,) = outputs[str(node_of(workflow, "DeforumVideo")["id"])]["deforum_video"]
    assert_video_with_sound(folder / video["filename"])


def test_the_workflow_matches_its_headless_twin_link_for_link(object_info: dict) -> None:
    """Besides the settings (test_comfyui_animation's twin comparison), the same links, but
    for ComfyUI's own checkpoint loader and preview: the audio schedule drives Motion 2D's
    zoom in both."""
    prompt = workflow_to_api_prompt(load_workflow(WORKFLOW), object_info)
    twin = json.loads(TWIN.read_text(encoding="utf-8"))
    ui_links, twin_links = comparable_links(prompt, twin)
    assert twin_links == ui_links
    assert ("DeforumMotion2D", "zoom", "DeforumAudioSchedule") in ui_links


def audio_verb_arguments(inputs: dict[str, Any]) -> list[str]:
    """`deforum-comfy audio` options for the node inputs of the same names."""
    flags = {"fps": "--fps", "max_frames": "--frames", "start_seconds": "--start",
             "attack": "--attack", "decay": "--decay", "low": "--low", "high": "--high",
             "curve": "--curve", "feature": "--feature"}  # fmt: skip
    return [part for name, flag in flags.items() for part in (flag, str(inputs[name]))]


def test_the_twin_renders_the_zoom_the_audio_verb_prints(tmp_path: Path) -> None:
    (tmp_path / "input").mkdir()
    sound = click_track(tmp_path / "input" / SOUND)
    twin = json.loads(TWIN.read_text(encoding="utf-8"))
    (audio,) = [n["inputs"] for n in twin.values() if n["class_type"] == "DeforumAudioSchedule"]
    (animate,) = [n["inputs"] for n in twin.values() if n["class_type"] == "DeforumAnimate"]
    audio.update(LENGTH)
    animate.update(SMALL)
    path = tmp_path / "twin.json"
    path.write_text(json.dumps(twin), encoding="utf-8")
    command = str(Path(sys.executable).with_name("deforum-comfy"))

    rendered = subprocess.run(
        [command, "render", str(path), "--preview", "--out", str(tmp_path / "out"), "--input",
         str(tmp_path / "input")], capture_output=True, text=True, check=False,
    )  # fmt: skip
    printed = subprocess.run(
        [command, "audio", str(sound), *audio_verb_arguments(audio)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip

    assert rendered.returncode == 0, rendered.stderr
    assert printed.returncode == 0, printed.stderr
    (folder,) = (tmp_path / "out" / "deforum").iterdir()
    assert len(list(folder.glob("frame_*.png"))) == FRAMES
    text, zoom = recorded_zoom(folder)
    assert text == printed.stdout.strip()
    assert zoom == evaluate_schedule(printed.stdout, FRAMES, name="zoom", fps=FPS)
    assert_pulses_on_the_beats(zoom, audio["high"])
    assert_video_with_sound(folder / "deforum.mp4")
