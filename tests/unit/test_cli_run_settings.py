"""`deforum-comfy run FILE`: a settings file rendered as Deforum would, with the diffusers
backend from --model or as a motion preview, into a run folder with the import report and
the video the settings ask for."""

import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from deforum_app.cli import main
from deforum_core.render import RunDirectory

FILES = Path(__file__).resolve().parents[1] / "settings_files"


def run(capsys, *arguments: str) -> tuple[int, str, str]:
    code = main(["run", *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def only_run_folder(out: Path) -> Path:
    (folder,) = (out / "deforum").iterdir()
    return folder


def test_a_webui_3d_file_previews_through_flat_depth_with_its_gif(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "palette.png"), np.full((8, 8, 3), (0, 0, 255), np.uint8))
    code, out, err = run(capsys, str(FILES / "A_3d_v09.txt"), "--preview", "--max-frames", "5",
                         "--size", "80x64", "--out", str(tmp_path / "out"),
                         "--input", str(tmp_path / "in"))  # fmt: skip
    assert code == 0, err
    folder = only_run_folder(tmp_path / "out")
    assert folder.name == "Test_0001"  # batch_name Test_{timestring}
    assert out.splitlines() == [
        f"frames: {folder} (5 written)",
        f"video: {folder / 'deforum.mp4'}",
        f"video: {folder / 'deforum.gif'}",
    ]
    frames = RunDirectory(folder).frame_sequence(5)
    assert cv2.imread(str(frames[4])).shape == (64, 80, 3)
    with av.open(str(folder / "deforum.mp4")) as video:
        stream = video.streams.video[0]
        assert (stream.frames, float(stream.average_rate)) == (5, 12.0)  # the file's fps
    settings = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    assert settings["stages"]["depth_model"] == {"type": "FlatDepth"}
    assert settings["stages"]["motion"]["aspect_ratio"] == "0: (1.2)"
    report = (folder / "import_report.txt").read_text(encoding="utf-8")
    doubled = "rotation_3d_x: '0: 0: ((0.11 * cos(3.141 * t / 24)))' is malformed"
    assert f"mapped            {doubled}" in report
    # colour coherence Image: the palette (pure red) pulls every frame towards red
    last = cv2.imread(str(frames[4])).astype(float)
    assert last[..., 2].mean() > last[..., 0].mean() + 40


def test_a_3d_preview_without_depth_weights_moves_through_flat_depth_and_says_so(tmp_path, capsys):
    code, _, err = run(capsys, str(FILES / "N_3d_camera.txt"), "--preview", "--max-frames", "3",
                       "--size", "64x64", "--out", str(tmp_path))  # fmt: skip
    assert code == 0, err
    assert "no depth model: the preview moves through flat depth" in err
    report = (only_run_folder(tmp_path) / "import_report.txt").read_text(encoding="utf-8")
    assert "(depth): no depth model" in report


def test_a_render_needs_a_model_and_3d_needs_depth(tmp_path, capsys, tiny_model):
    code, _, err = run(capsys, str(FILES / "N_2d_motion_preset.json"), "--out", str(tmp_path))
    assert code == 2
    assert "error: model: a render needs a Stable Diffusion checkpoint" in err
    assert "--preview" in err
    code, _, err = run(capsys, str(FILES / "N_3d_camera.txt"), "--model", str(tiny_model),
                       "--out", str(tmp_path))  # fmt: skip
    assert code == 2
    assert "error: depth_algorithm: 3D settings need depth: Midas-3-Hybrid weights" in err
    assert not (tmp_path / "deforum").exists()  # nothing was started


def test_a_notebook_2d_preset_renders_with_the_diffusers_model(tmp_path, capsys, tiny_model):
    code, _, err = run(capsys, str(FILES / "N_2d_motion_preset.json"), "--model",
                         str(tiny_model), "--max-frames", "4", "--size", "64x64",
                         "--out", str(tmp_path))  # fmt: skip
    assert code == 0, err
    folder = only_run_folder(tmp_path)
    settings = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    assert settings["diffuser"]["sampler"] == "dpmpp_2s"  # dpmpp_2s_a, nearest in diffusers
    assert settings["diffusion_cadence"] == 2 and settings["cfg_schedule"] == "0:(8)"
    assert len(RunDirectory(folder).frame_sequence(4)) == 4


def test_the_files_named_resolve_against_input_then_the_settings_folder(tmp_path, capsys):
    beside = tmp_path / "project"
    (beside / "input").mkdir(parents=True)
    settings = beside / "stills.txt"
    settings.write_text((FILES / "L_none_stills.txt").read_text(encoding="utf-8"), "utf-8")
    code, _, err = run(capsys, str(settings), "--preview", "--size", "64x64",
                       "--out", str(tmp_path / "out"))  # fmt: skip
    assert code == 2
    assert "error: init_image: the init image './input/castle.png' is not in the input" in err
    picture = np.zeros((64, 64, 3), np.uint8)
    picture[:, :32] = 255
    cv2.imwrite(str(beside / "input" / "castle.png"), picture)  # next to the settings
    code, out, err = run(capsys, str(settings), "--preview", "--size", "64x64",
                         "--out", str(tmp_path / "out"))  # fmt: skip
    assert code == 0, err
    assert "(6 written)" in out  # 3 prompts x n_batch 2
    first = cv2.imread(str(RunDirectory(only_run_folder(tmp_path / "out")).frame_path(0)))
    assert first[:, :24].mean() > 200 and first[:, 40:].mean() < 50  # the init image


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--size", "64"], "argument --size: '64' is not WxH, such as 64x64"),
        (["--max-frames", "0"], "argument --max-frames: '0' is not a whole number of at least 1"),
    ],
)
def test_bad_arguments_are_named(arguments, message, capsys):
    with pytest.raises(SystemExit):
        main(["run", str(FILES / "A_3d_v09.txt"), *arguments])
    assert message in capsys.readouterr().err


