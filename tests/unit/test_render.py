"""The frame loop with a recording test backend: cadence, order, streaming, resume, cancel."""

import itertools
import json
from pathlib import Path

import pytest
import torch
from digests import frames_digest
from recording_backend import RecordingBackend

from deforum_core.enhance import adjust_contrast
from deforum_core.errors import ScheduleError
from deforum_core.prompts import parse_prompt_schedule
from deforum_core.render import (
    AnimationSettings,
    RenderCallbacks,
    RenderCancelled,
    RunDirectory,
    RunDirectoryError,
    Stages,
    render_animation,
)
from deforum_core.render.rundir import quantize
from deforum_core.stages import ColorCoherenceStage, EnhanceStage, Motion2DStage, NoiseStage
from deforum_core.warp2d import Motion2D, warp_2d

PROMPTS = parse_prompt_schedule('{"0": "a cat", "6": "a dog"}')


SIZE = 64


def settings(**overrides) -> AnimationSettings:
    values = {"max_frames": 10, "width": SIZE, "height": SIZE, "base_seed": 5,
              "diffusion_cadence": 3, "init_strength": 0.0}  # fmt: skip
    return AnimationSettings(**{**values, **overrides})


def still_motion(**schedules) -> Motion2DStage:
    return Motion2DStage(**{"zoom": "0:(1)", **schedules}, sampling="bilinear")


def frames(run_dir: Path) -> list[torch.Tensor]:
    directory = RunDirectory(run_dir)
    return [directory.read_frame(index) for index in range(len(directory.frame_paths()))]


def test_cadence_3_over_10_frames_diffuses_0_3_6_9_and_writes_every_frame(tmp_path):
    backend = RecordingBackend()
    result = render_animation(
        settings(), Stages(PROMPTS, still_motion()), backend, tmp_path / "run"
    )
    written = frames(tmp_path / "run")
    assert len(written) == 10 and result.frames_written == 10
    assert len(backend.requests) == 4
    for key, output in zip([0, 3, 6, 9], backend.outputs, strict=True):
        assert torch.equal(written[key], output)  # a diffused frame at its own index
    assert backend.requests[0].image is None  # frame 0 is txt2img without an init image
    assert [r.text.positive for r in backend.requests] == ["a cat", "a cat", "a dog", "a dog"]
    assert backend.requests[1].text.blend == pytest.approx(0.5)


def test_in_between_frames_lie_between_their_neighbours(tmp_path):
    render_animation(
        settings(), Stages(PROMPTS, still_motion()), RecordingBackend(), tmp_path / "r"
    )
    written = frames(tmp_path / "r")
    for earlier, later in [(0, 3), (3, 6), (6, 9)]:
        low = torch.minimum(written[earlier], written[later])
        high = torch.maximum(written[earlier], written[later])
        for index in range(earlier + 1, later):
            weight = (index - earlier) / (later - earlier)
            blend = written[earlier] * (1 - weight) + written[later] * weight
            assert torch.all(written[index] >= low - 0.5 / 255)
            assert torch.all(written[index] <= high + 0.5 / 255)
            assert torch.allclose(written[index], blend, atol=0.5 / 255 + 1e-6)


def test_in_betweens_follow_the_camera_from_both_sides(tmp_path):
    stages = Stages(PROMPTS, still_motion(translation_x="0:(2)"))
    render_animation(settings(max_frames=4), stages, RecordingBackend(), tmp_path / "r")
    written = frames(tmp_path / "r")
    sampling = {"border": "replicate", "sampling": "bilinear"}
    forward = warp_2d(written[0], Motion2D(translation_x=2), **sampling)
    backward = warp_2d(written[3], Motion2D(translation_x=-4), **sampling)
    assert torch.allclose(written[1], quantize(forward * (2 / 3) + backward / 3), atol=1e-6)


def test_the_last_block_is_written_following_the_camera(tmp_path):
    backend = RecordingBackend()
    stages = Stages(PROMPTS, still_motion(translation_x="0:(3)"))
    render_animation(settings(max_frames=11), stages, backend, tmp_path / "r")
    written = frames(tmp_path / "r")
    assert len(written) == 11 and len(backend.requests) == 4  # Deforum dropped frames 9-10
    moved = warp_2d(written[9], Motion2D(translation_x=3), sampling="bilinear")
    assert torch.allclose(written[10], quantize(moved), atol=1e-6)


