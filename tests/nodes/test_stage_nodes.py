"""The frame-stage nodes called as ComfyUI calls them."""

import inspect

import pytest
import torch

from deforum_core.errors import ScheduleError
from deforum_core.params import frame_values
from deforum_core.stages import FrameContext, RenderInfo
from deforum_core.warp2d import Motion2D
from deforum_core.warp3d import Camera3D


@pytest.fixture(scope="module")
def nodes(pack):
    return pack.NODE_CLASS_MAPPINGS


def call(nodes, node_id, **inputs):
    node_class = nodes[node_id]
    with torch.inference_mode():
        return getattr(node_class(), node_class.FUNCTION)(**inputs)


def widget_defaults(nodes, node_id) -> dict:
    required = nodes[node_id].INPUT_TYPES()["required"]
    return {
        name: options.get("default", spec[0] if isinstance(spec, list) else None)
        for name, (spec, *rest) in required.items()
        for options in [rest[0] if rest else {}]
    }


FRAME_NODES = [
    "DeforumMotion2D",
    "DeforumColorCoherence",
    "DeforumEnhance",
    "DeforumNoise",
    "DeforumWarp2D",
    "DeforumColorMatch",
    "DeforumEnhanceImage",
    "DeforumAddNoise",
]


def test_widget_order_is_the_saved_workflow_contract(nodes):
    order = {node_id: list(nodes[node_id].INPUT_TYPES()["required"]) for node_id in FRAME_NODES}
    assert order == {
        "DeforumMotion2D": [
            "angle", "zoom", "translation_x", "translation_y", "transform_center_x",
            "transform_center_y", "border", "sampling", "enable_perspective_flip",
            "perspective_flip_theta", "perspective_flip_phi", "perspective_flip_gamma",
            "perspective_flip_fv",
        ],
        "DeforumColorCoherence": ["color_coherence", "refresh_every", "force_grayscale"],
        "DeforumEnhance": ["contrast", "amount", "kernel", "sigma", "threshold"],
        "DeforumNoise": [
            "noise", "noise_type", "perlin_scale_x", "perlin_scale_y", "perlin_octaves",
            "perlin_persistence",
        ],
        "DeforumWarp2D": ["image", "motion", "start_frame", "frames", "max_frames", "fps"],
        "DeforumColorMatch": ["image", "reference", "color_space", "force_grayscale"],
        "DeforumEnhanceImage": ["image", "enhance", "frame", "max_frames", "fps"],
        "DeforumAddNoise": ["image", "noise", "seed", "frame", "max_frames", "fps"],
    }  # fmt: skip


@pytest.mark.parametrize("node_id", FRAME_NODES)
def test_every_input_and_output_has_a_tooltip(nodes, node_id):
    node_class = nodes[node_id]
    declared = node_class.INPUT_TYPES()
    for section in ("required", "optional"):
        for name, (_, *options) in declared.get(section, {}).items():
            assert options and options[0].get("tooltip"), f"{node_id}.{name} has no tooltip"
    assert len(node_class.OUTPUT_TOOLTIPS) == len(node_class.RETURN_TYPES)
    assert node_class.DESCRIPTION


def test_motion_node_defaults_are_deforums_and_warp_previews_the_path(nodes):
    (motion,) = call(nodes, "DeforumMotion2D", **widget_defaults(nodes, "DeforumMotion2D"))
    (values,) = frame_values(motion, Motion2D, 1)
    assert values.zoom == pytest.approx(1.0025)
    image = torch.rand(1, 32, 32, 3, generator=torch.Generator().manual_seed(0))
    (still,) = call(nodes, "DeforumWarp2D", image=image, motion=motion, start_frame=0, frames=1,
                    max_frames=120, fps=15.0)  # fmt: skip
    assert still.shape == image.shape and not torch.equal(still, image)


def test_warp_node_feedback_sequence_moves_frame_after_frame(nodes):
    defaults = widget_defaults(nodes, "DeforumMotion2D")
    (motion,) = call(nodes, "DeforumMotion2D", **{**defaults, "zoom": "0:(1)",
                                                   "translation_x": "0:(2), 2:(4)"})  # fmt: skip
    image = torch.zeros(1, 16, 32, 3)
    image[0, 8, 4] = 1.0
    (sequence,) = call(nodes, "DeforumWarp2D", image=image, motion=motion, start_frame=0,
                       frames=4, max_frames=10, fps=15.0)  # fmt: skip
    columns = [int(frame[..., 0].amax(0).argmax()) for frame in sequence]
    assert columns == [6, 9, 13, 17]  # +2, +3 (ramp), +4, +4
    with pytest.raises(ValueError, match="pass a single image or set frames to 1"):
        call(nodes, "DeforumWarp2D", image=torch.cat([image, image]), motion=motion,
             start_frame=0, frames=4, max_frames=10, fps=15.0)  # fmt: skip


