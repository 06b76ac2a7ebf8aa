"""Interpolation mode: the frame count follows the prompts, the frame at fraction k/n between two
prompts is diffused with their encodings interpolated by k/n (linear: exactly the lerp;
spherical: the slerp's angles), a key frame with its own prompt's encoding unchanged, the noise
moves between the keys' seeds, an init image moved by Motion 2D is every frame's start, and
what the mode cannot do is refused with the fix."""

from __future__ import annotations

import json
import math

import pytest
import torch
from recording_backend import RecordingBackend

from deforum_core.diffusion import DiffusersBackend
from deforum_core.diffusion.conditioning import slerp_vectors
from deforum_core.errors import ScheduleError
from deforum_core.modes import MODES, Camera2D, InterpolationStage
from deforum_core.prompts import parse_prompt_schedule
from deforum_core.render import (
    AnimationSettings,
    RenderCallbacks,
    RenderCancelled,
    RunDirectory,
    Stages,
    render_animation,
)
from deforum_core.render.rundir import quantize
from deforum_core.stages import Motion2DStage, Motion3DStage, RenderInfo

SIZE = 64
THREE = parse_prompt_schedule("0: a red cat --neg night\n10: a blue dog --neg sky\n25: a lake")
TWO = parse_prompt_schedule("0: a red cat --neg night\n10: a blue dog --neg sky")
MODE = MODES["Interpolation"]


def settings(**overrides) -> AnimationSettings:
    values = {"animation_mode": "Interpolation", "max_frames": 120, "width": SIZE,
              "height": SIZE, "base_seed": 5, "steps_schedule": "0:(1)"}  # fmt: skip
    return AnimationSettings(**{**values, **overrides})


def stages(prompts=THREE, **interpolation) -> Stages:
    return Stages(prompts, interpolation=InterpolationStage(**interpolation))


def written(run_dir) -> list[torch.Tensor]:
    directory = RunDirectory(run_dir)
    return [directory.read_frame(index) for index in range(len(directory.frame_paths()))]


# -- frame counts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompts", "interpolation", "count"),
    [
        (THREE, {"interpolate_x_frames": 2}, 7),  # (3 - 1) x (2 + 1) + 1
        (TWO, {"interpolate_x_frames": 5}, 7),
        (THREE, {"interpolate_x_frames": 0}, 3),  # the prompts alone
        (THREE, {}, 11),  # the default x = 4
        (THREE, {"interpolate_key_frames": True}, 26),  # up to the last prompt, frame 25
        (parse_prompt_schedule('{"0": "a", "max_f": "b"}'), {"interpolate_key_frames": True}, 30),
    ],
)
def test_the_frame_count_follows_the_prompts(tmp_path, prompts, interpolation, count):
    assert MODE.frame_count(30, stages(prompts, **interpolation)) == count
    result = render_animation(settings(max_frames=30), stages(prompts, **interpolation),
                              RecordingBackend(), tmp_path / "run")  # fmt: skip
    assert result.frames_written == len(written(tmp_path / "run")) == count
    record = json.loads((tmp_path / "run" / "settings.json").read_text(encoding="utf-8"))
    assert record["max_frames"] == count
    assert record["stages"]["interpolation"] == InterpolationStage(**interpolation).describe()


def test_prompt_frames_that_move_with_the_frame_count_are_refused():
    """Over the prompts' own frame count max_f is another number: a key on it would move."""
    moving = parse_prompt_schedule('{"0": "a", "max_f-10": "b", "40": "c"}')
    with pytest.raises(ScheduleError, match="frames written with max_f move") as caught:
        MODE.frame_count(120, stages(moving, interpolate_key_frames=True))
    assert caught.value.parameter == "prompts"


# -- what each frame is diffused with ----------------------------------------------------------


