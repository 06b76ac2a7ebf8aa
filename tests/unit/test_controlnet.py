"""ControlNet per frame: units, hints, the diffusers backend with a tiny ControlNet built here,
the loop's requests, and the cn_1..cn_5 import of real settings files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from clips import write_clip
from recording_backend import RecordingBackend
from tiny_models import tiny_diffusers_controlnet

from deforum_core.controlnet import ControlHint, ControlUnit
from deforum_core.controlnet.bound import BoundControlUnit
from deforum_core.controlnet.diffusers_control import DiffusersControlNet, load_controlnet
from deforum_core.controlnet.preprocess import canny_edges
from deforum_core.depth import FlatDepth
from deforum_core.diffusion import DiffusersBackend, DiffusionError, DiffusionRequest, FrameText
from deforum_core.errors import ScheduleError
from deforum_core.pictures import fit_picture
from deforum_core.prompts import parse_prompt_schedule
from deforum_core.render import (
    AnimationSettings,
    RunDirectory,
    RunDirectoryError,
    Stages,
    render_animation,
)
from deforum_core.settings_file import SettingsFileError, read_settings_file
from deforum_core.settings_file.report import IGNORED, MAPPED, UNSUPPORTED
from deforum_core.stages import Motion2DStage, NoiseStage
from deforum_core.stages.optical_flow import OpticalFlowStage
from deforum_core.stages.protocol import RenderInfo
from deforum_core.video_source import ImageBatch

SHARED = Path(__file__).resolve().parents[3] / "shared" / "deforum_settings"
PROMPTS = parse_prompt_schedule('{"0": "a red cat", "4": "a blue lake"}')
SIZE = 32  # of the requests sent straight to the backend
RENDER = 64  # of the renders (the smallest frame a render takes)


def square(size: int = SIZE) -> torch.Tensor:
    """A white square on black, [1, size, size, 3]."""
    picture = torch.zeros(1, size, size, 3)
    picture[:, size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1.0
    return picture


@pytest.fixture(scope="module")
def controlnet(pipeline) -> DiffusersControlNet:
    """A tiny ControlNet made from the tiny UNet, its zero convolutions given seeded random
    weights (a trained ControlNet's are not zero; fresh ones would add nothing)."""
    model = tiny_diffusers_controlnet(pipeline.unet)
    return DiffusersControlNet(model)


def settings(**overrides) -> AnimationSettings:
    values = {"max_frames": 4, "width": RENDER, "height": RENDER, "base_seed": 3,
              "diffusion_cadence": 1, "steps_schedule": "0:(4)",
              "strength_schedule": "0:(0.5)"}  # fmt: skip
    return AnimationSettings(**{**values, **overrides})


def moving() -> Motion2DStage:
    return Motion2DStage(zoom="0:(1.04)", sampling="bilinear")


def render(tmp_path: Path, name: str, backend, *units: ControlUnit, **overrides) -> Path:
    stages = Stages(PROMPTS, moving(), noise=NoiseStage(), controlnet=units)
    return render_animation(settings(**overrides), stages, backend, tmp_path / name).run_dir


def frame_bytes(run_dir: Path, count: int = 4) -> list[bytes]:
    return [path.read_bytes() for path in RunDirectory(run_dir).frame_sequence(count)]


# ---------------------------------------------------------------------------------------------
# The diffusers backend with a tiny ControlNet
# ---------------------------------------------------------------------------------------------


def test_a_controlnet_at_weight_on_changes_every_frame(pipeline, controlnet, tmp_path):
    backend = DiffusersBackend(pipeline, "euler")
    plain = render(tmp_path, "plain", backend)
    unit = ControlUnit(model=controlnet, hint_source="image", images=square(RENDER))
    controlled = render(tmp_path, "controlled", backend, unit)
    before, after = RunDirectory(plain), RunDirectory(controlled)
    for index in range(4):
        difference = (before.read_frame(index) - after.read_frame(index)).abs()
        assert difference.max() > 0.1 and difference.mean() > 0.01, index


def test_a_controlnet_at_weight_0_leaves_the_frames_byte_identical(pipeline, controlnet, tmp_path):
    backend = DiffusersBackend(pipeline, "euler")
    plain = render(tmp_path, "plain", backend)
    unit = ControlUnit(model=controlnet, hint_source="loopback", weight="0:(0)")
    assert frame_bytes(render(tmp_path, "weight0", backend, unit)) == frame_bytes(plain)


def request(*control: ControlHint, cfg: float = 7.0) -> DiffusionRequest:
    image = torch.rand(1, SIZE, SIZE, 3, generator=torch.Generator().manual_seed(0))
    return DiffusionRequest(FrameText("a cat", "dark"), 0.3, 6, cfg, 3, width=SIZE,
                            height=SIZE, image=image, control=control)  # fmt: skip


def test_control_modes_and_guidance_range_in_the_diffusers_backend(pipeline, controlnet):
    backend = DiffusersBackend(pipeline, "euler")
    plain = backend.diffuse(request()).image
    by_mode = {
        mode: backend.diffuse(request(ControlHint(controlnet, square(), 1.0, 0.0, 1.0, mode))).image
        for mode in ("balanced", "prompt", "controlnet")
    }
    for mode, image in by_mode.items():
        assert (image - plain).abs().max() > 0.05, mode
    assert not torch.equal(by_mode["balanced"], by_mode["prompt"])
    assert not torch.equal(by_mode["prompt"], by_mode["controlnet"])
    # a range no step of the 4 run falls in: no ControlNet call at all
    never = ControlHint(controlnet, square(), 1.0, 0.5, 0.5, "balanced")
    assert torch.equal(backend.diffuse(request(never)).image, plain)
    late = ControlHint(controlnet, square(), 1.0, 0.5, 1.0, "balanced")
    image = backend.diffuse(request(late)).image
    assert not torch.equal(image, plain) and not torch.equal(image, by_mode["balanced"])


def test_the_controlnet_runs_on_the_steps_inside_guidance_and_the_halves_its_mode_says(
    pipeline, controlnet
):
    batches: list[int] = []
    handle = controlnet.model.register_forward_hook(
        lambda module, args, output: batches.append(args[0].shape[0])
    )
    try:
        backend = DiffusersBackend(pipeline, "euler")
        backend.diffuse(request(ControlHint(controlnet, square(), 1.0, 0.0, 0.5, "balanced")))
        assert batches == [2, 2]  # steps 0 and 1 of 4 run (strength 0.3 of 6), both halves
        batches.clear()
        backend.diffuse(request(ControlHint(controlnet, square(), 1.0, 0.0, 1.0, "controlnet")))
        assert batches == [1, 1, 1, 1]  # the conditional half only
    finally:
        handle.remove()


def test_the_diffusers_backend_refuses_a_controlnet_it_cannot_run(pipeline):
    backend = DiffusersBackend(pipeline, "euler")
    with pytest.raises(DiffusionError, match=r"^control_net: .*cannot run a object") as caught:
        backend.diffuse(request(ControlHint(object(), square())))
    assert "Deforum ControlNet Loader" in caught.value.hint


def test_a_controlnet_made_for_another_latent_scale_is_refused_in_plain_words(pipeline):
    from diffusers import ControlNetModel

    channels = (8, 16, 32, 64)  # four blocks: 1/8, as SD's; the tiny model's latents are 1/2
    model = ControlNetModel.from_unet(pipeline.unet, conditioning_embedding_out_channels=channels)
    backend = DiffusersBackend(pipeline, "euler")
    with pytest.raises(DiffusionError, match=r"^control_net: the ControlNet does not fit this "
                       r"model: it turns a frame into 1/8 of its size, the model's latents "
                       r"are 1/2 of it") as caught:  # fmt: skip
        backend.diffuse(request(ControlHint(DiffusersControlNet(model), square())))
    assert "made for this model's type" in caught.value.hint


def test_a_diffusers_controlnet_loads_from_its_folder_offline(controlnet, tmp_path):
    folder = tmp_path / "models" / "controlnet" / "tiny_cn"
    controlnet.model.save_pretrained(folder)
    loaded = load_controlnet(folder)
    for key, tensor in controlnet.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], tensor), key
    weights = next(folder.glob("*.safetensors"))
    assert load_controlnet(weights).source == folder  # its weights file, picked from a list
    described = loaded.describe()
    assert described["file"] == "tiny_cn" and len(described["weights_fingerprint"]) == 16
    from safetensors.torch import save_file

    single = tmp_path / "tiny_cn.safetensors"
    save_file(controlnet.model.state_dict(), str(single))
    from_file = load_controlnet(single, config=folder)  # a single file with its kind's config
    assert from_file.source == single
    for key, tensor in controlnet.model.state_dict().items():
        assert torch.equal(from_file.model.state_dict()[key], tensor), key
    (tmp_path / "single.safetensors").write_bytes(b"not weights")
    with pytest.raises(DiffusionError, match="no ControlNet config folder") as caught:
        load_controlnet(tmp_path / "single.safetensors")
    assert str(tmp_path) not in str(caught.value)  # names the file, not where it lies
    with pytest.raises(DiffusionError, match="'elsewhere' is not a diffusers ControlNet folder"):
        (tmp_path / "elsewhere").mkdir()
        load_controlnet(tmp_path / "elsewhere")


