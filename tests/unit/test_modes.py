"""The animation modes as objects: the registry names them, each owns its rules, and the
loop and the nodes ask the mode instead of comparing mode names."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from deforum_core.modes import MODES, Camera2D, KeyInputs, StillCamera, get_mode
from deforum_core.params import param_of
from deforum_core.render import AnimationSettings
from deforum_core.stages import Motion2DStage, RenderInfo

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_registry_is_the_list_of_modes(pack):
    assert list(MODES) == ["None", "2D", "3D", "Video Input", "Interpolation"]
    assert param_of(AnimationSettings, "animation_mode").choices == tuple(MODES)
    animate = pack.NODE_CLASS_MAPPINGS["DeforumAnimate"].INPUT_TYPES()["required"]
    assert animate["animation_mode"][0] == list(MODES)
    with pytest.raises(ValueError, match="unknown animation mode 'Video'"):
        get_mode("Video")


def test_cadence_rules():
    assert [MODES[name].cadence(4) for name in MODES] == [1, 4, 4, 4, 1]
    assert AnimationSettings(animation_mode="None", diffusion_cadence=3).diffused_frames() == [
        *range(120)
    ]


def key(previous=None, camera=None) -> KeyInputs:
    init = torch.full((1, 8, 8, 3), 0.25)
    return KeyInputs(4, 0.6, init, 0.9, previous, 2 if previous is not None else None,
                     camera or StillCamera())  # fmt: skip


def test_key_start_rules():
    first = MODES["2D"].start_key(key())
    assert (first.strength, first.prepared) == (0.9, False) and first.picture.mean() == 0.25
    moved = Motion2DStage(zoom="0:(1)", translation_x="0:(1)", sampling="nearest")
    camera = Camera2D(moved.bind(RenderInfo(5, 8, 8)))
    previous = torch.zeros(1, 8, 8, 3)
    previous[0, :, 0] = 1.0
    later = MODES["2D"].start_key(key(previous, camera))
    assert (later.strength, later.prepared) == (0.6, True)
    assert later.picture[0, 0, :, 0].tolist()[:3] == [1.0, 1.0, 1.0]  # moved 2 frames right
    still = MODES["None"].start_key(key(previous, camera))
    assert (still.strength, still.prepared) == (0.9, False) and still.picture.mean() == 0.25
    video_frame = torch.full((1, 8, 8, 3), 0.75)
    from_video = MODES["Video Input"].start_key(replace(key(previous, camera),
                                                        video_frame=video_frame))  # fmt: skip
    assert (from_video.strength, from_video.prepared) == (0.6, True)
    assert from_video.picture is video_frame  # the video's frame, not the moved previous one


LOOP_AND_NODES = [
    REPO_ROOT / "deforum_core" / "render" / "animator.py",
    *sorted((REPO_ROOT / "nodes").glob("*.py")),
]


@pytest.mark.parametrize("path", LOOP_AND_NODES, ids=lambda p: p.name)
def test_the_loop_and_the_nodes_never_compare_mode_names(path):
    names = set(MODES)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            texts = {c.value for c in ast.walk(node) if isinstance(c, ast.Constant)
                     and isinstance(c.value, str)}  # fmt: skip
            assert not names & texts, f"{path.name}:{node.lineno}"