def test_each_frame_blends_the_two_prompts_it_lies_between_with_their_seeds(tmp_path):
    backend = RecordingBackend()
    render_animation(settings(seed_behavior="iter"), stages(interpolate_x_frames=2), backend,
                     tmp_path / "run")  # fmt: skip
    texts = [request.text for request in backend.requests]
    assert [(t.positive, t.next_positive, round(t.blend, 4)) for t in texts] == [
        ("a red cat", "a blue dog", 0.0), ("a red cat", "a blue dog", 0.3333),
        ("a red cat", "a blue dog", 0.6667), ("a blue dog", "a lake", 0.0),
        ("a blue dog", "a lake", 0.3333), ("a blue dog", "a lake", 0.6667),
        ("a lake", "a lake", 0.0),
    ]  # fmt: skip
    assert [(t.negative, t.next_negative) for t in texts[:3]] == [("night", "sky")] * 3
    assert {t.interpolation for t in texts} == {"spherical"}
    # iter gives frame t the seed 5 + t; keys 0, 3, 6 keep theirs, the frames between start
    # from the earlier key's noise varied towards the later key's by their fraction
    noise = [(r.seed, r.subseed, round(r.subseed_strength, 4)) for r in backend.requests]
    assert noise == [(5, 8, 0.0), (5, 8, 0.3333), (5, 8, 0.6667), (8, 11, 0.0),
                     (8, 11, 0.3333), (8, 11, 0.6667), (11, 11, 0.0)]  # fmt: skip
    assert {r.image for r in backend.requests} == {None}  # txt2img without an init image


def test_key_frames_put_the_prompts_at_their_own_frames(tmp_path):
    backend = RecordingBackend()
    render_animation(settings(seed_behavior="fixed"), stages(TWO, interpolate_key_frames=True,
                     conditioning="linear"), backend, tmp_path / "run")  # fmt: skip
    assert len(backend.requests) == 11
    assert [r.text.blend for r in backend.requests] == [k / 10 for k in range(10)] + [0.0]
    assert {r.text.interpolation for r in backend.requests} == {"linear"}
    # a fixed seed is the same noise on every key: nothing to interpolate
    assert {(r.seed, r.subseed_strength) for r in backend.requests} == {(5, 0.0)}


def test_without_noise_interpolation_the_seed_behaviour_and_subseeds_apply(tmp_path):
    backend = RecordingBackend()
    render_animation(settings(subseed_schedule="0:(77)", subseed_strength_schedule="0:(0.2)"),
                     stages(TWO, interpolate_x_frames=3, interpolate_noise=False), backend,
                     tmp_path / "run")  # fmt: skip
    assert [(r.seed, r.subseed, r.subseed_strength) for r in backend.requests] == [
        (5 + index, 77, 0.2) for index in range(5)
    ]


# -- the encodings, through a tiny diffusers pipeline ------------------------------------------


def conditioning_per_frame(pipeline, tmp_path, **interpolation) -> list[torch.Tensor]:
    """The UNet's encoder_hidden_states of each frame of a 5-frame morph (one step a frame):
    [negative, positive] stacked, as guidance sends them."""
    seen: list[torch.Tensor] = []
    hook = pipeline.unet.register_forward_pre_hook(
        lambda _m, _a, kwargs: seen.append(kwargs["encoder_hidden_states"].clone()),
        with_kwargs=True,
    )
    try:
        backend = DiffusersBackend(pipeline, "euler")
        render_animation(settings(), stages(TWO, interpolate_x_frames=3, **interpolation),
                         backend, tmp_path / "run")  # fmt: skip
    finally:
        hook.remove()
    assert len(seen) == 5
    return seen


def alone(pipeline, text: str) -> torch.Tensor:
    """A prompt's encoding on its own, by a backend that has encoded nothing else."""
    return DiffusersBackend(pipeline, "euler").embeddings(text).tokens[0]