# ---------------------------------------------------------------------------------------------
# Hints in the loop (a recording backend)
# ---------------------------------------------------------------------------------------------


def test_a_loopback_hint_is_the_prepared_picture_of_the_same_key(tmp_path):
    backend = RecordingBackend()
    render(tmp_path, "run", backend, ControlUnit(model="cn", hint_source="loopback"),
           diffusion_cadence=2, max_frames=7)  # fmt: skip
    first, *later = backend.requests
    assert first.image is None and first.control == ()  # frame 0 has no picture: unit off
    for index, sent in enumerate(later, start=1):
        (control,) = sent.control
        assert torch.equal(control.image, sent.image), index  # the picture diffused
        assert control.model == "cn" and control.weight == 1.0
        moved_only = backend.outputs[index - 1]  # the previous key, before moving and noise
        assert not torch.equal(control.image, moved_only)


@pytest.mark.parametrize("redo", [{"diffusion_redo": 2},
                                  {"optical_flow_redo_generation": "DIS Medium"}])  # fmt: skip
def test_a_loopback_hint_is_the_picture_each_redo_pass_starts_from(tmp_path, redo):
    """Deforum's loopback reads init_sample, which each redo pass replaces: every diffusion
    of a key, the redo passes and the key's own, is steered by the picture it starts from."""
    backend = RecordingBackend()
    flow = OpticalFlowStage(**redo)
    unit = ControlUnit(model="cn", hint_source="loopback")
    stages = Stages(PROMPTS, moving(), controlnet=(unit,), optical_flow=flow)
    render_animation(settings(max_frames=3), stages, backend, tmp_path / "run")
    passes = backend.requests[1:]  # frame 0 has no picture: no hint, no redo
    assert len(passes) == 2 * (1 + redo.get("diffusion_redo", 1))
    assert len({sent.image.sum().item() for sent in passes}) == len(passes)
    for index, sent in enumerate(passes):
        (control,) = sent.control
        assert torch.equal(control.image, sent.image), index