def test_an_interpolation_file_renders_its_prompts_frame_count(tmp_path, capsys):
    code, out, err = run(capsys, str(FILES / "A_interpolation.txt"), "--preview", "--size",
                         "64x64", "--out", str(tmp_path))  # fmt: skip
    assert code == 0, err
    folder = only_run_folder(tmp_path)
    assert f"frames: {folder} (11 written)" in out  # prompts at 0 and 10, key frames on
    with av.open(str(folder / "deforum.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 11


def test_a_video_input_file_renders_the_video_it_names(tmp_path, capsys):
    from clips import clip_frames, write_clip

    (tmp_path / "in").mkdir()
    write_clip(tmp_path / "in" / "dance.mp4", size=(64, 64), codec="libx264rgb")
    code, _, err = run(capsys, str(FILES / "A_video_input.txt"), "--preview", "--max-frames",
                         "6", "--size", "64x64", "--input", str(tmp_path / "in"), "--out",
                         str(tmp_path / "out"))  # fmt: skip
    assert code == 0, err
    folder = only_run_folder(tmp_path / "out")
    frames = RunDirectory(folder).frame_sequence(6)
    assert len(list(folder.glob("frame_*.png"))) == 6  # a quick look at 6 of its 12 frames
    drawn = (clip_frames(size=(64, 64)) * 255).round().byte().numpy()
    for index, path in enumerate(frames):  # every other frame of the video, as it is
        assert np.array_equal(cv2.imread(str(path))[..., ::-1], drawn[2 * index])
    with av.open(str(folder / "deforum.mp4")) as video:
        assert video.streams.video[0].frames == 6
    whole = tmp_path / "whole"
    code, _, err = run(capsys, str(FILES / "A_video_input.txt"), "--preview", "--size", "64x64",
                       "--input", str(tmp_path / "in"), "--out", str(whole))  # fmt: skip
    assert code == 0, err
    assert len(list(only_run_folder(whole).glob("frame_*.png"))) == 12


def test_a_video_input_file_whose_video_is_absent_names_it(tmp_path, capsys):
    code, _, err = run(capsys, str(FILES / "A_video_input.txt"), "--preview", "--input",
                       str(tmp_path), "--out", str(tmp_path / "out"))  # fmt: skip
    assert code == 2
    assert err.startswith("error: video_init_path:") and "dance.mp4" in err
    assert not (tmp_path / "out").exists()


def run_with_the_init_videos_sound(tmp_path, capsys, *, sound: bool):
    """`run` of the Video Input settings file with add_soundtrack Init Video, its clip (12
    frames, with or without a sound track) in the input folder."""
    from clips import write_clip

    (tmp_path / "in").mkdir()
    write_clip(tmp_path / "in" / "dance.mp4", frames=12, size=(64, 64), sound=sound)
    settings = json.loads((FILES / "A_video_input.txt").read_text(encoding="utf-8"))
    settings["add_soundtrack"] = "Init Video"
    path = tmp_path / "deforum_settings.txt"
    path.write_text(json.dumps(settings), encoding="utf-8")
    return run(capsys, str(path), "--preview", "--size", "64x64", "--input",
               str(tmp_path / "in"), "--out", str(tmp_path / "out"))  # fmt: skip


def test_a_video_input_file_takes_the_init_videos_sound_track_when_asked(tmp_path, capsys):
    code, _, err = run_with_the_init_videos_sound(tmp_path, capsys, sound=True)
    assert code == 0, err
    with av.open(str(only_run_folder(tmp_path / "out") / "deforum.mp4")) as video:
        assert [stream.type for stream in video.streams] == ["video", "audio"]
        assert video.streams.video[0].frames == 6  # every other frame of 12


def test_an_init_video_without_sound_as_the_soundtrack_is_refused_before_any_frame(
    tmp_path, capsys
):
    code, _, err = run_with_the_init_videos_sound(tmp_path, capsys, sound=False)
    assert code == 2
    assert err.startswith("error: video_init_path: dance.mp4 has no audio track")
    assert "add_soundtrack to None" in err
    assert not (tmp_path / "out").exists()  # not a frame rendered


SHARED = Path(__file__).resolve().parents[3] / "shared" / "deforum_settings"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/deforum_settings absent")


def save_tiny_controlnet(tiny_model: Path, folder: Path) -> None:
    """A diffusers ControlNet for the tiny model's UNet, saved as a diffusers folder."""
    from diffusers import UNet2DConditionModel
    from tiny_models import tiny_diffusers_controlnet

    unet = UNet2DConditionModel.from_pretrained(tiny_model / "unet")
    tiny_diffusers_controlnet(unet).save_pretrained(folder)


@needs_shared
def test_a_files_controlnet_units_render_with_the_folders_named_like_their_models(
    tmp_path, capsys, tiny_model
):
    """cn_1 (tile, hinted by the clip) finds its diffusers folder and changes every frame;
    cn_2's model is a single file and cn_3's is absent: both are left out, and say so."""
    from clips import write_clip

    (tmp_path / "in").mkdir()
    clip = tmp_path / "in" / "kannama.mp4"  # every cn_N_vid_path, and the soundtrack
    write_clip(clip, frames=4, size=(64, 64), sound=True)
    models = tmp_path / "controlnet"
    save_tiny_controlnet(tiny_model, models / "sd15" / "control_v11f1e_sd15_tile")
    (models / "control_v11e_sd15_ip2p.safetensors").write_bytes(b"a single file")
    arguments = [str(SHARED / "A_v09_user_astinastin_2d_hybrid_cn.txt"), "--model",
                 str(tiny_model), "--max-frames", "4", "--size", "64x64", "--input",
                 str(tmp_path / "in")]  # fmt: skip
    code, _, err = run(capsys, *arguments, "--controlnet", str(models), "--out",
                       str(tmp_path / "cn"))  # fmt: skip
    assert code == 0, err
    folder = only_run_folder(tmp_path / "cn")
    settings = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    (unit,) = settings["stages"]["controlnet"]
    assert unit["model"]["type"] == "diffusers"
    assert unit["model"]["file"] == "control_v11f1e_sd15_tile"
    assert (unit["hint_source"], unit["weight"], unit["control_mode"]) == (
        "video", "0:(0.7)", "controlnet",
    )  # fmt: skip
    assert unit["video"]["file"] == "kannama.mp4"
    left_out = [
        f"ignored           cn_2: control_v11e_sd15_ip2p.safetensors in {models} is a single "
        "file: the command line loads diffusers ControlNet folders (config.json and weights): "
        "the unit is left out",
        "ignored           cn_3: no file in models/controlnet matches control_v11p_sd15_openpose "
        "[cab727d4]: the unit is left out",
    ]
    report = (folder / "import_report.txt").read_text(encoding="utf-8").splitlines()
    assert all(line in report for line in left_out) and all(line in err for line in left_out)

    code, _, err = run(capsys, *arguments, "--controlnet", str(tmp_path / "absent"), "--out",
                       str(tmp_path / "plain"))  # fmt: skip
    assert code == 0, err
    plain = only_run_folder(tmp_path / "plain")
    assert "controlnet" not in json.loads((plain / "settings.json").read_text("utf-8"))["stages"]
    assert "cn_1: no file in models/controlnet matches control_v11f1e_sd15_tile" in err
    with_units, without = RunDirectory(folder), RunDirectory(plain)
    for index in range(4):  # the clip is every key's hint, frame 0's too
        difference = (with_units.read_frame(index) - without.read_frame(index)).abs()
        assert difference.max() > 0.1, index
