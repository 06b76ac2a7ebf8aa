"""Depth estimation: the real MiDaS v3 and Depth Anything V2 architectures with random
weights at small sizes, loading the published key layouts, the error texts, Deforum's depth
convention and 16-bit depth maps. Nothing is downloaded."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from tiny_depth import (
    full_depth_model,
    tiny_depth_estimator,
    tiny_depth_model,
    write_tiny_depth_file,
)

import deforum_core.depth.estimator as estimator_module
from deforum_core.depth import (
    MODEL_TYPES,
    DepthEstimator,
    DepthModelError,
    DepthModelFileNotFound,
    DepthModelMismatch,
    DepthRange,
    blend_depth,
    build_network,
    deforum_depth,
    depth_image,
    detect_model_type,
    legacy_midas_depth,
    load_depth_network,
    network_input_size,
    read_depth_map,
    resolve_model_type,
    save_depth_map,
)
from deforum_core.depth.loading import full_config

# Parameter counts published with the models (MiDaS's include the unused ImageNet head).
PUBLISHED_PARAMETERS_M = {
    "Depth-Anything-V2-Small": 24.8,
    "Depth-Anything-V2-Base": 97.5,
    "Depth-Anything-V2-Large": 335.3,
    "Midas-3-Hybrid": 123.1,  # MiDaS: "123M"
    "Midas-3-Large": 344.1,  # MiDaS: "344M"
}
MIDAS_HEAD_PARAMETERS = {"Midas-3-Hybrid": 768 * 1001, "Midas-3-Large": 1024 * 1001}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op thread: on a busy 2-core runner, OpenMP's waits on a descheduled second
    thread make these many-small-op networks up to 50x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _conv_leaves(prefix: str) -> set[str]:
    return {f"{prefix}.weight", f"{prefix}.bias"}


def _decoder_keys(prefix: str) -> set[str]:
    keys = {f"{prefix}layer{level}_rn.weight" for level in range(1, 5)}
    for level in range(1, 5):
        block = f"{prefix}refinenet{level}"
        keys |= _conv_leaves(f"{block}.out_conv")
        for unit in (1, 2):
            for conv in (1, 2):
                keys |= _conv_leaves(f"{block}.resConfUnit{unit}.conv{conv}")
    return keys


def _vit_block_keys(prefix: str, blocks: int, layer_scale: bool) -> set[str]:
    leaves = ["norm1", "attn.qkv", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2"]
    keys = set()
    for index in range(blocks):
        for leaf in leaves:
            keys |= _conv_leaves(f"{prefix}blocks.{index}.{leaf}")
        if layer_scale:
            keys |= {f"{prefix}blocks.{index}.ls1.gamma", f"{prefix}blocks.{index}.ls2.gamma"}
    return keys


def official_depth_anything_v2_small_keys() -> set[str]:
    """The key names of depth_anything_v2_vits.pth, written out from the official code."""
    keys = {"pretrained.cls_token", "pretrained.pos_embed", "pretrained.mask_token"}
    keys |= _conv_leaves("pretrained.patch_embed.proj") | _conv_leaves("pretrained.norm")
    keys |= _vit_block_keys("pretrained.", 12, layer_scale=True)
    for index in range(4):
        keys |= _conv_leaves(f"depth_head.projects.{index}")
    for index in (0, 1, 3):
        keys |= _conv_leaves(f"depth_head.resize_layers.{index}")
    keys |= _decoder_keys("depth_head.scratch.")
    keys |= _conv_leaves("depth_head.scratch.output_conv1")
    keys |= _conv_leaves("depth_head.scratch.output_conv2.0")
    keys |= _conv_leaves("depth_head.scratch.output_conv2.2")
    return keys


def official_dpt_hybrid_keys() -> set[str]:
    """The key names of dpt_hybrid_384.pt, written out from the MiDaS v3 code."""
    model = "pretrained.model."
    keys = {f"{model}cls_token", f"{model}pos_embed"}
    keys |= _conv_leaves(f"{model}patch_embed.proj") | _conv_leaves(f"{model}norm")
    keys |= _conv_leaves(f"{model}head")  # the ImageNet classifier, unused
    backbone = f"{model}patch_embed.backbone."
    keys |= {f"{backbone}stem.conv.weight"} | _conv_leaves(f"{backbone}stem.norm")
    for stage, blocks in enumerate((3, 4, 9)):
        for index in range(blocks):
            block = f"{backbone}stages.{stage}.blocks.{index}"
            for part in (1, 2, 3):
                keys |= {f"{block}.conv{part}.weight"} | _conv_leaves(f"{block}.norm{part}")
        block = f"{backbone}stages.{stage}.blocks.0.downsample"
        keys |= {f"{block}.conv.weight"} | _conv_leaves(f"{block}.norm")
    keys |= _vit_block_keys(model, 12, layer_scale=False)
    for level, parts in ((3, (3,)), (4, (3, 4))):
        keys |= _conv_leaves(f"pretrained.act_postprocess{level}.0.project.0")
        for part in parts:
            keys |= _conv_leaves(f"pretrained.act_postprocess{level}.{part}")
    keys |= _decoder_keys("scratch.")
    for index in (0, 2, 4):
        keys |= _conv_leaves(f"scratch.output_conv.{index}")
    return keys


def frames(batch: int = 2, height: int = 40, width: int = 52, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, height, width, 3, generator=generator)


@pytest.fixture(scope="module")
def small_network():
    return full_depth_model("Depth-Anything-V2-Small", seed=1)


@pytest.fixture(scope="module")
def official_small_file(tmp_path_factory, small_network):
    """A full-size random Depth Anything V2 Small saved as the official .pth (plain dict)."""
    path = tmp_path_factory.mktemp("depth") / "depth_anything_v2_vits.pth"
    torch.save(small_network.state_dict(), path)
    return path


# --- architectures ----------------------------------------------------------------------------


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_full_architectures_have_the_published_sizes(model_type):
    spec = resolve_model_type(model_type)
    network = build_network(spec.family, full_config(spec), device="meta")
    count = sum(parameter.numel() for parameter in network.parameters())
    count += MIDAS_HEAD_PARAMETERS.get(model_type, 0)
    assert round(count / 1e6, 1) == PUBLISHED_PARAMETERS_M[model_type]


def test_key_layouts_are_the_official_ones():
    small_spec = resolve_model_type("Depth-Anything-V2-Small")
    small = build_network("depth_anything", full_config(small_spec), device="meta")
    assert set(small.state_dict()) == official_depth_anything_v2_small_keys()
    hybrid_spec = resolve_model_type("Midas-3-Hybrid")
    hybrid = build_network("midas_dpt", full_config(hybrid_spec), device="meta")
    head = {"pretrained.model.head.weight", "pretrained.model.head.bias"}
    assert set(hybrid.state_dict()) == official_dpt_hybrid_keys() - head


@pytest.mark.parametrize(
    ("model_type", "size"), [("Depth-Anything-V2-Small", 42), ("Midas-3-Hybrid", 64)]
)
def test_full_size_networks_run_at_small_inputs(model_type, size):
    network = full_depth_model(model_type, seed=2)
    estimator = DepthEstimator(network, model_type, input_size=size)
    image = frames(1, 37, 50)
    raw = estimator.predict(image)
    assert raw.shape == (1, 37, 50) and raw.dtype == torch.float32
    assert torch.isfinite(raw).all() and raw.std() > 0
    assert torch.equal(raw, estimator.predict(image))


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_tiny_variants_give_depth_at_the_frame_size(model_type):
    estimator = tiny_depth_estimator(model_type, seed=3)
    image = frames(3, 33, 47)
    estimator.max_batch = 2  # two chunks
    depth = estimator(image)
    assert depth.shape == (3, 33, 47) and depth.dtype == torch.float32
    assert depth.min() >= 1.0 and depth.max() <= 2.0
    again = tiny_depth_estimator(model_type, seed=3)
    again.max_batch = 2
    assert torch.equal(depth, again(image)) and torch.equal(depth, estimator(image))
    raw = estimator.predict(image)
    one_by_one = torch.cat([estimator.predict(image[index : index + 1]) for index in range(3)])
    assert torch.allclose(raw, one_by_one, rtol=1e-4, atol=1e-5)  # batching changes no result
    assert estimator.calls == 12
    single = estimator.predict(image[0])  # [H, W, C] works too
    assert single.shape == (33, 47)
    other_seed = tiny_depth_estimator(model_type, seed=4).predict(image)
    assert not torch.equal(other_seed, estimator.predict(image))


def test_frames_on_any_layout_and_channel_count():
    estimator = tiny_depth_estimator("Midas-3-Large")
    rgba = torch.cat((frames(1, 24, 24), torch.ones(1, 24, 24, 1)), dim=-1)
    assert torch.equal(estimator.predict(rgba), estimator.predict(rgba[..., :3]))
    grey = frames(1, 24, 24)[..., :1]
    assert estimator.predict(grey).shape == (1, 24, 24)
    with pytest.raises(ValueError, match=r"\[B, H, W, C\]"):
        estimator.predict(torch.rand(1, 3, 24, 24))


def test_network_input_sizes_follow_the_official_transforms():
    assert network_input_size(512, 512, 518, 14, "lower_bound") == (518, 518)
    assert network_input_size(512, 768, 518, 14, "lower_bound") == (518, 784)
    assert network_input_size(512, 512, 384, 32, "minimal") == (384, 384)
    assert network_input_size(512, 768, 384, 32, "minimal") == (384, 576)
    assert network_input_size(360, 640, 384, 32, "minimal") == (384, 672)
    small = tiny_depth_estimator("Depth-Anything-V2-Small", input_size=56)
    assert small.input_shape(40, 100) == (56, 140)


def test_fp16_on_cuda_fp32_elsewhere():
    estimator = tiny_depth_estimator("Depth-Anything-V2-Small")
    assert estimator.dtype == torch.float32
    assert next(estimator.network.parameters()).dtype == torch.float32
    assert estimator.to("meta").dtype == torch.float32  # not CUDA: stays float32
    estimator.device = torch.device("cuda")
    assert estimator.dtype == torch.float16


# --- loading ----------------------------------------------------------------------------------


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_safetensors_round_trip_gives_identical_outputs(tmp_path, model_type):
    path = write_tiny_depth_file(tmp_path / "tiny.safetensors", model_type, seed=5)
    loaded = DepthEstimator.from_file(
        model_type, path, input_size=56 if "Any" in model_type else 64
    )
    original = tiny_depth_estimator(model_type, seed=5)
    image = frames(2, 30, 45)
    assert torch.equal(loaded.predict(image), original.predict(image))


def test_official_checkpoint_layout_loads(official_small_file, small_network):
    loaded = DepthEstimator.from_file("Depth-Anything-V2-Small", official_small_file, input_size=42)
    expected = DepthEstimator(small_network, "Depth-Anything-V2-Small", input_size=42)
    image = frames(1, 30, 30)
    assert torch.equal(loaded.predict(image), expected.predict(image))
    assert detect_model_type(torch.load(official_small_file, weights_only=True)) == (
        "Depth-Anything-V2-Small"
    )


def test_midas_checkpoint_with_its_imagenet_head_loads(tmp_path):
    """MiDaS's files carry the ViT's unused ImageNet classifier; it is dropped on load."""
    network = tiny_depth_model("Midas-3-Large", seed=6)
    path = write_tiny_depth_file(tmp_path / "tiny.safetensors", "Midas-3-Large", seed=6)
    with safe_open(str(path), "pt") as handle:
        metadata = handle.metadata()
    state = dict(network.state_dict())
    state["pretrained.model.head.weight"] = torch.zeros(1000, 32)
    state["pretrained.model.head.bias"] = torch.zeros(1000)
    save_file(state, str(path), metadata=metadata)
    loaded = load_depth_network("Midas-3-Large", path)
    expected = network.state_dict()
    assert loaded.state_dict().keys() == expected.keys()
    assert all(torch.equal(value, expected[key]) for key, value in loaded.state_dict().items())


def test_a_missing_file_names_the_file_folder_and_publisher(tmp_path):
    folder = tmp_path / "models" / "depth"
    with pytest.raises(DepthModelFileNotFound) as caught:
        load_depth_network("Depth-Anything-V2-Small", folder / "nope.pth", folders=[folder])
    text = str(caught.value)
    assert "nope.pth" in text and "depth_anything_v2_vits.pth" in text
    assert str(folder) in text and "depth-anything/Depth-Anything-V2-Small" in text
    with pytest.raises(FileNotFoundError) as caught:
        load_depth_network("Midas-3-Hybrid", tmp_path / "missing.pt")
    text = str(caught.value)
    assert "dpt_hybrid_384.pt" in text and "isl-org/MiDaS" in text and "models/depth" in text


def test_a_mismatched_file_says_what_it_holds(tmp_path, official_small_file):
    with pytest.raises(DepthModelMismatch) as caught:
        load_depth_network("Depth-Anything-V2-Base", official_small_file)
    text = str(caught.value)
    assert "tensors have other shapes" in text
    assert "set model_type to Depth-Anything-V2-Small" in text
    with pytest.raises(DepthModelMismatch) as caught:
        load_depth_network("Midas-3-Hybrid", official_small_file)
    text = str(caught.value)
    assert "expected keys are missing" in text and "keys are unexpected" in text
    assert "set model_type to Depth-Anything-V2-Small" in text
    tiny = write_tiny_depth_file(tmp_path / "tiny.safetensors", "Depth-Anything-V2-Small")
    with pytest.raises(DepthModelMismatch, match="set model_type to Depth-Anything-V2-Small"):
        load_depth_network("Depth-Anything-V2-Base", tiny)


def test_files_that_are_not_plain_weights_are_refused(tmp_path):
    path = tmp_path / "pickle.pt"
    torch.save({"model": DepthRange()}, path)  # an arbitrary class: needs a full unpickle
    with pytest.raises(DepthModelError, match="not a plain weights file") as caught:
        load_depth_network("Midas-3-Hybrid", path)
    assert "DepthRange" not in str(caught.value)  # the file's content is never quoted
    assert "safe_globals" not in str(caught.value)  # nor advice to lift the restriction
    with pytest.raises(ValueError, match="BEiT models are not supported"):
        resolve_model_type("Midas-3.1-BeitLarge")
    assert resolve_model_type("midas 3 hybrid").name == "Midas-3-Hybrid"
    assert resolve_model_type("depth_anything_v2_base").name == "Depth-Anything-V2-Base"


def test_the_estimator_loads_once_and_counts_calls(tmp_path, monkeypatch):
    path = write_tiny_depth_file(tmp_path / "tiny.safetensors", "Depth-Anything-V2-Small")
    loads = []
    original = estimator_module.load_depth_network
    monkeypatch.setattr(
        estimator_module,
        "load_depth_network",
        lambda *args, **kwargs: loads.append(args) or original(*args, **kwargs),
    )
    estimator = DepthEstimator.from_file("Depth-Anything-V2-Small", path, input_size=28)
    for _ in range(3):
        estimator(frames(2, 20, 20))
    assert len(loads) == 1 and estimator.calls == 6


# --- Deforum's convention -----------------------------------------------------------------------


def deforum_reference(raw: np.ndarray) -> np.ndarray:
    """Deforum's prepare_depth_tensor + depth_equalization + MiDaS factor/offset, in numpy."""
    normalized = (raw - raw.min()) / (raw.max() - raw.min())
    histogram, edges = np.histogram(normalized, bins=1024, range=(0, 1))
    cdf = histogram.cumsum() / float(histogram.cumsum()[-1])
    equalized = np.interp(normalized, edges[:-1], cdf)
    return (equalized * 1 + -2) * -1