def test_each_diffused_frame_is_prepared_from_the_previous_one_moved_by_the_camera(tmp_path):
    backend = RecordingBackend()
    stages = Stages(PROMPTS, still_motion(translation_x="0:(1)"))
    render_animation(settings(max_frames=7), stages, backend, tmp_path / "r")
    written = frames(tmp_path / "r")
    expected = warp_2d(written[0], Motion2D(translation_x=3), sampling="bilinear")
    assert torch.allclose(backend.requests[1].image, expected, atol=1e-6)
    assert backend.requests[1].strength == pytest.approx(0.65)
    assert [r.steps for r in backend.requests] == [25, 25, 25]
    assert [r.seed for r in backend.requests] == [5, 6, 7]  # iter: +1 per diffused frame


def test_same_inputs_give_byte_identical_frames(tmp_path):
    stages = Stages(PROMPTS, still_motion(angle="0:(2)"), ColorCoherenceStage("LAB"),
                    noise=NoiseStage(noise="0:(0.05)"))  # fmt: skip
    render_animation(settings(), stages, RecordingBackend(), tmp_path / "a")
    render_animation(settings(), stages, RecordingBackend(), tmp_path / "b")
    assert frames_digest(tmp_path / "a") == frames_digest(tmp_path / "b")


@pytest.mark.parametrize("after", [False, True])
def test_match_after_diffusion_matches_each_diffused_frame_to_the_reference(tmp_path, after):
    from deforum_core.color import match_histograms

    color = ColorCoherenceStage("RGB", refresh_every=3, match_after_diffusion=after)
    backend = RecordingBackend()
    render_animation(settings(max_frames=7), Stages(PROMPTS, still_motion(), color), backend,
                     tmp_path / "r")  # fmt: skip
    written = frames(tmp_path / "r")
    assert torch.equal(written[0], backend.outputs[0])  # no reference before frame 0
    for index, key in ((1, 3), (2, 6)):
        diffused = backend.outputs[index]
        # the reference is the previous key as written (refresh_every 3: every key)
        expected = (
            quantize(match_histograms(diffused, written[key - 3], "RGB")) if after else diffused
        )
        assert torch.equal(written[key], expected)
        assert after == (not torch.equal(written[key], diffused))


def cancel_after(count: int) -> RenderCallbacks:
    written = []

    def on_frame(index, total, frame):
        written.append(index)

    def check_cancel():
        if len(written) >= count:
            raise RenderCancelled()

    return RenderCallbacks(on_frame=on_frame, check_cancel=check_cancel)


@pytest.mark.parametrize("stop_after", [1, 4, 5, 8])
def test_resume_after_a_cancel_gives_the_same_frames(tmp_path, stop_after):
    stages = Stages(PROMPTS, still_motion(angle="0:(2)"), ColorCoherenceStage("RGB"),
                    noise=NoiseStage(noise="0:(0.05)"))  # fmt: skip
    render_animation(settings(base_seed=-1), stages, RecordingBackend(), tmp_path / "whole")
    whole_seed = RunDirectory(tmp_path / "whole").read_json("settings.json")["base_seed"]

    run = tmp_path / "parts"
    with pytest.raises(RenderCancelled):
        render_animation(settings(base_seed=whole_seed), stages, RecordingBackend(), run,
                         callbacks=cancel_after(stop_after))  # fmt: skip
    assert not list(run.glob(".*partial"))  # only whole files
    settings_before = (run / "settings.json").read_bytes()
    render_animation(settings(base_seed=whole_seed), stages, RecordingBackend(), run, resume=True)
    assert (run / "settings.json").read_bytes() == settings_before  # never overwritten
    assert frames_digest(run) == frames_digest(tmp_path / "whole")


