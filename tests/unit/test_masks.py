"""Deforum's masks: white kept, black diffused; the mask picture or a mask video per frame,
adjusted as Deforum adjusts it; overlay pastes the kept area back exactly, the noise mask
keeps noise out of it, and diffusers keeps the masked latents at every step."""

from __future__ import annotations

import pytest
import torch
from clips import clip_frames
from recording_backend import RecordingBackend

from deforum_core.errors import ScheduleError
from deforum_core.prompts import parse_prompt_schedule
from deforum_core.render import AnimationSettings, RunDirectory, Stages, render_animation
from deforum_core.stages import NoiseStage, RenderInfo
from deforum_core.stages.mask import MaskStage
from deforum_core.video_source import ImageBatch

SIZE = 64
PROMPTS = parse_prompt_schedule("0: a river")
VIDEO = clip_frames(8, (SIZE, SIZE))


def left_half_white(size: int = SIZE) -> torch.Tensor:
    """A ComfyUI MASK [1, H, W]: 1 (white, kept) on the left half, 0 on the right."""
    mask = torch.zeros(1, size, size)
    mask[..., : size // 2] = 1.0
    return mask


def kept(stage: MaskStage, index: int = 0, size: int = SIZE) -> torch.Tensor:
    return stage.bind(RenderInfo(8, size, size)).kept(index)


def test_a_mask_is_grey_levels_at_the_frame_size_adjusted_and_inverted_as_asked():
    picture = torch.zeros(1, 32, 32, 3)
    picture[..., 0] = 1.0  # pure red: luma 0.299
    assert torch.allclose(kept(MaskStage(picture=picture)), torch.full((SIZE, SIZE), 0.299))
    assert torch.allclose(kept(MaskStage(picture=picture, invert_mask=True)),
                          torch.full((SIZE, SIZE), 0.701))  # fmt: skip
    grey = torch.full((1, 32, 32, 3), 0.3)
    brighter = kept(MaskStage(picture=grey, mask_brightness_adjust=2.0))
    assert torch.allclose(brighter, torch.full((SIZE, SIZE), 0.6))
    clamped = kept(MaskStage(picture=picture, mask_brightness_adjust=2.0))
    assert torch.allclose(clamped, torch.full((SIZE, SIZE), 0.299))  # red 1 stays 1
    half = left_half_white()
    contrast = kept(MaskStage(picture=half, mask_contrast_adjust=0.5))
    assert contrast[0, 0].item() == pytest.approx(0.75) and contrast[0, -1].item() == pytest.approx(
        0.25
    )


def test_a_mask_needs_exactly_one_source():
    with pytest.raises(ScheduleError, match="mask: a mask needs one source"):
        MaskStage()
    with pytest.raises(ScheduleError, match="a mask needs one source"):
        MaskStage(picture=left_half_white(), video=ImageBatch(VIDEO))


def settings(**overrides) -> AnimationSettings:
    values = {"animation_mode": "Video Input", "max_frames": 8, "width": SIZE, "height": SIZE,
              "base_seed": 2, "strength_schedule": "0:(0.3)"}  # fmt: skip
    return AnimationSettings(**{**values, **overrides})


def written(run_dir) -> list[torch.Tensor]:
    directory = RunDirectory(run_dir)
    return [directory.read_frame(index) for index in range(len(directory.frame_paths()))]


@pytest.mark.parametrize("overlay", [True, False])
def test_overlay_keeps_the_white_area_pixel_exact_and_the_black_area_changes(tmp_path, overlay):
    mask = MaskStage(picture=left_half_white(), overlay_mask=overlay, mask_overlay_blur=4)
    backend = RecordingBackend()  # knows nothing of masks: the overlay alone keeps the area
    stages = Stages(PROMPTS, video=ImageBatch(VIDEO), mask=mask)
    render_animation(settings(), stages, backend, tmp_path / "r")
    for index, frame in enumerate(written(tmp_path / "r")):
        video = VIDEO[index : index + 1]
        white, black = (slice(0, SIZE // 2 - 8), slice(SIZE // 2 + 8, SIZE))
        kept_exactly = torch.equal(frame[:, :, white], video[:, :, white])
        assert kept_exactly == overlay
        assert not torch.allclose(frame[:, :, black], video[:, :, black], atol=0.05)
    assert torch.equal(backend.requests[0].keep_mask, left_half_white()[0])  # for the diffuser


def test_a_mask_video_masks_each_frame_with_its_own_picture(tmp_path):
    masks = torch.zeros(8, SIZE, SIZE, 3)
    masks[1::2] = 1.0  # odd frames kept whole, even frames diffused whole
    backend = RecordingBackend()
    stages = Stages(PROMPTS, video=ImageBatch(VIDEO), mask=MaskStage(video=ImageBatch(masks)))
    render_animation(settings(), stages, backend, tmp_path / "r")
    assert [request.keep_mask.mean().item() for request in backend.requests] == [0, 1] * 4
    frames = written(tmp_path / "r")
    assert torch.equal(frames[1], VIDEO[1:2]) and not torch.equal(frames[0], VIDEO[0:1])


def test_the_noise_mask_adds_noise_only_where_the_frame_is_diffused(tmp_path):
    mask = MaskStage(picture=left_half_white(), use_noise_mask=True)
    backend = RecordingBackend()
    stages = Stages(PROMPTS, video=ImageBatch(VIDEO), noise=NoiseStage(noise="0:(0.2)"),
                    mask=mask)  # fmt: skip
    render_animation(settings(max_frames=2), stages, backend, tmp_path / "r")
    prepared, video = backend.requests[0].image, VIDEO[0:1]
    assert torch.allclose(prepared[:, :, : SIZE // 2], video[:, :, : SIZE // 2], atol=1e-6)
    assert (prepared[:, :, SIZE // 2 :] - video[:, :, SIZE // 2 :]).abs().mean() > 0.02


def test_diffusers_keeps_the_masked_latents_at_every_step(pipeline, monkeypatch):
    from deforum_core.diffusion import DiffusersBackend, DiffusionRequest, FrameText

    backend = DiffusersBackend(pipeline, "euler_a")
    decoded: list[torch.Tensor] = []
    decode = backend._decode
    monkeypatch.setattr(backend, "_decode", lambda latents: decoded.append(latents) or
                        decode(latents))  # fmt: skip
    image = VIDEO[:1]

    def request(**fields) -> DiffusionRequest:
        return DiffusionRequest(FrameText("a river"), 0.4, 5, 7.0, seed=3, image=image, **fields)

    backend.diffuse(request(keep_mask=left_half_white()[0]))
    backend.diffuse(request())
    with torch.inference_mode():
        encoded = backend._encode_image(image)
    masked, free = decoded
    width = masked.shape[-1]
    assert torch.allclose(masked[..., : width // 2 - 1], encoded[..., : width // 2 - 1])
    assert not torch.allclose(free[..., : width // 2 - 1], encoded[..., : width // 2 - 1])
    right = slice(width // 2 + 1, width)
    assert not torch.allclose(masked[..., right], encoded[..., right])


def halves() -> dict[str, torch.Tensor]:
    left = torch.zeros(4, 4)
    left[:, :2] = 1.0
    top = torch.zeros(4, 4)
    top[:2] = 1.0
    return {"init_mask": left, "video_mask": top, "everywhere": torch.ones(4, 4)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{init_mask}", "left"),
        ("!{init_mask}", "right"),
        ("{init_mask} & {video_mask}", "top-left"),
        ("{init_mask}|{video_mask}", "all but bottom-right"),
        ("{init_mask} ^ {video_mask}", "top-right and bottom-left"),
        ("{init_mask} \\ {video_mask}", "bottom-left"),
        ("!({init_mask} | {video_mask})", "bottom-right"),
        ("{everywhere} \\ {init_mask} & {video_mask}", "all but top-left"),  # & binds tighter
        ("!{everywhere}^( {video_mask} )", "top"),
    ],
)
def test_mask_expressions_compose_as_deforum_composes_them(text, expected):
    from deforum_core.mask_expression import parse_mask_expression

    quadrants = {  # (top-left, top-right, bottom-left, bottom-right)
        "left": (1, 0, 1, 0), "right": (0, 1, 0, 1), "top-left": (1, 0, 0, 0),
        "all but bottom-right": (1, 1, 1, 0), "top-right and bottom-left": (0, 1, 1, 0),
        "bottom-left": (0, 0, 1, 0), "bottom-right": (0, 0, 0, 1),
        "all but top-left": (0, 1, 1, 1), "top": (1, 1, 0, 0),
    }  # fmt: skip
    value = parse_mask_expression(text).evaluate(halves())
    found = tuple(int(value[row, column]) for row in (0, 3) for column in (0, 3))
    assert found == quadrants[expected]


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("{init_mask} & {human_mask}", "unknown mask {human_mask}", 14),
        ("{video_mask} | <a person>", "a word mask needs CLIPSeg", 15),
        ("[mask.png] & {video_mask}", "a mask file inside an expression", 0),
        ("({init_mask} & {video_mask}", "this bracket is not closed", 0),
        ("{init_mask} &", "the expression ends where a mask is expected", 13),
        ("{init_mask} {video_mask}", "unexpected text after the expression", 12),
        ("{init_mask} + {video_mask}", "not part of a mask expression", 12),
    ],
)
def test_a_bad_expression_is_refused_at_its_place(text, message, position):
    from deforum_core.mask_expression import parse_mask_expression

    with pytest.raises(ScheduleError, match=message) as error:
        parse_mask_expression(text)
    assert error.value.parameter == "mask_expression" and error.value.position == position


def test_an_expression_combines_the_picture_and_the_mask_video_per_frame(tmp_path):
    videos = torch.zeros(8, SIZE, SIZE, 3)
    videos[:, : SIZE // 2] = 1.0  # the top half of every mask video frame
    videos[4:] = 0.0  # ... until frame 4
    mask = MaskStage(picture=left_half_white(), video=ImageBatch(videos),
                     mask_expression="{init_mask} & {video_mask}")  # fmt: skip
    bound = mask.bind(RenderInfo(8, SIZE, SIZE))
    assert bound.kept(0)[0, 0] == 1 and bound.kept(0)[-1, 0] == 0 and bound.kept(0)[0, -1] == 0
    assert bound.kept(5).sum() == 0
    with pytest.raises(ScheduleError, match=r"uses \{video_mask\}, which is not connected"):
        MaskStage(picture=left_half_white(), mask_expression="{init_mask} | {video_mask}")
    everywhere = MaskStage(mask_expression="!{everywhere}", invert_mask=True)
    assert everywhere.bind(RenderInfo(1, SIZE, SIZE)).kept(0).min() == 1


def test_a_mask_video_shorter_than_the_animation_is_refused_before_any_frame(tmp_path):
    short = MaskStage(video=ImageBatch(torch.ones(3, SIZE, SIZE, 3)))
    stages = Stages(PROMPTS, video=ImageBatch(VIDEO), mask=short)
    with pytest.raises(ScheduleError, match="mask_video: the mask video has 3 frames, the "
                       "animation 8"):  # fmt: skip
        render_animation(settings(), stages, RecordingBackend(), tmp_path / "r")
    assert not (tmp_path / "r").exists()