def test_a_video_hint_is_made_once_a_key_whatever_its_passes(tmp_path, monkeypatch):
    pictures = torch.rand(3, 24, 40, 3, generator=torch.Generator().manual_seed(3))
    made: list[int] = []
    unit = ControlUnit(model="cn", hint_source="video", video=ImageBatch(pictures))
    stages = Stages(PROMPTS, moving(), controlnet=(unit,),
                    optical_flow=OpticalFlowStage(diffusion_redo=2))  # fmt: skip
    original = BoundControlUnit._preprocess

    def counted(self, picture):
        made.append(1)
        return original(self, picture)

    monkeypatch.setattr(BoundControlUnit, "_preprocess", counted)
    backend = RecordingBackend()
    render_animation(settings(max_frames=3), stages, backend, tmp_path / "run")
    assert len(backend.requests) == 1 + 2 * 3 and len(made) == 3
    keys = [0, 1, 1, 1, 2, 2, 2]
    for key, sent in zip(keys, backend.requests, strict=True):
        expected = fit_picture(pictures[key : key + 1], RENDER, RENDER, parameter="video",
                               what="frame")  # fmt: skip
        assert torch.equal(sent.control[0].image, expected), key


def test_a_video_hint_of_key_k_is_the_videos_frame_k(tmp_path):
    pictures = torch.rand(8, 24, 40, 3, generator=torch.Generator().manual_seed(2))
    video = ImageBatch(pictures)
    backend = RecordingBackend()
    unit = ControlUnit(model="cn", hint_source="video", video=video)
    render(tmp_path, "run", backend, unit, diffusion_cadence=3, max_frames=8)
    keys = [0, 3, 6]
    assert len(backend.requests) == len(keys)
    for key, sent in zip(keys, backend.requests, strict=True):
        expected = fit_picture(video.frame(key), RENDER, RENDER, parameter="video", what="frame")
        assert torch.equal(sent.control[0].image, expected), key
        other = fit_picture(video.frame(key + 1), RENDER, RENDER, parameter="video", what="f")
        assert not torch.equal(sent.control[0].image, other)