def test_deforum_depth_matches_deforums_numpy_code():
    generator = torch.Generator().manual_seed(7)
    raw = torch.rand(3, 31, 29, generator=generator) ** 3 * 40
    z = deforum_depth(raw)
    for index in range(3):
        expected = deforum_reference(raw[index].double().numpy())
        assert np.allclose(z[index].numpy(), expected, atol=1e-5)
    nearest = raw[0].argmax()
    farthest = raw[0].argmin()
    assert z[0].flatten()[nearest] == 1.0 and z[0].flatten()[farthest] == z[0].max()


def test_invalid_depth_is_flat_and_the_legacy_convention():
    raw = torch.rand(3, 8, 8)
    raw[1] = 5.0
    raw[2, 0, 0] = float("nan")
    z = deforum_depth(raw)
    assert torch.equal(z[1], torch.ones(8, 8)) and torch.equal(z[2], torch.ones(8, 8))
    assert not torch.equal(z[0], torch.ones(8, 8))
    metric = deforum_depth(raw[0], inverse=False)
    assert metric.flatten()[raw[0].argmin()] == metric.min() > 1.0  # near is small
    assert torch.allclose(legacy_midas_depth(torch.tensor([50.0, 31.0])), torch.tensor([0.0, 1.0]))
    blended = blend_depth(torch.tensor([2.0]), torch.tensor([1.0]), midas_weight=0.25)
    assert torch.allclose(blended, torch.tensor([1.25]))
    image = depth_image(raw[0])
    assert image.min() == 0 and image.max() == 1
    assert image.flatten()[raw[0].argmax()] == 1.0  # near bright


# --- depth maps on disk -------------------------------------------------------------------------


def test_16_bit_png_round_trip_is_atomic(tmp_path):
    depth = torch.linspace(1.0, 2.0, 48 * 64).reshape(48, 64)
    path = save_depth_map(tmp_path / "depth" / "00001.png", depth, value_range=(1.0, 2.0))
    stored = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert stored.dtype == np.uint16 and stored.shape == (48, 64)
    assert stored[0, 0] == 65535 and stored[-1, -1] == 0  # near (z=1) bright
    back = read_depth_map(path)
    assert torch.allclose(back, 2.0 - depth, atol=1 / 65535 + 1e-6)
    assert sorted(item.name for item in path.parent.iterdir()) == ["00001.png"]
    raw = torch.rand(20, 30) * 9
    save_depth_map(tmp_path / "raw.png", raw, near_is_small=False)
    restored = read_depth_map(tmp_path / "raw.png")
    assert torch.allclose(restored, (raw - raw.min()) / (raw.max() - raw.min()), atol=2e-5)
    running = DepthRange()
    running.update(torch.tensor([1.0, 3.0]))
    assert running.update(torch.tensor([0.5, 2.0])) == (0.5, 3.0)
