"""Export: a run's settings written as an sd-webui-deforum settings file that imports back to
the same render, byte for byte, as a motion preview and with a diffusers model."""

import json
from pathlib import Path

import pytest
from settings_pictures import write_pictures

from deforum_app.cli import main
from deforum_core.diffusion.sampler_schedule import parse_sampler_schedule
from deforum_core.render.rundir import SETTINGS_FILE
from deforum_core.settings_file import read_settings_file
from deforum_core.settings_file.defaults import A_DEFAULTS
from deforum_core.settings_file.export import export_settings
from deforum_core.settings_file.report import TAKEN

FILES = Path(__file__).resolve().parents[1] / "settings_files"


@pytest.fixture
def pictures(tmp_path) -> Path:
    """The input folder with the pictures the test settings files name."""
    return write_pictures(tmp_path / "input")


def render(capsys, settings: Path, out: Path, *extra: str) -> Path:
    code = main(["run", str(settings), "--max-frames", "5", "--size", "64x64", "--out",
                 str(out), *extra])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    (folder,) = (out / "deforum").iterdir()
    return folder


def export(capsys, run_dir: Path, out: Path, *extra: str) -> Path:
    assert main(["export", str(run_dir), "--out", str(out), *extra]) == 0
    assert capsys.readouterr().out == f"settings: {out}\n"
    return out


def frames_and_record(run_dir: Path) -> tuple[list[bytes], dict]:
    frames = [path.read_bytes() for path in sorted(run_dir.glob("frame_*.png"))]
    return frames, json.loads((run_dir / SETTINGS_FILE).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("name", "named_files"),
    [
        ("N_2d_motion_preset.json", []),
        ("N_3d_camera.txt", []),
        ("L_3d_run.txt", []),
        ("L_none_stills.txt", ["--init", "castle.png"]),
        ("A_2d_v05_old.txt", []),
        ("A_3d_v09.txt", ["--color-image", "palette.png"]),
    ],
)
def test_export_then_import_renders_the_same_preview(name, named_files, tmp_path, pictures, capsys):
    first = render(capsys, FILES / name, tmp_path / "first", "--preview", "--input", str(pictures))
    exported = export(capsys, first, tmp_path / "exported.txt", *named_files)
    second = render(capsys, exported, tmp_path / "second", "--input", str(pictures))
    frames, record = frames_and_record(first)
    assert len(frames) == 5
    assert frames_and_record(second) == (frames, record)
    assert second.name == first.name  # batch_name is the run's name


def test_export_then_import_renders_the_same_diffused_frames(tmp_path, tiny_model, capsys):
    model = ["--model", str(tiny_model)]
    first = render(capsys, FILES / "N_2d_motion_preset.json", tmp_path / "first", *model)
    exported = export(capsys, first, tmp_path / "exported.txt")
    settings = json.loads(exported.read_text(encoding="utf-8"))
    assert settings["sampler"] == "DPM++ 2S a" and settings["motion_preview_mode"] is False
    second = render(capsys, exported, tmp_path / "second", *model)
    assert frames_and_record(second) == frames_and_record(first)


def test_the_exported_file_is_a_complete_webui_file(tmp_path, pictures, capsys):
    first = render(capsys, FILES / "N_3d_camera.txt", tmp_path / "run", "--preview")
    exported = export(capsys, first, tmp_path / "deforum_settings.txt")
    settings = json.loads(exported.read_text(encoding="utf-8"))
    assert set(A_DEFAULTS) <= set(settings)
    assert settings["fov_schedule"] == "0:(55)" and settings["enable_perspective_flip"] is True
    assert settings["deforum_comfy"] == {
        "Motion3D": {"occlusion_aware": False, "camera": "deforum"},
        "ColorCoherence": {"refresh_every": 0, "match_after_diffusion": False},
    }
    imported = read_settings_file(exported)
    assert imported.dialect == "A"
    (pack_line,) = [line for line in imported.report if line.key == "deforum_comfy"]
    assert pack_line.status == TAKEN