def test_weight_and_guidance_schedules_are_evaluated_per_key(tmp_path):
    backend = RecordingBackend()
    unit = ControlUnit(model="cn", hint_source="image", images=square(RENDER),
                       weight="0:(0.5), 2:(0), 4:(1)", guidance_end="0:(1), 6:(0.4)",
                       control_mode="prompt")  # fmt: skip
    render(tmp_path, "run", backend, unit, max_frames=7, diffusion_cadence=2)
    controls = [sent.control for sent in backend.requests]  # keys 0, 2, 4, 6
    assert controls[1] == ()  # weight 0 on key 2: left out
    assert [c[0].weight for c in (controls[0], controls[2], controls[3])] == [0.5, 1.0, 1.0]
    assert controls[3][0].end == pytest.approx(0.4) and controls[0][0].mode == "prompt"
    assert torch.equal(controls[0][0].image, square(RENDER))


def test_units_are_applied_in_order_and_recorded_so_a_resume_sees_a_change(tmp_path):
    first = ControlUnit(model="a", hint_source="loopback")
    second = ControlUnit(model="b", hint_source="image", images=square(), preprocessor="canny")
    backend = RecordingBackend()
    run_dir = render(tmp_path, "run", backend, first, second)
    assert [c.model for c in backend.requests[1].control] == ["a", "b"]
    record = json.loads((run_dir / "settings.json").read_text(encoding="utf-8"))
    recorded = record["stages"]["controlnet"]
    assert [unit["hint_source"] for unit in recorded] == ["loopback", "image"]
    assert recorded[1]["preprocessor"] == "canny" and recorded[1]["images"]
    heavier = ControlUnit(model="a", hint_source="loopback", weight="0:(0.8)")
    stages = Stages(PROMPTS, moving(), noise=NoiseStage(), controlnet=(heavier, second))
    with pytest.raises(RunDirectoryError, match="settings differ"):
        render_animation(settings(), stages, RecordingBackend(), run_dir, resume=True)
    plain = json.loads((render(tmp_path, "plain", RecordingBackend()) / "settings.json")
                       .read_text(encoding="utf-8"))  # fmt: skip
    assert "controlnet" not in plain["stages"]  # records without units are as before


# ---------------------------------------------------------------------------------------------
# Preprocessors and errors
# ---------------------------------------------------------------------------------------------


