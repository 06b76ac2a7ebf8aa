"""Importing Deforum settings files: the project's own files, one per dialect and mode, each
imported into exactly the settings and stages Deforum would run, with one report line per key."""

import json
from pathlib import Path

import pytest

from deforum_core.settings_file import SettingsFileError, import_settings, read_settings_file
from deforum_core.settings_file.report import DEFAULTED, IGNORED, MAPPED, TAKEN, UNSUPPORTED
from deforum_core.stages import Motion2DStage, Motion3DStage

FILES = Path(__file__).resolve().parents[1] / "settings_files"


def imported(name: str):
    return read_settings_file(FILES / name)


def line(result, key: str):
    (found,) = [entry for entry in result.report if entry.key == key]
    return found


@pytest.mark.parametrize("path", sorted(FILES.glob("*_*.*")), ids=lambda path: path.name)
def test_every_key_of_the_file_has_exactly_one_report_line(path):
    result = read_settings_file(path)
    keys = list(json.loads(path.read_text(encoding="utf-8")))
    file_lines = [entry.key for entry in result.report if entry.status != DEFAULTED]
    assert file_lines == keys  # in file order, none missing, none twice
    defaults = [entry.key for entry in result.report if entry.status == DEFAULTED]
    assert not set(defaults) & set(keys)


def test_notebook_motion_preset_overlays_the_notebook_defaults():
    result = imported("N_2d_motion_preset.json")
    animation, motion = result.animation, result.motion
    assert result.dialect == "N"
    assert (animation.animation_mode, animation.max_frames) == ("2D", 10)
    assert (animation.width, animation.height) == (512, 448)  # 520 rounded down to 64s
    assert "rounded down to 512" in line(result, "W").detail
    assert animation.diffusion_cadence == 2 and line(result, "diffusion_cadence").status == MAPPED
    assert animation.steps_schedule.text == "0:(40)" and animation.cfg_schedule.text == "0:(8)"
    assert isinstance(motion, Motion2DStage)
    assert motion.zoom.text == "0:(1.04)" and motion.border == "wrap"
    assert motion.sampling == "bilinear" and motion.camera == "deforum"
    assert result.color_stage().color_coherence == "HSV"
    assert line(result, "color_coherence").detail == "'Match Frame 0 HSV' is now 'HSV'"
    # keys the preset lacks come from the notebook v0.7, not from the pack
    assert animation.strength_schedule.text == "0: (0.65)"
    assert result.noise.noise.text == "0: (0.02)" and result.noise.noise_type == "gaussian"
    assert result.sampler.comfy_sampler == "dpmpp_2s_ancestral"


def test_notebook_still_run_with_inverted_prompts_renders_n_batch_stills_per_prompt():
    result = imported("N_none_still_run.txt")
    animation = result.animation
    assert (animation.animation_mode, animation.max_frames) == ("None", 4)
    assert (animation.base_seed, animation.seed_behavior) == (7, "fixed")
    frames = result.prompts.parse().evaluate(4)
    assert [frame.positive for frame in frames] == [
        "a red fox in the snow, by Asher Brown Durand",
        "a red fox in the snow, by Asher Brown Durand",
        "a lake at dawn, trending on Artstation",
        "a lake at dawn, trending on Artstation",
    ]
    assert line(result, "prompts").detail == "2 stills prompt(s), each for 2 frame(s)"
    assert result.motion is None and result.noise is None and result.color_coherence is None
    assert line(result, "blue_scale").status == IGNORED
    assert "guidance" in line(result, "blue_scale").detail
    assert line(result, "outdir").status == IGNORED
    assert result.sampler.comfy_sampler == "lms"


def test_notebook_3d_scalars_become_schedules_and_the_old_flip_name_is_renamed():
    result = imported("N_3d_camera.txt")
    motion = result.motion
    assert isinstance(motion, Motion3DStage) and motion.camera == "deforum"
    assert motion.fov.text == "0:(55)" and line(result, "fov").status == MAPPED
    assert motion.near.text == "0:(200)" and motion.far.text == "0:(10000)"
    assert motion.enable_perspective_flip is True
    assert line(result, "flip_2d_perspective").status == MAPPED
    assert motion.perspective_flip_phi.text == "0:(t%15)"
    assert result.depth.model_type == "Midas-3-Hybrid"  # the notebook's MiDaS
    assert line(result, "midas_weight").status == IGNORED


