"""NVIDIA's DPTHead2PixelDecoder (fixture ``dpt2pixeldecoder``): parity, full-size key names/shapes, training, ONNX."""

from __future__ import annotations

import torch
from torch import nn

from nvpanoptix3d.network.dpt2pixeldecoder import DPTHead2PixelDecoder
from tests.network.parity.fixtures import assert_matches, load_fixture
from tests.network.parity.module_checks import assert_onnx_matches, nv_shapes, our_shapes


def test_dpt2pixeldecoder_matches_nvidia():
    fx = load_fixture("dpt2pixeldecoder")
    c = fx.config["constructor_args"]
    model = DPTHead2PixelDecoder(dim_in=c["dim_in"], patch_size=c["patch_size"], out_channels=tuple(c["out_channels"]),
                                 intermediate_layer_idx=tuple(c["intermediate_layer_idx"]), pos_embed=c["pos_embed"])
    model.load_state_dict(fx.weights, strict=True)
    model.eval()
    n = sum(k.startswith("aggregated_tokens.") for k in fx.inputs)
    tokens = [fx.inputs[f"aggregated_tokens.{i}"] for i in range(n)]
    with torch.no_grad():
        out = model(tokens, fx.inputs["images"], fx.config["forward_args"]["patch_start_idx"])
    assert list(out) == ["res2", "res3", "res4", "res5"]
    print(assert_matches(fx, out))


def test_full_size_keys_and_shapes_equal_nvidia():
    with torch.device("meta"):
        model = DPTHead2PixelDecoder()
    ref = nv_shapes("2d", "backbone.dpt2pixeldecoder.")
    assert len(ref) == 24
    assert our_shapes(model) == ref


def test_trains_with_two_frames():
    torch.manual_seed(0)
    model = DPTHead2PixelDecoder(dim_in=16, out_channels=(4, 8, 12, 16), intermediate_layer_idx=(0, 0, 1, 1)).train()
    tokens = [torch.randn(1, 2, 5 + 15, 16, requires_grad=True) for _ in range(2)]
    out = model(tokens, torch.zeros(1, 2, 3, 42, 70), 5)
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "res2": (2, 4, 12, 20), "res3": (2, 8, 6, 10), "res4": (2, 12, 3, 5), "res5": (2, 16, 2, 3)}
    sum(v.square().mean() for v in out.values()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


class _Wrapped(nn.Module):
    def __init__(self, model: DPTHead2PixelDecoder) -> None:
        super().__init__()
        self.model = model

    def forward(self, t0, t1, t2, t3):
        images = t0.new_zeros(1, 1, 3, 28, 42)  # only its shape is read, so it is no graph input
        return tuple(self.model([t0, t1, t2, t3], images, 5).values())


def test_onnx_export_matches_onnxruntime():
    torch.manual_seed(0)
    model = DPTHead2PixelDecoder(dim_in=16, out_channels=(4, 8, 12, 16), intermediate_layer_idx=(0, 1, 2, 3))
    tokens = [torch.randn(1, 1, 5 + 6, 16) for _ in range(4)]
    assert_onnx_matches(_Wrapped(model), tuple(tokens))