def test_canny_gives_the_edges_of_a_square_as_white_lines():
    edges = canny_edges(square(), 100, 200)
    assert edges.shape == (1, SIZE, SIZE, 3)
    assert set(edges.unique().tolist()) == {0.0, 1.0}  # binary
    grey = edges[0, :, :, 0]
    assert torch.equal(grey, edges[0, :, :, 2])
    ring = torch.zeros(SIZE, SIZE, dtype=torch.bool)
    ring[7:25, 7:25] = True
    ring[9:23, 9:23] = False  # within a pixel of the square's border (rows/columns 8 and 23)
    assert grey[~ring].sum() == 0  # nothing inside the square or far outside it
    assert grey[ring].sum() >= 4 * 14  # its four sides, closed


def test_the_depth_preprocessor_uses_the_depth_models_picture():
    class Depth:
        def image(self, frames):
            return frames[..., 0] * 0.5  # half the red channel, as [B, H, W]

        def describe(self):
            return {"type": "half red"}

    picture = torch.rand(1, 8, 8, 3)
    unit = ControlUnit(model="cn", hint_source="image", images=picture, preprocessor="depth",
                       depth_model=Depth())  # fmt: skip
    hint = unit.bind(RenderInfo(2, 8, 8)).hint(0, None)
    fitted = fit_picture(picture, 8, 8, parameter="images", what="picture")
    assert torch.allclose(hint[..., 1], fitted[..., 0] * 0.5)


@pytest.mark.parametrize(
    ("fields", "parameter", "fix"),
    [
        ({"model": None}, "control_net", "Load ControlNet Model"),
        ({"hint_source": "video"}, "video", "Deforum Video Input"),
        ({"hint_source": "images"}, "images", "connect an IMAGE"),
        ({"hint_source": "image", "images": torch.rand(8, 8)}, "images", "IMAGE output"),
        ({"preprocessor": "depth"}, "depth_model", "Deforum Depth Model"),
        ({"preprocessor": "depth", "depth_model": FlatDepth()}, "depth_model", "Depth Model"),
        ({"control_mode": "strong"}, "control_mode", "balanced"),
        ({"weight": "0:(1,5)"}, "weight", ""),
    ],
)  # fmt: skip
def test_a_unit_missing_what_its_choices_need_is_refused(fields, parameter, fix):
    with pytest.raises(ScheduleError) as caught:
        ControlUnit(**{"model": "cn", **fields})
    assert caught.value.parameter == parameter
    assert fix in caught.value.hint


def test_hints_shorter_than_the_render_and_inverted_guidance_are_refused_when_binding():
    render_info = RenderInfo(6, RENDER, RENDER)
    short_video = ControlUnit(model="cn", hint_source="video",
                              video=ImageBatch(torch.rand(4, 8, 8, 3)))  # fmt: skip
    with pytest.raises(
        ScheduleError, match=r"^video: the hint video has 4 frames, the animation 6"
    ):
        short_video.bind(render_info)
    few = ControlUnit(model="cn", hint_source="images", images=torch.rand(5, 8, 8, 3))
    with pytest.raises(ScheduleError, match=r"^images: images holds 5 pictures") as caught:
        few.bind(render_info)
    assert "hint_source image" in caught.value.hint
    ControlUnit(model="cn", hint_source="image", images=torch.rand(1, 8, 8, 3)).bind(render_info)
    inverted = ControlUnit(model="cn", guidance_start="0:(0.2), 3:(0.8)", guidance_end="0:(0.6)")
    with pytest.raises(ScheduleError, match=r"^guidance_end: .* at frame 2"):
        inverted.bind(render_info)
    with pytest.raises(ScheduleError, match=r"^weight: 11 is outside 0..10 at frame 0"):
        ControlUnit(model="cn", weight="0:(11)").bind(render_info)


# ---------------------------------------------------------------------------------------------
# Settings files: cn_1..cn_5
# ---------------------------------------------------------------------------------------------

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/deforum_settings absent")


def lines(imported, key: str):
    return [line for line in imported.report if line.key == key]