def test_run_py_animation_uses_the_dict_and_rounds_900_to_896():
    result = imported("L_3d_run.txt")
    animation = result.animation
    assert result.dialect == "L"
    assert (animation.width, animation.height) == (896, 896)
    assert animation.diffusion_cadence == 3 and animation.fps == 24
    assert animation.strength_schedule.text == "0:(0.55),4:(0.35),5:(0.55)"
    frames = result.prompts.parse().evaluate(9)
    assert frames[0].positive == "a lighthouse in a storm"
    assert frames[5].positive == "a lighthouse at sunrise"
    assert line(result, "prompts").status == IGNORED  # run.py's list is for stills
    assert result.depth.model_type is None  # use_depth_warping false: flat depth
    assert line(result, "use_depth_warping").status == MAPPED
    assert result.color_stage().color_coherence == "RGB"
    assert result.motion.sampling_mode == "bilinear"
    assert result.output.run_name == "L_test_run"
    assert line(result, "video_init_path").status == IGNORED  # not Video Input: unused


def test_run_py_stills_with_an_init_image_names_the_file():
    result = imported("L_none_stills.txt")
    animation = result.animation
    assert (animation.animation_mode, animation.max_frames) == ("None", 6)
    assert animation.init_strength == 0.5
    assert [(ref.key, ref.value) for ref in result.references] == [
        ("init_image", "./input/castle.png")
    ]
    assert line(result, "max_frames").status == IGNORED
    frames = result.prompts.parse().evaluate(6)
    assert [frame.positive for frame in frames[::2]] == [
        "a knight in armour", "a dragon over a castle", "a castle at night"
    ]  # fmt: skip


def test_old_webui_file_with_a_sampler_index_and_strings_for_numbers():
    result = imported("A_2d_v05_old.txt")
    animation, motion = result.animation, result.motion
    assert result.dialect == "A"
    assert (animation.width, animation.height) == (384, 256)  # A rounds to multiples of 8
    assert animation.steps_schedule.text == "0:(12)"  # "12", no enable_steps_scheduling
    assert animation.cfg_schedule.text == "0:(7)"  # scale: the file has no cfg_scale_schedule
    assert animation.diffusion_cadence == 2
    assert result.sampler.comfy_sampler == "euler_ancestral"  # index 0 = Euler a
    assert line(result, "sampler").status == MAPPED
    assert motion.enable_perspective_flip is True and motion.border == "wrap"
    assert result.color_stage().color_coherence == "RGB"
    # legacy_colormatch is missing: A's loader sets it true for old files
    assert result.color_coherence["color_coherence"] == "RGB"
    assert line(result, "init_image").status == IGNORED  # use_init is off
    assert line(result, "override_these_with_webui").status == IGNORED
    prompt = result.prompts.parse().evaluate(8)
    # the file predates the global negative prompt: A's loader keeps its default one
    assert prompt[0].negative == "blurry nsfw, nude" and "moss:" in prompt[0].positive


@pytest.mark.parametrize(
    ("legacy", "use_init", "after", "refresh_every"),
    [(True, False, False, 0), (False, True, True, 0), (False, False, True, 1)],
)
def test_legacy_colormatch_off_matches_diffused_frames_too(legacy, use_init, after, refresh_every):
    data = {
        "animation_mode": "2D", "max_frames": 4, "W": 64, "H": 64, "prompts": {"0": "a cat"},
        "positive_prompts": "", "negative_prompts": "", "color_coherence": "LAB",
        "legacy_colormatch": legacy, "use_init": use_init, "init_image": "castle.png",
    }  # fmt: skip
    result = import_settings(data, "deforum_settings.txt")
    stage = result.color_stage()
    assert (stage.match_after_diffusion, stage.refresh_every) == (after, refresh_every)
    assert line(result, "legacy_colormatch").status == (TAKEN if legacy else MAPPED)