def test_schedules_are_validated_at_queue_time_naming_the_parameter(nodes):
    verdict = nodes["DeforumMotion2D"].VALIDATE_INPUTS(angle="0:(0)", zoom="0:(1,02)")
    assert isinstance(verdict, str) and verdict.startswith("zoom: decimal comma")
    assert nodes["DeforumMotion2D"].VALIDATE_INPUTS(angle="0:(t/2)", zoom=None) is True
    assert "kernel: unknown name 'k'" in nodes["DeforumEnhance"].VALIDATE_INPUTS(kernel="0:(k)")
    assert "noise: unclosed '('" in nodes["DeforumNoise"].VALIDATE_INPUTS(noise="0:(0.1")
    declared = {
        node_id: list(inspect.signature(nodes[node_id].VALIDATE_INPUTS).parameters)
        for node_id in ("DeforumMotion2D", "DeforumEnhance", "DeforumNoise")
    }
    assert declared["DeforumNoise"] == ["noise"]
    assert declared["DeforumEnhance"] == ["contrast", "amount", "kernel", "sigma", "threshold"]
    assert "border" not in declared["DeforumMotion2D"]  # choices keep ComfyUI's own checks


def test_enhance_and_noise_image_nodes(nodes):
    image = torch.rand(1, 24, 24, 3, generator=torch.Generator().manual_seed(1)) * 0.5
    (enhance,) = call(nodes, "DeforumEnhance", contrast="0:(1), 10:(2)", amount="0:(0)",
                      kernel="0:(5)", sigma="0:(1)", threshold="0:(0)")  # fmt: skip
    (brighter,) = call(nodes, "DeforumEnhanceImage", image=image, enhance=enhance, frame=5,
                       max_frames=20, fps=15.0)  # fmt: skip
    assert torch.allclose(brighter, (image * 1.5).clamp(0, 1))
    (noise,) = call(nodes, "DeforumNoise", noise="0:(0.2)", noise_type="gaussian",
                    perlin_scale_x=8, perlin_scale_y=8, perlin_octaves=4,
                    perlin_persistence=0.5)  # fmt: skip
    first = call(nodes, "DeforumAddNoise", image=image, noise=noise, seed=3, frame=0,
                 max_frames=10, fps=15.0)[0]  # fmt: skip
    again = call(nodes, "DeforumAddNoise", image=image, noise=noise, seed=3, frame=0,
                 max_frames=10, fps=15.0)[0]  # fmt: skip
    other = call(nodes, "DeforumAddNoise", image=image, noise=noise, seed=4, frame=0,
                 max_frames=10, fps=15.0)[0]  # fmt: skip
    assert torch.equal(first, again) and not torch.equal(first, other)
    mask = torch.zeros(24, 24)
    (masked,) = call(nodes, "DeforumAddNoise", image=image, noise=noise, seed=3, frame=0,
                     max_frames=10, fps=15.0, mask=mask)  # fmt: skip
    assert torch.equal(masked, image)


def test_color_nodes(nodes, pack):
    image = torch.rand(1, 24, 24, 3, generator=torch.Generator().manual_seed(2)) * 0.4
    reference = torch.rand(1, 16, 16, 3, generator=torch.Generator().manual_seed(3)) * 0.4 + 0.6
    (matched,) = call(nodes, "DeforumColorMatch", image=image, reference=reference,
                      color_space="RGB", force_grayscale=False)  # fmt: skip
    assert matched.mean() > 0.7 and image.mean() < 0.3
    (stage,) = call(nodes, "DeforumColorCoherence", color_coherence="Image", refresh_every=0,
                    force_grayscale=False, image=reference)  # fmt: skip
    bound = stage.bind(RenderInfo(1, 24, 24))
    assert bound.apply(image, FrameContext(0)).mean() > 0.7
    with pytest.raises(ScheduleError, match="needs an image"):
        call(nodes, "DeforumColorCoherence", color_coherence="Image", refresh_every=0,
             force_grayscale=False)  # fmt: skip


def test_motion_3d_node_widgets_validation_and_stage(nodes):
    node_class = nodes["DeforumMotion3D"]
    assert list(node_class.INPUT_TYPES()["required"]) == [
        "translation_x", "translation_y", "translation_z", "rotation_3d_x", "rotation_3d_y",
        "rotation_3d_z", "fov", "near", "far", "padding_mode", "sampling_mode",
        "enable_perspective_flip", "perspective_flip_theta", "perspective_flip_phi",
        "perspective_flip_gamma", "perspective_flip_fv", "save_depth_maps", "occlusion_aware",
    ]  # fmt: skip
    for name, (_, options) in node_class.INPUT_TYPES()["required"].items():
        assert options.get("tooltip"), name
    verdict = node_class.VALIDATE_INPUTS(translation_z="0:(10", fov="0:(40)")
    assert verdict.startswith("translation_z: unclosed '('")
    (stage,) = call(nodes, "DeforumMotion3D", **{**widget_defaults(nodes, "DeforumMotion3D"),
                                                  "rotation_3d_z": "0:(2)"})  # fmt: skip
    (camera,) = frame_values(stage, Camera3D, 1)
    assert (camera.translation_z, camera.rotation_3d_z, camera.fov) == (10.0, 2.0, 40.0)