@needs_shared
def test_the_five_units_of_a_real_file_import_and_report():
    imported = read_settings_file(SHARED / "A_v09_user_tholonia_3d_parseq_hybrid_cn.txt")
    units = {choice.unit: choice for choice in imported.controlnet}
    assert list(units) == ["cn_1", "cn_2", "cn_4", "cn_5"]  # cn_3's openpose needs weights
    (module,) = lines(imported, "cn_3_module")
    assert module.status == UNSUPPORTED and "dw_openpose_full" in module.detail
    assert all(line.status == IGNORED for line in lines(imported, "cn_3_model"))
    tile = units["cn_1"]
    assert tile.model_name == "control_v11f1e_sd15_tile"
    assert tile.fields["guidance_end"] == "0:(0.5)" and tile.fields["control_mode"] == "controlnet"
    assert tile.fields["hint_source"] == "video" and tile.hint.key == "cn_1_vid_path"
    assert tile.hint.file_name == "tex_10.mp4"
    canny = units["cn_4"].fields
    assert (canny["preprocessor"], canny["canny_low"], canny["canny_high"]) == ("canny", 82, 216)
    assert units["cn_5"].fields["hint_source"] == "loopback" and units["cn_5"].hint is None
    assert lines(imported, "cn_1_control_mode")[0].status == MAPPED
    keys = [line.key for line in imported.report if line.key.startswith("cn_")]
    assert len(keys) == len(set(keys)) == 5 * 17  # every cn key has its one line
    assert not [line for line in imported.report
                if line.key.startswith("cn_") and line.detail == "ControlNet is off"]  # fmt: skip


@needs_shared
def test_units_without_a_video_are_loopback_units_and_off_units_say_so():
    imported = read_settings_file(SHARED / "A_v08_user_eduardonba1_3d_hybrid_cn.txt")
    (tile,) = imported.controlnet  # cn_2's openpose_full is left out
    assert tile.fields["hint_source"] == "loopback"
    assert "img2img input" in lines(imported, "cn_1_loopback_mode")[0].detail
    assert lines(imported, "cn_3_enabled")[0].detail == "cn_3 is off"
    off = read_settings_file(SHARED / "A_v09_default_settings_3d.txt")
    assert off.controlnet == () and lines(off, "cn_1_model")[0].detail == "ControlNet is off"
    old = read_settings_file(SHARED / "A_v07_user_zeuscsc_2d_controlnet.txt")
    assert lines(old, "controlnet_model")[0].status == UNSUPPORTED


@needs_shared
def test_a_unit_is_built_with_the_file_named_like_its_model_and_its_video(tmp_path):
    imported = read_settings_file(SHARED / "A_v09_user_tholonia_3d_parseq_hybrid_cn.txt")
    tile, temporal = imported.controlnet[:2]
    files = ["sd15/control_v11f1e_sd15_tile.safetensors", "control_v11p_sd15_canny.pth"]
    loaded: list[str] = []
    notes: list = []
    folder = tmp_path / "input"
    folder.mkdir()
    options = {"depth_model": None, "folders": [folder], "where": "the input folder",
               "notes": notes}  # fmt: skip
    with pytest.raises(SettingsFileError, match=r"^cn_1_vid_path: the ControlNet hint") as caught:
        tile.build(files, loaded.append, **options)
    assert "tex_10.mp4" in caught.value.hint
    write_clip(folder / "tex_10.mp4", frames=6, size=(32, 32))
    unit = tile.build(files, lambda name: loaded.append(name) or f"model of {name}", **options)
    assert loaded[-1] == "sd15/control_v11f1e_sd15_tile.safetensors"
    assert unit.model == "model of sd15/control_v11f1e_sd15_tile.safetensors"
    assert unit.video.frame_count == 6 and unit.guidance_end.text == "0:(0.5)"
    assert temporal.build(files, loaded.append, **options) is None
    (note,) = notes
    assert str(note) == (
        "ignored           cn_2: no file in models/controlnet matches "
        "diff_control_sd15_temporalnet_fp16 [adc6bd97]: the unit is left out"
    )
