"""Masks in Deforum settings files: each dialect's sense of white, the webui's mask_schedule
and noise masking, the mask file, the init image's alpha and a mask video, rendered."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from clips import clip_frames, write_clip

from deforum_app.cli import main
from deforum_core.settings_file import SettingsFileError, import_settings
from deforum_core.settings_file.loaded import LoadedSettings
from deforum_core.settings_file.report import IGNORED, MAPPED, UNSUPPORTED

WEBUI = {
    "animation_mode": "2D", "max_frames": 4, "W": 64, "H": 64, "prompts": {"0": "a cat"},
    "positive_prompts": "", "negative_prompts": "", "use_init": True,
    "init_image": "castle.png", "use_mask": True, "mask_file": "C:\\masks\\half.png",
    "overlay_mask": True, "mask_overlay_blur": 2, "mask_schedule": '0: ("{video_mask}")',
    "invert_mask": False,
}  # fmt: skip
NOTEBOOK = {
    "animation_mode": "2D", "max_frames": 4, "W": 64, "H": 64, "prompts": ["a cat"],
    "use_init": True, "init_image": "castle.png", "use_mask": True, "mask_file": "half.png",
    "invert_mask": False, "mask_brightness_adjust": 1.5,
}  # fmt: skip


def line(imported, key):
    (found,) = [entry for entry in imported.report if entry.key == key]
    return found


def test_the_webui_repaints_white_so_its_mask_is_inverted_and_the_notebooks_is_not():
    webui = import_settings(WEBUI, "deforum_settings.txt")
    assert webui.dialect == "A" and webui.mask.fields["invert_mask"] is True
    assert (
        line(webui, "invert_mask").status == MAPPED
        and "inverted" in line(webui, "invert_mask").detail
    )
    assert webui.mask.fields["mask_expression"] == ""  # {video_mask} is mask_file here
    assert webui.mask.fields["use_noise_mask"] is True  # the webui masks noise with it
    assert (webui.mask.fields["overlay_mask"], webui.mask.fields["mask_overlay_blur"]) == (True, 2)
    assert [ref.file_name for ref in webui.references] == ["castle.png", "half.png"]
    notebook = import_settings(NOTEBOOK, "settings.txt")
    assert notebook.dialect == "N" and notebook.mask.fields["invert_mask"] is False
    assert notebook.mask.fields["mask_brightness_adjust"] == 1.5


def test_mask_schedules_and_switches():
    composed = import_settings({**WEBUI, "mask_schedule": '0: ("!{video_mask} | {everywhere}")'},
                               "a.txt")  # fmt: skip
    assert composed.mask.fields["mask_expression"] == "!{init_mask} | {everywhere}"
    two_keys = '0: ("{video_mask}"), 9: ("!{video_mask}")'
    several = import_settings({**WEBUI, "mask_schedule": two_keys}, "a.txt")
    assert line(several, "mask_schedule").status == UNSUPPORTED
    off = import_settings({**WEBUI, "use_mask": False}, "a.txt")
    assert off.mask is None and line(off, "mask_file").status == IGNORED
    assert line(off, "mask_file").detail == "masks is off"
    video = import_settings({**WEBUI, "use_mask_video": True, "video_mask_path": "m.mp4"}, "a.txt")
    assert video.mask.video.file_name == "m.mp4" and video.mask.picture is None
    assert line(video, "mask_file").detail == "use_mask_video: the mask video is the mask"


def test_the_init_images_alpha_is_the_mask(tmp_path):
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[:, 32:, 3] = 0  # transparent on the right
    cv2.imwrite(str(tmp_path / "castle.png"), rgba)
    data = {**WEBUI, "use_alpha_as_mask": True}
    loaded = LoadedSettings.load(import_settings(data, "a.txt"), [tmp_path], "the folder")
    mask = loaded.mask()
    assert torch.equal(mask.picture[0, :, 0], torch.ones(64))
    assert torch.equal(mask.picture[0, :, -1], torch.zeros(64))
    cv2.imwrite(str(tmp_path / "castle.png"), rgba[..., :3])
    with pytest.raises(SettingsFileError, match=r"castle\.png has no alpha channel"):
        LoadedSettings.load(import_settings(data, "a.txt"), [tmp_path], "the folder")


def test_a_webui_video_input_file_with_a_mask_video_keeps_the_black_area(tmp_path, capsys,
                                                                          tiny_model):  # fmt: skip
    folder = tmp_path / "in"
    folder.mkdir()
    write_clip(folder / "clip.mov", frames=4, size=(64, 64), codec="png")
    masks = np.zeros((64, 64, 3), np.uint8)
    masks[:, :32] = 255  # white left half: the webui repaints it
    cv2.imwrite(str(folder / "mask.png"), masks)
    settings = {
        "animation_mode": "Video Input", "W": 64, "H": 64, "prompts": {"0": "a painting"},
        "positive_prompts": "", "negative_prompts": "", "video_init_path": "clip.mov",
        "use_mask": True, "mask_file": "mask.png", "overlay_mask": True,
        "mask_overlay_blur": 0, "strength_schedule": "0: (0.2)", "steps": 2,
        "enable_steps_scheduling": False, "sampler": "Euler",
    }  # fmt: skip
    path = tmp_path / "deforum_settings.txt"
    path.write_text(json.dumps(settings), encoding="utf-8")
    code = main(["run", str(path), "--model", str(tiny_model), "--input", str(folder),
                 "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    (run,) = (tmp_path / "out" / "deforum").iterdir()
    drawn = (clip_frames(4, (64, 64)) * 255).round().to(torch.uint8).numpy()
    for index, frame in enumerate(sorted(run.glob("frame_*.png"))):
        pixels = cv2.imread(str(frame))[..., ::-1]
        assert np.array_equal(pixels[:, 32:], drawn[index][:, 32:])  # black: kept exactly
        assert np.abs(pixels[:, :32].astype(int) - drawn[index][:, :32]).mean() > 1