def test_modern_webui_3d_file(tmp_path):
    result = imported("A_3d_v09.txt")
    animation, motion = result.animation, result.motion
    assert animation.steps_schedule.text == "0: (10), 6: (20)"  # enable_steps_scheduling on
    assert line(result, "steps").status == IGNORED
    assert motion.fov.text == "0: (60)" and motion.aspect_ratio.text == "0: (1.2)"
    assert motion.rotation_3d_x.text == "0:(0)"  # the doubled key, read as Deforum reads it
    assert line(result, "rotation_3d_x").status == MAPPED
    assert "malformed" in line(result, "rotation_3d_x").detail
    assert result.noise.noise_type == "gaussian"  # 'uniform'
    assert result.depth.model_type is None and result.depth.requested == "Zoe"
    assert line(result, "depth_algorithm").status == IGNORED
    assert result.sampler.comfy_sampler == "dpmpp_2m"
    assert result.sampler.comfy_scheduler == "karras"
    texts = result.prompts
    assert (texts.positive, texts.negative) == ("photograph, ", "nsfw, nude")
    first = texts.parse().evaluate(12)[0]
    assert first.positive == "photograph, a canyon at golden hour"
    assert first.negative == "people nsfw, nude"
    assert [ref.key for ref in result.references] == ["color_coherence_image_path"]
    assert result.output.make_gif and result.output.fps == 12
    assert result.output.run_name == "Test"
    # ControlNet is off, but the old numeric weight is renamed as Deforum renames it
    assert line(result, "cn_1_weight").status == MAPPED
    assert "0:(1)" in line(result, "cn_1_weight").detail
    assert line(result, "cn_1_enabled").detail == "ControlNet is off"
    assert line(result, "sd_model_name").status == IGNORED


def test_a_mode_the_pack_cannot_render_yet_still_gives_a_report(monkeypatch):
    from deforum_core.settings_file import importer

    monkeypatch.setattr(importer, "UNRENDERED_MODES", ("Parseq",))
    text = (FILES / "A_interpolation.txt").read_text(encoding="utf-8")
    result = import_settings(json.loads(text.replace('"Interpolation"', '"Parseq"')), "p.txt")
    assert result.animation is None
    assert line(result, "animation_mode").status == UNSUPPORTED
    assert "'Parseq' is not supported yet" in result.blocker
    with pytest.raises(SettingsFileError, match="Parseq"):
        result.check_renderable()


def test_interpolation_imports_its_frames_setting_and_is_not_reported_unsupported():
    result = imported("A_interpolation.txt")
    assert result.blocker is None and result.animation.animation_mode == "Interpolation"
    assert (result.interpolation.interpolate_key_frames,
            result.interpolation.interpolate_x_frames) == (True, 4)  # fmt: skip
    assert line(result, "interpolate_key_frames").status == TAKEN
    assert line(result, "interpolate_x_frames").status == TAKEN
    assert not [entry for entry in result.report if entry.status == UNSUPPORTED]
    assert result.animation.diffusion_cadence == 1 and result.motion is None
    other = import_settings({"animation_mode": "2D", "interpolate_x_frames": 8}, "2d.txt")
    assert line(other, "interpolate_x_frames").detail == "not used in animation_mode 2D"


def test_video_input_names_its_video_and_its_frames_as_deforum_extracts_them():
    result = imported("A_video_input.txt")
    assert [(ref.key, ref.file_name) for ref in result.references] == [
        ("video_init_path", "dance.mp4")
    ]
    selection = result.video.selection
    assert (selection.nth, selection.start, selection.end) == (2, 0, -1)
    assert result.animation.diffusion_cadence == 1  # Deforum diffuses every video frame
    assert line(result, "diffusion_cadence").status == MAPPED
    assert line(result, "max_frames").detail == "Video Input: the frame count follows the video"
    assert line(result, "extract_nth_frame").status == MAPPED  # "2" read as 2
    assert line(result, "overwrite_extracted_frames").status == IGNORED
    # Deforum moves and prepares no frame in Video Input: no stages, their keys not used
    assert (result.motion, result.noise, result.color_coherence) == (None, None, None)
    assert line(result, "noise_schedule").detail == "not used in animation_mode Video Input"