def test_resume_keeps_a_drawn_seed(tmp_path):
    stages = Stages(PROMPTS, still_motion())
    run = tmp_path / "run"
    with pytest.raises(RenderCancelled):
        render_animation(settings(base_seed=-1), stages, RecordingBackend(), run,
                         callbacks=cancel_after(2))  # fmt: skip
    drawn = RunDirectory(run).read_json("settings.json")["base_seed"]
    backend = RecordingBackend()
    render_animation(settings(base_seed=-1), stages, backend, run, resume=True)
    assert backend.requests[0].seed == drawn + 1  # continues the recorded seed sequence


def test_resume_refuses_changed_settings_and_new_runs_refuse_used_folders(tmp_path):
    stages = Stages(PROMPTS, still_motion())
    render_animation(settings(), stages, RecordingBackend(), tmp_path / "run")
    with pytest.raises(RunDirectoryError, match=r"settings differ .*max_frames"):
        render_animation(settings(max_frames=12), stages, RecordingBackend(), tmp_path / "run",
                         resume=True)  # fmt: skip
    with pytest.raises(RunDirectoryError, match="already holds frames"):
        render_animation(settings(), stages, RecordingBackend(), tmp_path / "run")
    with pytest.raises(RunDirectoryError, match="nothing to resume"):
        render_animation(settings(), stages, RecordingBackend(), tmp_path / "new", resume=True)


def drop_from_record(run_dir: Path, names: tuple[str, ...], stage: str | None = None) -> None:
    """Make run_dir's settings.json look saved before the named parameters existed."""
    path = run_dir / "settings.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    table = saved if stage is None else saved["stages"][stage]
    for name in names:
        del table[name]
    path.write_text(json.dumps(saved), encoding="utf-8")


def test_a_run_saved_before_appended_parameters_resumes_when_they_are_at_their_old_value(
    tmp_path,
):
    from deforum_core.params import params_of

    appended = tuple(p.name for p in params_of(AnimationSettings) if p.appended)
    assert {"noise_multiplier_schedule", "sampler_schedule"} <= set(appended)
    stages = Stages(PROMPTS, still_motion())
    run = tmp_path / "run"
    with pytest.raises(RenderCancelled):
        render_animation(settings(), stages, RecordingBackend(), run, callbacks=cancel_after(4))
    drop_from_record(run, appended)
    with pytest.raises(RunDirectoryError, match=r"saved ones \(noise_multiplier_schedule\)"):
        render_animation(settings(noise_multiplier_schedule="0:(1.1)"), stages,
                         RecordingBackend(), run, resume=True)  # fmt: skip
    result = render_animation(settings(), stages, RecordingBackend(), run, resume=True)
    assert result.frames_written == 10


def test_a_3d_run_saved_before_the_camera_choice_resumes_with_the_pinhole_camera(tmp_path):
    stages = Stages(PROMPTS, motion_3d(translation_x="0:(2)"), depth_model=ConstantDepth())
    run, three_d = tmp_path / "run", settings(animation_mode="3D")
    with pytest.raises(RenderCancelled):
        render_animation(three_d, stages, RecordingBackend(), run, callbacks=cancel_after(4))
    drop_from_record(run, ("camera", "aspect_ratio", "aspect_ratio_use_old_formula"), "motion")
    deforum = Stages(PROMPTS, motion_3d(translation_x="0:(2)", camera="deforum"),
                     depth_model=ConstantDepth())  # fmt: skip
    with pytest.raises(RunDirectoryError, match=r"saved ones \(stages\)"):
        render_animation(three_d, deforum, RecordingBackend(), run, resume=True)
    assert (
        render_animation(three_d, stages, RecordingBackend(), run, resume=True).frames_written == 10
    )


def test_motion_preview_without_a_diffuser_moves_the_init_image(tmp_path):
    init = torch.rand(1, 96, 80, 3, generator=torch.Generator().manual_seed(3))
    stages = Stages(PROMPTS, still_motion(translation_x="0:(1)"))
    result = render_animation(settings(max_frames=5, diffusion_cadence=1), stages, None,
                              tmp_path / "r", init_image=init)  # fmt: skip
    written = frames(tmp_path / "r")
    assert written[0].shape == (1, SIZE, SIZE, 3)  # resized to the render size
    expected = warp_2d(written[0], Motion2D(translation_x=4), sampling="bilinear")
    assert torch.allclose(written[4][:, :, 5:], expected[:, :, 5:], atol=2 / 255)
    assert torch.equal(result.last_frame, written[4])
    with pytest.raises(ScheduleError, match="needs an init image"):
        render_animation(settings(), stages, None, tmp_path / "none")