def angles(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """The angle between each pair of token vectors, in float64."""
    first, second = first.double(), second.double()
    cosine = (first * second).sum(-1) / (first.norm(dim=-1) * second.norm(dim=-1))
    return torch.acos(cosine.clamp(-1, 1))


def test_linear_conditioning_is_exactly_the_lerp_and_keys_are_their_prompts(pipeline, tmp_path):
    seen = conditioning_per_frame(pipeline, tmp_path, conditioning="linear")
    cat, dog = alone(pipeline, "a red cat"), alone(pipeline, "a blue dog")
    night, sky = alone(pipeline, "night"), alone(pipeline, "sky")
    assert torch.equal(seen[0][1], cat) and torch.equal(seen[0][0], night)
    assert torch.equal(seen[4][1], dog) and torch.equal(seen[4][0], sky)
    for k in (1, 2, 3):  # the frame k/4 of the way
        assert torch.equal(seen[k][1], torch.lerp(cat, dog, k / 4))
        assert torch.equal(seen[k][0], torch.lerp(night, sky, k / 4))


def test_spherical_conditioning_turns_each_token_by_its_share_of_the_angle(pipeline, tmp_path):
    seen = conditioning_per_frame(pipeline, tmp_path)  # spherical is the default
    cat, dog = alone(pipeline, "a red cat"), alone(pipeline, "a blue dog")
    assert torch.equal(seen[0][1], cat) and torch.equal(seen[4][1], dog)
    between = angles(cat, dog)
    turning = between > 0.05  # the tokens that differ (the start token is the same)
    assert turning.sum() >= 10 and torch.equal(seen[2][1][~turning], cat[~turning])
    for k in (1, 2, 3):
        fraction, frame = k / 4, seen[k][1]
        for negative, (start, end) in (
            (False, (cat, dog)),
            (True, (alone(pipeline, "night"), alone(pipeline, "sky"))),
        ):
            vectors = frame if not negative else seen[k][0]
            angle = angles(start, end)
            moving = angle > 0.05
            assert torch.allclose(angles(start, vectors)[moving], fraction * angle[moving],
                                  atol=1e-3)  # fmt: skip
            assert torch.allclose(angles(vectors, end)[moving], (1 - fraction) * angle[moving],
                                  atol=1e-3)  # fmt: skip
            lengths = torch.lerp(start.norm(dim=-1), end.norm(dim=-1), fraction)
            assert torch.allclose(vectors.norm(dim=-1), lengths, rtol=1e-4)
        # not the lerp: the lerp is shorter where the tokens point different ways
        lerped = torch.lerp(cat, dog, fraction)
        assert (frame.norm(dim=-1)[turning] > lerped.norm(dim=-1)[turning] + 1e-4).all()


def test_slerp_vectors_ends_parallel_vectors_and_pooled_shapes():
    generator = torch.Generator().manual_seed(3)
    start, end = (
        torch.randn(2, 7, 16, generator=generator),
        torch.randn(2, 7, 16, generator=generator),
    )
    assert torch.allclose(slerp_vectors(start, end, 0.0), start, atol=1e-6)
    assert torch.allclose(slerp_vectors(start, end, 1.0), end, atol=1e-5)
    assert torch.equal(slerp_vectors(start, start.clone(), 0.4), start)  # nothing to turn
    pooled_a, pooled_b = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 2.0]])
    half = slerp_vectors(pooled_a, pooled_b, 0.5)
    assert torch.allclose(half, torch.tensor([[1.5 / math.sqrt(2), 1.5 / math.sqrt(2)]]))
    assert slerp_vectors(start.half(), end.half(), 0.5).dtype == torch.float16


# -- the init image and the camera -------------------------------------------------------------


def init_picture() -> torch.Tensor:
    picture = torch.zeros(1, SIZE, SIZE, 3)
    picture[:, 8:20, 4:12] = torch.tensor([1.0, 0.5, 0.25])
    return quantize(picture)  # at 8-bit levels, as the loop takes an init image


def test_an_init_image_moved_by_motion_2d_is_each_frames_start(tmp_path):
    motion = Motion2DStage(zoom="0:(1)", translation_x="0:(2)", sampling="nearest")
    backend = RecordingBackend()
    render_animation(
        settings(strength_schedule="0:(0.3), 6:(0.9)"),
        Stages(TWO, motion=motion, interpolation=InterpolationStage(interpolate_x_frames=5)),
        backend, tmp_path / "run", init_image=init_picture(),
    )  # fmt: skip
    camera = Camera2D(motion.bind(RenderInfo(7, SIZE, SIZE)))
    assert torch.equal(backend.requests[0].image, init_picture())
    for index, request in enumerate(backend.requests):
        # from the init image moved 2 px a frame, not from the previous output
        assert torch.equal(request.image, camera.move(init_picture(), 0, index))
        assert request.strength == pytest.approx(0.3 + 0.1 * index)  # the strength schedule
    assert torch.equal(backend.requests[3].image[:, 8:20, 10:18], init_picture()[:, 8:20, 4:12])