def test_bad_values_name_the_key_and_the_fix():
    with pytest.raises(SettingsFileError, match="strength_schedule") as caught:
        import_settings({"animation_mode": "2D", "strength_schedule": "0:(0.5"}, "bad.txt")
    assert "fix:" in str(caught.value)
    with pytest.raises(SettingsFileError, match=r"strength: 1.5 is outside 0\.\.1"):
        import_settings({"animation_mode": "2D", "strength": 1.5}, "bad.txt")
    with pytest.raises(SettingsFileError, match="diffusion_cadence"):
        import_settings({"animation_mode": "2D", "diffusion_cadence": "two"}, "bad.txt")
    with pytest.raises(SettingsFileError, match="unknown animation_mode 'Orbit'"):
        import_settings({"animation_mode": "Orbit"}, "bad.txt")
    with pytest.raises(SettingsFileError, match="angle"):
        import_settings({"animation_mode": "2D", "angle": "0:(3))"}, "bad.txt")


def test_a_switch_that_is_off_keeps_the_constant():
    result = import_settings(
        {"show_info_on_ui": True, "steps": 31, "enable_steps_scheduling": False,
         "steps_schedule": "0: (37), 20: (50)"}, "a.txt",
    )  # fmt: skip
    assert result.animation.steps_schedule.text == "0:(31)"
    assert line(result, "steps_schedule").status == IGNORED
    assert "enable_steps_scheduling is off" in line(result, "steps_schedule").detail
    assert line(result, "enable_steps_scheduling").status == TAKEN


@pytest.mark.parametrize(
    ("switches", "expected"),
    [
        ({}, ("0:(1)", "0:(0)", "0:(1.0)", "0:(1)")),  # every switch off: the pack's defaults
        ({"enable_subseed_scheduling": True, "enable_noise_multiplier_scheduling": True,
          "enable_clipskip_scheduling": True}, ("0: (7)", "0: (0.25)", "0: (0.9)", "0: (2)")),
    ],
)  # fmt: skip
def test_the_frame_setting_switches_choose_schedule_or_default(switches, expected):
    result = import_settings(
        {"show_info_on_ui": True, "subseed_schedule": "0: (7)",
         "subseed_strength_schedule": "0: (0.25)", "noise_multiplier_schedule": "0: (0.9)",
         "clipskip_schedule": "0: (2)", "enable_subseed_scheduling": False,
         "enable_noise_multiplier_scheduling": False, "enable_clipskip_scheduling": False,
         **switches}, "a.txt",
    )  # fmt: skip
    animation = result.animation
    names = ("subseed", "subseed_strength", "noise_multiplier", "clipskip")
    assert tuple(getattr(animation, f"{name}_schedule").text for name in names) == expected
    status = line(result, "clipskip_schedule").status
    assert status == (TAKEN if switches else IGNORED)


def test_the_old_webui_variation_seed_is_read_when_its_switch_is_on():
    old = {"show_info_on_ui": True, "seed": 5, "seed_enable_extras": True, "subseed": 9,
           "subseed_strength": 0.5}  # fmt: skip
    animation = import_settings(old, "a.txt").animation
    assert animation.subseed_schedule.text == "0:(9)"
    assert animation.subseed_strength_schedule.text == "0:(0.5)"
    off = import_settings({**old, "seed_enable_extras": False}, "a.txt")
    assert off.animation.subseed_strength_schedule.text == "0:(0)"
    assert "seed_enable_extras is off" in line(off, "subseed_strength").detail


def test_a_drawn_variation_seed_is_tied_to_the_recorded_render_seed():
    result = import_settings(
        {"show_info_on_ui": True, "seed": 5, "seed_enable_extras": True, "subseed": -1,
         "subseed_strength": 0.5}, "a.txt",
    )  # fmt: skip
    assert result.animation.subseed_schedule.text == "0:((s+1)%4294967296)"
    assert line(result, "subseed").status == MAPPED
    assert "render seed + 1" in line(result, "subseed").detail
    from deforum_core.render import RenderValues

    values = RenderValues.evaluate(result.animation.with_resolved_seed())
    assert values.frames[0].subseed == 6