def test_a_motion_preview_keeps_noise_and_anti_blur_from_piling_up(tmp_path):
    """Without a diffuser to redraw them, noise and sharpening would pile up frame after frame
    into grey grain; the preview leaves them out, as a diffuser would, and keeps contrast."""
    init = torch.rand(1, SIZE, SIZE, 3, generator=torch.Generator().manual_seed(4))
    motion, fast = still_motion(zoom="0:(1.02)"), settings(max_frames=12, diffusion_cadence=1)

    def preview(name, **stages):
        render_animation(fast, Stages(PROMPTS, motion, **stages), None, tmp_path / name,
                         init_image=init)  # fmt: skip
        return frames(tmp_path / name)

    plain = preview("plain")
    noisy = preview("noisy", noise=NoiseStage(noise="0:(0.2)"),
                    enhance=EnhanceStage(amount="0:(0.8)"))  # fmt: skip
    for index, (got, want) in enumerate(zip(noisy, plain, strict=True)):
        assert torch.equal(got, want), index
    brighter = preview("contrast", enhance=EnhanceStage(contrast="0:(1.05)", amount="0:(0.8)"))
    assert torch.equal(brighter[0], plain[0])  # the init image is not prepared
    # contrast is a change of the picture that a diffuser keeps
    assert torch.allclose(brighter[1], adjust_contrast(plain[1], 1.05), atol=1 / 255)
    assert not torch.allclose(brighter[1], plain[1], atol=4 / 255)


def test_sampler_steps_move_one_progress_forward_over_the_frames(tmp_path):
    class SteppingBackend(RecordingBackend):
        def diffuse(self, request):
            for step in range(1, 5):
                request.report_step(step, 4, None)
            return super().diffuse(request)

    reported = []
    callbacks = RenderCallbacks(
        on_frame=lambda index, total, frame: reported.append(("frame", index + 1, total)),
        on_step=lambda done, total, preview: reported.append(("step", done, total)),
    )
    render_animation(settings(), Stages(PROMPTS, still_motion()), SteppingBackend(),
                     tmp_path / "r", callbacks=callbacks)  # fmt: skip
    assert {total for *_, total in reported} == {10}
    steps = [done for kind, done, _ in reported if kind == "step"]
    assert steps[:4] == [0.25, 0.5, 0.75, 1.0]  # key 0 completes frame 0 alone
    assert steps[4:8] == [1.75, 2.5, 3.25, 4.0]  # key 3's steps span frames 1 to 3
    assert all(later > earlier for earlier, later in itertools.pairwise(steps)), steps
    assert reported[-1] == ("frame", 10, 10)  # the last block follows the last key


def test_mode_none_diffuses_every_frame_from_text(tmp_path):
    backend = RecordingBackend()
    render_animation(settings(animation_mode="None", max_frames=4), Stages(PROMPTS), backend,
                     tmp_path / "r")  # fmt: skip
    assert len(backend.requests) == 4
    assert all(request.image is None for request in backend.requests)


def test_noise_multiplier_variation_seed_and_clip_skip_reach_every_diffused_frame(tmp_path):
    backend = RecordingBackend()
    schedules = {
        "noise_multiplier_schedule": "0:(1.0), 9:(1.09)",
        "clipskip_schedule": "0:(1), 5:(1), 6:(2)",
        "subseed_schedule": "0:(s+1)",
        "subseed_strength_schedule": "0:(0), 9:(0.9)",
    }
    render_animation(settings(**schedules), Stages(PROMPTS, still_motion()), backend,
                     tmp_path / "r")  # fmt: skip
    requests = backend.requests  # frames 0, 3, 6, 9
    assert [r.noise_multiplier for r in requests] == pytest.approx([1.0, 1.03, 1.06, 1.09])
    assert [r.clip_skip for r in requests] == [1, 1, 2, 2]
    assert [r.subseed for r in requests] == [6, 6, 6, 6]  # the render seed 5, plus one
    assert [r.subseed_strength for r in requests] == pytest.approx([0.0, 0.3, 0.6, 0.9])


