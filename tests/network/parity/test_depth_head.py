"""NVIDIA's VGGT DPT depth head (fixture ``depth_head``): parity, full-size key names/shapes, training, ONNX."""

from __future__ import annotations

import torch
from torch import nn

from nvpanoptix3d.network.depth_head import DPTHead
from tests.network.parity.fixtures import assert_matches, load_fixture
from tests.network.parity.module_checks import assert_onnx_matches, nv_shapes, our_shapes


def _fixture_head(fx) -> DPTHead:
    c = fx.config["constructor_args"]
    head = DPTHead(dim_in=c["dim_in"], patch_size=c["patch_size"], output_dim=c["output_dim"],
                   activation=c["activation"], conf_activation=c["conf_activation"], features=c["features"],
                   out_channels=tuple(c["out_channels"]), intermediate_layer_idx=tuple(c["intermediate_layer_idx"]),
                   pos_embed=c["pos_embed"], feature_only=c["feature_only"], down_ratio=c["down_ratio"],
                   is_depth=c["is_depth"])
    head.load_state_dict(fx.weights, strict=True)
    return head.eval()


def _tokens(fx) -> list[torch.Tensor]:
    n = sum(k.startswith("aggregated_tokens.") for k in fx.inputs)
    return [fx.inputs[f"aggregated_tokens.{i}"] for i in range(n)]


def test_depth_head_matches_nvidia():
    fx = load_fixture("depth_head")
    head = _fixture_head(fx)
    with torch.no_grad():
        depth, conf, feats = head(_tokens(fx), fx.inputs["images"], fx.config["forward_args"]["patch_start_idx"])
    ours = {"depth": depth, "depth_conf": conf} | {f"multi_scale_depth_features.{i}": f for i, f in enumerate(feats)}
    print(assert_matches(fx, ours))


def test_full_size_keys_and_shapes_equal_nvidia():
    with torch.device("meta"):
        head = DPTHead()
    ref = nv_shapes("2d", "backbone.depth_head.")
    assert len(ref) == 62
    assert our_shapes(head) == ref


def test_trains_and_feature_only_variant():
    torch.manual_seed(0)
    head = DPTHead(dim_in=16, features=8, out_channels=(4, 8, 8, 8), intermediate_layer_idx=(0, 1, 1, 2)).train()
    tokens = [torch.randn(1, 2, 5 + 6, 16, requires_grad=True) for _ in range(3)]
    images = torch.zeros(1, 2, 3, 28, 42)
    depth, conf, feats = head(tokens, images, 5)
    assert depth.shape == (1, 2, 28, 42, 1) and conf.shape == (1, 2, 28, 42)
    assert [tuple(f.shape) for f in feats] == [(2, 8, 16, 24), (2, 8, 8, 12), (2, 8, 4, 6), (2, 8, 2, 3)]
    (depth.mean() + conf.mean() + sum(f.square().mean() for f in feats)).backward()
    for name, p in head.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert tokens[0].grad is not None
    only = DPTHead(dim_in=16, features=8, out_channels=(4, 8, 8, 8), intermediate_layer_idx=(0, 1, 1, 2),
                   feature_only=True, down_ratio=2)
    assert only(tokens, images, 5).shape == (1, 2, 8, 14, 21)


class _Wrapped(nn.Module):
    def __init__(self, head: DPTHead) -> None:
        super().__init__()
        self.head = head

    def forward(self, t0, t1, t2, t3):
        images = t0.new_zeros(1, 1, 3, 28, 42)  # only its shape is read, so it is no graph input
        depth, conf, feats = self.head([t0, t1, t2, t3], images, 5)
        return depth, conf, *feats


def test_onnx_export_matches_onnxruntime():
    torch.manual_seed(0)
    head = DPTHead(dim_in=16, features=8, out_channels=(4, 8, 8, 8), intermediate_layer_idx=(0, 1, 2, 3))
    tokens = [torch.randn(1, 1, 5 + 6, 16) for _ in range(4)]
    assert_onnx_matches(_Wrapped(head), tuple(tokens))
