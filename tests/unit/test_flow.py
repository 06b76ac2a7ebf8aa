"""Optical flow on synthetic clips: each method recovers a known motion, RAFT is wired right
(random weights: shapes only), warping by flow moves content as Deforum's remap does, and
the forward-backward check finds occlusions."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deforum_core.errors import DeforumError
from deforum_core.flow import (
    FLOW_METHODS,
    FlowError,
    RaftModel,
    RaftModelError,
    RaftModelFileNotFound,
    detect_raft_size,
    estimate_flow,
    flow_consistency,
    reliable_flow,
    warp_by_flow,
)
from deforum_core.flow.raft import build_raft

HEIGHT, WIDTH = 96, 128
SQUARE, TOP, LEFT = 32, 32, 48
SHIFT = (3, -2)  # pixels the square moves, x then y
OPENCV_METHODS = [method for method in FLOW_METHODS if method != "RAFT"]


def smooth_noise(generator: torch.Generator, height: int, width: int, cells) -> torch.Tensor:
    """[H, W, 3] random colour texture, smooth at the scale of height / cells."""
    coarse = torch.rand(1, 3, *cells, generator=generator)
    texture = F.interpolate(coarse, (height, width), mode="bicubic", align_corners=False)
    return texture[0].permute(1, 2, 0).clamp(0.0, 1.0)


def moving_square(shift=SHIFT, smooth_background: bool = False):
    """Two frames: a textured square on a textured (or smooth) background, then moved by shift."""
    generator = torch.Generator().manual_seed(0)
    cells = (3, 4) if smooth_background else (12, 16)
    background = smooth_noise(generator, HEIGHT, WIDTH, cells)
    texture = smooth_noise(generator, SQUARE, SQUARE, (8, 8))
    first, second = background.clone(), background.clone()
    first[TOP : TOP + SQUARE, LEFT : LEFT + SQUARE] = texture
    dx, dy = shift
    second[TOP + dy : TOP + dy + SQUARE, LEFT + dx : LEFT + dx + SQUARE] = texture
    return first, second


def median_in_square(flow: torch.Tensor, margin: int = 4) -> torch.Tensor:
    inside = flow[TOP + margin : TOP + SQUARE - margin, LEFT + margin : LEFT + SQUARE - margin]
    return inside.reshape(-1, 2).median(dim=0).values


# --- OpenCV methods -----------------------------------------------------------------------


@pytest.mark.parametrize("smooth_background", [False, True], ids=["textured", "smooth"])
@pytest.mark.parametrize("method", OPENCV_METHODS)
def test_opencv_methods_recover_the_squares_shift(method, smooth_background):
    first, second = moving_square(smooth_background=smooth_background)
    flow = estimate_flow(first, second, method)
    assert flow.shape == (HEIGHT, WIDTH, 2) and flow.dtype == torch.float32
    assert flow.device == first.device
    error = (median_in_square(flow) - torch.tensor(SHIFT, dtype=torch.float32)).abs().max()
    assert error < 0.5, f"{method}: median flow {median_in_square(flow).tolist()}"
    # the still background far from the square does not move
    assert flow[:16].reshape(-1, 2).median(dim=0).values.abs().max() < 0.1


@pytest.mark.parametrize("method", OPENCV_METHODS)
def test_opencv_methods_take_batches_of_one_and_grey(method):
    first, second = moving_square()
    as_batch = estimate_flow(first[None], second[None], method)
    as_grey = estimate_flow(first.mean(-1, keepdim=True), second.mean(-1, keepdim=True), method)
    assert as_batch.shape == as_grey.shape == (HEIGHT, WIDTH, 2)


def test_an_unknown_method_names_the_parameter_and_the_choices():
    first, second = moving_square()
    with pytest.raises(FlowError) as caught:
        estimate_flow(first, second, "DIS Ultra")
    message = str(caught.value)
    assert isinstance(caught.value, DeforumError)
    assert "flow_method" in message and "'DIS Ultra'" in message
    assert all(method in message for method in FLOW_METHODS)


def test_frames_of_different_sizes_are_refused():
    first, _ = moving_square()
    with pytest.raises(FlowError, match="differ in size"):
        estimate_flow(first, first[:-1], "DIS Medium")


# --- RAFT (random weights: shapes and wiring only) ----------------------------------------


@pytest.fixture(scope="module")
def small_raft() -> RaftModel:
    torch.manual_seed(0)
    return RaftModel(build_raft("small"), num_flow_updates=2)


def test_raft_without_a_model_says_to_load_one():
    first, second = moving_square()
    with pytest.raises(FlowError, match="load RAFT weights"):
        estimate_flow(first, second, "RAFT")


@pytest.mark.parametrize("size", [(37, 53), (96, 130), (136, 144)])
def test_raft_flow_has_the_frames_shape_dtype_and_device(small_raft, size):
    generator = torch.Generator().manual_seed(1)
    first = torch.rand(*size, 3, generator=generator, dtype=torch.float64)
    second = torch.rand(*size, 3, generator=generator, dtype=torch.float64)
    flow = estimate_flow(first, second, "RAFT", small_raft)
    assert flow.shape == (*size, 2) and flow.dtype == torch.float32
    assert flow.device == first.device and torch.isfinite(flow).all()
    assert small_raft.size == "small"


def test_raft_sizes_are_told_apart_by_their_tensors():
    assert detect_raft_size(build_raft("small", "meta").state_dict()) == "small"
    assert detect_raft_size(build_raft("large", "meta").state_dict()) == "large"
    assert detect_raft_size({"weight": torch.zeros(3)}) is None


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_raft_from_file_gives_the_same_flow_as_the_saved_model(small_raft, tmp_path, suffix):
    from safetensors.torch import save_file

    state = {key: value.contiguous() for key, value in small_raft.network.state_dict().items()}
    path = tmp_path / f"raft{suffix}"
    if suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save(state, path)
    loaded = RaftModel.from_file(path, num_flow_updates=2)
    assert loaded.size == "small"
    first, second = moving_square()
    assert torch.equal(loaded(first, second), small_raft(first, second))


def test_raft_from_file_refuses_other_weights_without_echoing_them(tmp_path):
    path = tmp_path / "depth.pth"
    torch.save({"secret_layer_name.weight": torch.zeros(4, 4)}, path)
    with pytest.raises(RaftModelError) as caught:
        RaftModel.from_file(path)
    message = str(caught.value)
    assert "depth.pth does not hold RAFT weights" in message
    assert "raft_large_C_T_SKHT_V2-ff5fadd5.pth" in message
    assert "secret_layer_name" not in message


def test_raft_from_file_counts_what_a_damaged_raft_file_lacks(small_raft, tmp_path):
    state = dict(small_raft.network.state_dict())
    state.pop("update_block.flow_head.conv1.weight")
    torch.save(state, tmp_path / "cut.pth")
    with pytest.raises(RaftModelError, match="1 tensors missing"):
        RaftModel.from_file(tmp_path / "cut.pth")


class Opaque:
    """A Python object in a checkpoint: torch.load(weights_only=True) must refuse it."""


def test_raft_from_file_refuses_pickled_objects_and_missing_files(tmp_path):
    torch.save({"model": Opaque()}, tmp_path / "pickle.pth")
    with pytest.raises(RaftModelError, match="read safely"):
        RaftModel.from_file(tmp_path / "pickle.pth")
    with pytest.raises(RaftModelFileNotFound, match="downloads nothing"):
        RaftModel.from_file(tmp_path / "absent.pth")


# --- warping by flow ----------------------------------------------------------------------


def test_a_constant_integer_flow_translates_the_interior_exactly():
    frames = torch.rand(2, HEIGHT, WIDTH, 3, generator=torch.Generator().manual_seed(2))
    flow = torch.tensor(SHIFT, dtype=torch.float32).expand(HEIGHT, WIDTH, 2)
    moved = warp_by_flow(frames, flow)
    dx, dy = SHIFT  # out(y, x) = frames(y - dy, x - dx): content moves right 3 and up 2
    # exact up to grid_sample's float32 positions (about 1e-5 px)
    assert torch.allclose(moved[:, : HEIGHT + dy, dx:], frames[:, -dy:, : WIDTH - dx], atol=5e-5)
    assert moved.shape == frames.shape and moved.dtype == frames.dtype


def test_the_flow_factor_scales_the_motion():
    frames = torch.rand(1, HEIGHT, WIDTH, 3, generator=torch.Generator().manual_seed(3))
    flow = torch.tensor((6.0, -4.0)).expand(HEIGHT, WIDTH, 2)
    half = torch.tensor(SHIFT, dtype=torch.float32).expand(HEIGHT, WIDTH, 2)
    assert torch.allclose(warp_by_flow(frames, flow, 0.5), warp_by_flow(frames, half), atol=5e-5)
    assert torch.allclose(warp_by_flow(frames, flow, 0.0), frames, atol=5e-5)


def test_warping_by_flow_matches_opencv_remap_with_reflect_101_borders():
    generator = torch.Generator().manual_seed(4)
    frames = smooth_noise(generator, HEIGHT, WIDTH, (12, 16))[None]
    flow = (torch.rand(HEIGHT, WIDTH, 2, generator=generator) - 0.5) * 30.0  # up to 15 px out
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    map_x = xs - flow[..., 0].numpy()
    map_y = ys - flow[..., 1].numpy()
    expected = cv2.remap(frames[0].numpy(), map_x, map_y, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT_101)  # fmt: skip
    # OpenCV quantises positions to 1/32 px: compare within that
    assert np.abs(warp_by_flow(frames, flow)[0].numpy() - expected).max() < 0.01


# --- consistency --------------------------------------------------------------------------


def square_flows(step: int = 4):
    """Exact flows of a square moving `step` px right: forward on the first frame, backward
    on the second, zero on the still background."""
    forward = torch.zeros(HEIGHT, WIDTH, 2)
    backward = torch.zeros(HEIGHT, WIDTH, 2)
    forward[TOP : TOP + SQUARE, LEFT : LEFT + SQUARE, 0] = step
    backward[TOP : TOP + SQUARE, LEFT + step : LEFT + SQUARE + step, 0] = -step
    covered = torch.zeros(HEIGHT, WIDTH, dtype=torch.bool)
    covered[TOP : TOP + SQUARE, LEFT + SQUARE : LEFT + SQUARE + step] = True
    return forward, backward, covered


def test_a_consistent_constant_flow_is_reliable_everywhere():
    forward = torch.tensor((2.5, -1.0)).expand(HEIGHT, WIDTH, 2)
    consistency = flow_consistency(forward, -forward)
    assert consistency.shape == (HEIGHT, WIDTH) and consistency.dtype == torch.float32
    assert torch.equal(consistency, torch.ones(HEIGHT, WIDTH))


def test_background_that_the_square_covers_is_unreliable():
    forward, backward, covered = square_flows()
    consistency = flow_consistency(forward, backward)
    assert torch.equal(consistency, (~covered).float())


def test_estimated_flows_find_the_covered_strip():
    first, second = moving_square(shift=(4, 0), smooth_background=True)
    forward = estimate_flow(first, second, "DIS Fine")
    backward = estimate_flow(second, first, "DIS Fine")
    consistency = flow_consistency(forward, backward)
    _, _, covered = square_flows()
    assert consistency[covered].mean() < 0.25
    assert consistency[:16].mean() == 1.0


class ExactFlows:
    """A stand-in for a RAFT model that knows the true flows of the moving square."""

    def __init__(self, first: torch.Tensor):
        self.first = first
        self.forward, self.backward, self.covered = square_flows()

    def __call__(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        return self.forward if torch.equal(first, self.first) else self.backward


def test_reliable_flow_zeroes_unreliable_pixels():
    first, second = moving_square(shift=(4, 0))
    exact = ExactFlows(first)
    flow = reliable_flow(first, second, "RAFT", exact, blur=0.0)
    assert torch.equal(flow[exact.covered], torch.zeros(int(exact.covered.sum()), 2))
    assert torch.equal(flow[~exact.covered], exact.forward[~exact.covered])


def test_a_blurred_consistency_map_never_reverses_the_flow():
    first, second = moving_square(shift=(4, 0))
    exact = ExactFlows(first)
    flow = reliable_flow(first, second, "RAFT", exact, blur=2.0)
    inside = flow[TOP + 8 : TOP + SQUARE - 8, LEFT : LEFT + SQUARE, 0]
    assert (inside >= 0).all() and (inside <= 4.0).all()
    assert inside[:, -1].max() < 4.0  # the square's edge next to the strip is softened
    assert torch.allclose(inside[:, :8], torch.full_like(inside[:, :8], 4.0), atol=1e-4)


def test_reliable_flow_with_opencv_is_forward_flow_times_the_map():
    first, second = moving_square(shift=(4, 0))
    forward = estimate_flow(first, second, "DIS Medium")
    map_ = flow_consistency(forward, estimate_flow(second, first, "DIS Medium"))
    expected = forward * map_[..., None]
    assert torch.equal(reliable_flow(first, second, "DIS Medium", blur=0), expected)


def test_a_negative_blur_is_refused():
    first, second = moving_square()
    with pytest.raises(FlowError, match="consistency_blur"):
        reliable_flow(first, second, "DIS Medium", blur=-1.0)