def test_out_of_range_schedules_are_refused_before_rendering(tmp_path):
    with pytest.raises(ScheduleError, match=r"strength_schedule: 1.08 is outside 0..1 at frame 4"):
        render_animation(settings(strength_schedule="0:(0.6), 5:(1.2)"), Stages(PROMPTS), None,
                         tmp_path / "r")  # fmt: skip
    assert not (tmp_path / "r").exists()  # checked before anything is written


class ConstantDepth:
    """A stand-in depth model: the same depth everywhere, counting its calls."""

    def __init__(self, value: float = 2.0) -> None:
        self.value = value
        self.calls = 0

    def describe(self) -> dict:
        return {"model_type": "constant", "value": self.value}

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return torch.full(frames.shape[:3], self.value)


def motion_3d(**schedules):
    from deforum_core.stages import Motion3DStage

    return Motion3DStage(**{"translation_z": "0:(0)", "camera": "pinhole", **schedules},
                         sampling_mode="bilinear")  # fmt: skip


@pytest.mark.parametrize(("cadence", "frames_count", "diffused"), [(1, 8, 8), (4, 9, 3)])
def test_3d_depth_runs_at_most_once_per_diffused_frame(tmp_path, cadence, frames_count, diffused):
    depth = ConstantDepth()
    stages = Stages(PROMPTS, motion_3d(translation_x="0:(4)"), depth_model=depth)
    result = render_animation(
        settings(animation_mode="3D", max_frames=frames_count, diffusion_cadence=cadence),
        stages, RecordingBackend(), tmp_path / "r",
    )  # fmt: skip
    assert len(frames(tmp_path / "r")) == frames_count
    assert depth.calls == result.depth_calls <= diffused


def test_3d_with_a_real_depth_architecture_saves_16_bit_depth_maps(tmp_path):
    import cv2
    from tiny_depth import tiny_depth_estimator

    from deforum_core.stages import Motion3DStage

    estimator = tiny_depth_estimator()
    motion = Motion3DStage(translation_z="0:(8)", save_depth_maps=True, camera="pinhole")
    result = render_animation(
        settings(animation_mode="3D", max_frames=5, diffusion_cadence=2),
        Stages(PROMPTS, motion, depth_model=estimator), RecordingBackend(), tmp_path / "r",
    )  # fmt: skip
    assert len(frames(tmp_path / "r")) == 5 and result.depth_calls == 3
    maps = sorted((tmp_path / "r").glob("depth_*.png"))
    assert [path.name for path in maps] == ["depth_00000.png", "depth_00002.png", "depth_00004.png"]
    depth_map = cv2.imread(str(maps[0]), cv2.IMREAD_UNCHANGED)
    assert depth_map.dtype.name == "uint16" and depth_map.shape == (SIZE, SIZE)


def test_3d_moves_by_the_camera_through_depth(tmp_path):
    from deforum_core.warp3d import Camera3D, rigid_motion, warp_3d

    backend = RecordingBackend()
    stages = Stages(PROMPTS, motion_3d(translation_x="0:(5)"), depth_model=ConstantDepth(2.0))
    render_animation(settings(animation_mode="3D", max_frames=2, diffusion_cadence=1),
                     stages, backend, tmp_path / "r")  # fmt: skip
    first = frames(tmp_path / "r")[0]
    motion = rigid_motion(Camera3D(translation_x=5))
    expected = warp_3d(first, torch.full((1, SIZE, SIZE), 2.0), motion, 40.0, sampling="bilinear")
    assert torch.allclose(backend.requests[1].image, expected, atol=1e-6)


def test_3d_mode_needs_a_3d_motion_and_a_depth_model(tmp_path):
    with pytest.raises(ScheduleError, match="3D mode needs a 3D motion and a depth model"):
        render_animation(settings(animation_mode="3D"), Stages(PROMPTS, motion_3d()),
                         RecordingBackend(), tmp_path / "r")  # fmt: skip
    with pytest.raises(ScheduleError, match="2D mode needs a 2D motion"):
        render_animation(settings(), Stages(PROMPTS, motion_3d()), RecordingBackend(),
                         tmp_path / "s")  # fmt: skip