def a_record(**changes) -> dict:
    """A 3D run's settings.json as written before the sampler schedule was appended."""
    record = {
        "animation_mode": "3D", "max_frames": 4, "width": 64, "height": 64, "fps": 10.0,
        "base_seed": 3, "seed_behavior": "iter", "seed_iter_N": 1,
        "seed_schedule": "0:(s)", "strength_schedule": "0:(0.5)",
        "steps_schedule": "0:(10)", "cfg_schedule": "0:(7)", "diffusion_cadence": 1,
        "init_strength": 0.6, "diffuser": None, "init_image": None,
        "stages": {
            "prompts": {"keys": [["0", "a cat"]], "positive": "", "negative": ""},
            "motion": {"type": "Motion3D", "camera": "pinhole", "occlusion_aware": True,
                       "translation_z": "0:(3)"},
            "color_coherence": None, "enhance": None, "noise": None,
            "depth_model": {"type": "FlatDepth"},
        },
    }  # fmt: skip
    return {**record, **changes}


def test_a_pinhole_camera_survives_the_round_trip(tmp_path):
    record = a_record()
    settings, _ = export_settings(record)
    path = tmp_path / "pinhole.txt"
    path.write_text(json.dumps(settings), encoding="utf-8")
    imported = read_settings_file(path)
    assert imported.motion.camera == "pinhole" and imported.motion.occlusion_aware is True
    assert imported.motion.translation_z.text == "0:(3)"
    assert imported.color_stage().color_coherence == "None"
    assert imported.depth.model_type is None
    # the record predates the frame-setting schedules: it rendered with their defaults
    assert settings["noise_multiplier_schedule"] == "0:(1.0)"
    assert settings["enable_noise_multiplier_scheduling"] is True
    animation = imported.animation
    assert animation.noise_multiplier_schedule.text == "0:(1.0)"
    assert (animation.subseed_strength_schedule.text, animation.clipskip_schedule.text) == (
        "0:(0)",
        "0:(1)",
    )


def test_a_comfyui_sampler_and_a_sampler_schedule_survive_the_round_trip(tmp_path):
    comfy = {"backend": "comfyui", "sampler": "dpmpp_2m", "scheduler": "karras"}
    schedule = '0: ("Euler a"), 2: ("Heun")'
    settings, notes = export_settings(a_record(diffuser=comfy, sampler_schedule=schedule))
    assert (settings["sampler"], settings["sampler_name"], settings["scheduler"]) == (
        "DPM++ 2M Karras", "dpmpp_2m", "karras",
    )  # fmt: skip
    # written with their own schedules, which the file's scheduler key would change
    pinned = '0: ("Euler a normal"), 2: ("Heun normal")'
    assert (settings["enable_sampler_scheduling"], settings["sampler_schedule"]) == (True, pinned)
    assert notes == []
    path = tmp_path / "comfy.txt"
    path.write_text(json.dumps(settings), encoding="utf-8")
    imported = read_settings_file(path)
    assert (imported.sampler.comfy_sampler, imported.sampler.comfy_scheduler) == (
        "dpmpp_2m",
        "karras",
    )
    reread = parse_sampler_schedule(imported.animation.sampler_schedule)
    assert [reread.at(frame) for frame in range(4)] == [
        parse_sampler_schedule(schedule).at(frame) for frame in range(4)
    ]
    # no schedule: the switch is off and webui keeps its own default text
    settings, _ = export_settings(a_record(diffuser={**comfy, "sampler": "heunpp2"}))
    assert settings["enable_sampler_scheduling"] is False
    assert settings["sampler_schedule"] == A_DEFAULTS["sampler_schedule"]
    assert settings["sampler"] == A_DEFAULTS["sampler"]  # webui has no heunpp2


def test_export_refuses_what_is_not_a_run(tmp_path, capsys):
    assert main(["export", str(tmp_path)]) == 2
    assert f"error: {tmp_path} has no settings.json" in capsys.readouterr().err