def test_a_motion_preview_writes_the_moved_init_image(tmp_path):
    motion = Motion2DStage(zoom="0:(1)", translation_y="0:(1)", sampling="nearest")
    render_animation(settings(), Stages(TWO, motion=motion, interpolation=InterpolationStage(
        interpolate_x_frames=2)), None, tmp_path / "run", init_image=init_picture())  # fmt: skip
    camera = Camera2D(motion.bind(RenderInfo(4, SIZE, SIZE)))
    frames = written(tmp_path / "run")
    assert len(frames) == 4
    for index, frame in enumerate(frames):
        assert torch.equal(frame, quantize(camera.move(init_picture(), 0, index)))


def test_cancel_then_resume_renders_the_same_frames(tmp_path):
    whole = tmp_path / "whole"
    render_animation(settings(), stages(interpolate_x_frames=2), RecordingBackend(), whole)

    def stop_after_three(index: int, _total: int, _frame) -> None:
        if index == 3:
            raise RenderCancelled()

    cut = tmp_path / "cut"
    with pytest.raises(RenderCancelled):
        render_animation(settings(), stages(interpolate_x_frames=2), RecordingBackend(), cut,
                         callbacks=RenderCallbacks(on_frame=stop_after_three))  # fmt: skip
    backend = RecordingBackend()
    render_animation(settings(), stages(interpolate_x_frames=2), backend, cut, resume=True)
    assert len(backend.requests) == 4  # frame 3 (its frame was written, not its state), 4, 5, 6
    assert all(torch.equal(a, b) for a, b in zip(written(whole), written(cut), strict=True))


# -- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompts", "detail"),
    [("0: a red cat", ""), ('{"0": "a red cat", "max_f-max_f": "a dog"}', "fall on one frame")],
)
def test_one_prompt_is_refused_naming_the_prompts(tmp_path, prompts, detail):
    with pytest.raises(ScheduleError, match="needs at least two prompts") as caught:
        render_animation(settings(), stages(parse_prompt_schedule(prompts)), RecordingBackend(),
                         tmp_path / "run")  # fmt: skip
    assert caught.value.parameter == "prompts" and detail in str(caught.value)
    assert "Deforum Prompts" in caught.value.hint
    assert not (tmp_path / "run").exists() or not written(tmp_path / "run")


def test_a_3d_motion_is_refused(tmp_path):
    with pytest.raises(ScheduleError, match="2D only") as caught:
        render_animation(settings(), Stages(TWO, motion=Motion3DStage()), RecordingBackend(),
                         tmp_path / "run")  # fmt: skip
    assert caught.value.parameter == "motion" and "Motion 2D" in caught.value.hint


def test_other_modes_render_as_before_with_an_interpolation_connected(tmp_path):
    """The stage is read by Interpolation mode only: a 2D render diffuses as it did."""
    backend = RecordingBackend()
    render_animation(settings(animation_mode="2D", max_frames=3), stages(TWO), backend,
                     tmp_path / "run")  # fmt: skip
    assert [r.text.interpolation for r in backend.requests] == ["linear"] * 3
    assert [r.subseed_strength for r in backend.requests] == [0.0] * 3


# -- settings files ----------------------------------------------------------------------------


def test_an_exported_interpolation_run_imports_back_to_the_same_render(tmp_path, capsys):
    from pathlib import Path

    from deforum_app.cli import main
    from deforum_core.settings_file import read_settings_file

    settings_file = Path(__file__).resolve().parents[1] / "settings_files" / "A_interpolation.txt"
    runs = []
    for source, out in ((settings_file, tmp_path / "first"), (tmp_path / "x.txt", tmp_path / "2")):
        assert main(["run", str(source), "--preview", "--size", "64x64", "--out", str(out)]) == 0
        (folder,) = (out / "deforum").iterdir()
        runs.append(folder)
        if len(runs) == 1:
            assert main(["export", str(folder), "--out", str(tmp_path / "x.txt")]) == 0
    capsys.readouterr()
    exported = json.loads((tmp_path / "x.txt").read_text(encoding="utf-8"))
    assert exported["animation_mode"] == "Interpolation" and exported["interpolate_key_frames"]
    assert exported["deforum_comfy"]["Interpolation"] == {"conditioning": "spherical",
                                                         "interpolate_noise": True}  # fmt: skip
    imported = read_settings_file(tmp_path / "x.txt")
    assert imported.interpolation == read_settings_file(settings_file).interpolation
    first, second = (written(run) for run in runs)
    assert len(first) == 11 and all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    records = [json.loads((run / "settings.json").read_text(encoding="utf-8")) for run in runs]
    assert records[0] == records[1]
