"""The published .safetensors copies of Depth Anything V2 (the files ComfyUI's missing-model
panel can download): found under their own names and loaded like the official checkpoint,
in fp32 exactly and in fp16 within the rounding of half precision."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file
from tiny_depth import full_depth_model

from deforum_core.depth import MODEL_SPECS, DepthEstimator, find_model_file
from deforum_core.depth.loading import DepthModelFileNotFound, load_depth_network

SMALL = "Depth-Anything-V2-Small"


@pytest.fixture(scope="module")
def small_network() -> torch.nn.Module:
    return full_depth_model(SMALL, seed=3)


def copy_file(folder, network: torch.nn.Module, name: str, dtype: torch.dtype):
    """The network's weights as a plain .safetensors under the official parameter names (no
    metadata, as the published copies have)."""
    path = folder / name
    save_file({key: value.to(dtype).contiguous() for key, value in network.state_dict().items()},
              str(path))  # fmt: skip
    return path


def test_every_depth_anything_type_offers_a_downloadable_safetensors_copy() -> None:
    for name, spec in MODEL_SPECS.items():
        download = spec.download()
        if spec.family != "depth_anything":
            assert download is None
            continue
        file_name, url = download
        assert file_name == f"depth_anything_v2_{spec.variant}_fp32.safetensors"
        assert (
            url
            == f"https://huggingface.co/Kijai/DepthAnythingV2-safetensors/resolve/main/{file_name}"
        )
        assert file_name in spec.expected_files(), name


@pytest.mark.parametrize(("kind", "dtype"), [("fp32", torch.float32), ("fp16", torch.float16)])
def test_a_copy_in_the_depth_folder_is_found_and_loads_as_the_official_weights(
    tmp_path, small_network: torch.nn.Module, kind: str, dtype: torch.dtype
) -> None:
    name = f"depth_anything_v2_vits_{kind}.safetensors"
    path = copy_file(tmp_path, small_network, name, dtype)
    assert find_model_file(MODEL_SPECS[SMALL], [tmp_path]) == path

    loaded = DepthEstimator.from_file(SMALL, path, input_size=42)
    expected = DepthEstimator(small_network, SMALL, input_size=42)
    image = torch.rand(1, 30, 36, 3, generator=torch.Generator().manual_seed(0))
    depth, reference = loaded.predict(image), expected.predict(image)
    if dtype == torch.float32:
        assert torch.equal(depth, reference)
    else:  # weights rounded to half precision, computed in fp32 on the CPU
        assert {p.dtype for p in loaded.network.parameters()} == {torch.float32}
        assert 0 < (depth - reference).abs().max() < 0.02


def test_a_missing_model_names_the_copy_and_where_it_downloads_from(tmp_path) -> None:
    with pytest.raises(DepthModelFileNotFound) as caught:
        load_depth_network(SMALL, tmp_path / "nope.pth", folders=[tmp_path])
    text = str(caught.value)
    assert "depth_anything_v2_vits_fp32.safetensors" in text
    assert "https://huggingface.co/Kijai/DepthAnythingV2-safetensors/resolve/main/" in text
