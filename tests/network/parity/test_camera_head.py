"""NVIDIA's VGGT camera head (fixture ``camera_head``): parity and key names/shapes at full size."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from nvpanoptix3d.network.camera_head import CameraHead
from tests.network.parity.fixtures import assert_matches, load_fixture

KEYS = Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "nv_state_dict_keys.json"


def test_camera_head_matches_nvidia():
    fx = load_fixture("camera_head")
    c = fx.config["constructor_args"]
    model = CameraHead(dim_in=c["dim_in"], trunk_depth=c["trunk_depth"], num_heads=c["num_heads"],
                       mlp_ratio=c["mlp_ratio"], init_values=c["init_values"])
    model.load_state_dict(fx.weights, strict=True)
    with torch.no_grad():
        poses = model.eval()([fx.inputs["aggregated_tokens_last"]], **fx.config["forward_args"])
    assert len(poses) == fx.config["forward_args"]["num_iterations"]
    print(assert_matches(fx, {f"pose_enc_list.{i}": p for i, p in enumerate(poses)}))


def test_camera_head_over_several_frames_trains():
    torch.manual_seed(0)
    model = CameraHead(dim_in=32, trunk_depth=1, num_heads=2)
    poses = model([torch.randn(2, 3, 7, 32)], num_iterations=2)
    assert [p.shape for p in poses] == [torch.Size([2, 3, 9])] * 2
    assert (poses[-1][..., 7:] >= 0).all()
    poses[-1].sum().backward()
    assert model.token_norm.weight.grad is not None


def test_full_size_keys_and_shapes_equal_nvidia():
    with torch.device("meta"):
        model = CameraHead()
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    sd = json.loads(KEYS.read_text())["models"]["2d"]["state_dict"]
    prefix = "backbone.camera_head."
    ref = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
    assert len(ref) == 69
    assert ours == ref
