"""NVIDIA's query decoder (sem_seg_head.predictor): fixture parity, checkpoint keys, gradients, ONNX export."""

from __future__ import annotations

import json

import pytest
import torch

from nvpanoptix3d.network.predictor import DepthAwareMaskedTransformerDecoder, sine_position_encoding
from tests.network.parity.fixtures import PARITY_DIR, assert_matches, load_fixture

PREFIX = "sem_seg_head.predictor."


def _flatten(out: dict) -> dict[str, torch.Tensor]:
    """Our output dict in the fixture's naming (aux_outputs.{i}.{key})."""
    flat = {k: out[k] for k in ("pred_logits", "pred_masks", "segm_decoder_out")}
    for i, aux in enumerate(out["aux_outputs"]):
        for k, v in aux.items():
            flat[f"aux_outputs.{i}.{k}"] = v
    return flat


def _inputs(inputs: dict[str, torch.Tensor]) -> tuple:
    x = [inputs[f"x.{i}"] for i in range(3)]
    depth = [inputs[f"multi_scale_depth_features.{i}"] for i in range(3)]
    return x, depth, inputs["mask_features"], inputs["depth_features"]


@pytest.fixture(scope="module")
def fx():
    return load_fixture("predictor")


@pytest.fixture(scope="module")
def module(fx):
    m = DepthAwareMaskedTransformerDecoder(**fx.config["constructor_args"])
    m.load_state_dict(fx.weights, strict=True)
    return m.eval()


def test_fixture_parity(fx, module):
    x, depth, mask_features, depth_features = _inputs(fx.inputs)
    with torch.no_grad():
        out = module(x, depth, mask_features, depth_features)
    assert out["depth_features"] is depth_features
    assert len(out["aux_outputs"]) == fx.config["constructor_args"]["dec_layers"]
    errors = assert_matches(fx, _flatten(out))
    assert set(errors) == set(fx.outputs)


def test_full_default_keys_and_shapes():
    keys = json.loads((PARITY_DIR.parent.parent / "reference" / "nv_state_dict_keys.json").read_text())
    ref = {k[len(PREFIX):]: list(v) for k, v in keys["models"]["2d"]["state_dict"].items() if k.startswith(PREFIX)}
    assert len(ref) == 292
    with torch.device("meta"):
        m = DepthAwareMaskedTransformerDecoder(in_channels=256, num_classes=13, hidden_dim=256, num_queries=100,
                                               nheads=8, dim_feedforward=2048, dec_layers=9, mask_dim=256)
    ours = {k: list(v.shape) for k, v in m.state_dict().items()}
    assert ours == ref


def test_position_encoding_layout():
    pe = sine_position_encoding(3, 5, 8)
    assert pe.shape == (15, 1, 16)
    # y channels first (constant along a row), x channels second (constant along a column)
    grid = pe[:, 0].reshape(3, 5, 16)
    assert torch.equal(grid[:, :1, :8].expand(3, 5, 8), grid[..., :8])
    assert torch.equal(grid[:1, :, 8:].expand(3, 5, 8), grid[..., 8:])


@pytest.mark.parametrize("pre_norm", [False, True])
def test_backward_finite(fx, pre_norm):
    torch.manual_seed(0)
    m = DepthAwareMaskedTransformerDecoder(**{**fx.config["constructor_args"], "pre_norm": pre_norm})
    if not pre_norm:
        m.load_state_dict(fx.weights, strict=True)
    m.train()
    x, depth, mask_features, depth_features = _inputs(fx.inputs)
    x = [t.clone().requires_grad_() for t in x]
    out = m(x, depth, mask_features, depth_features)
    loss = out["pred_logits"].square().mean() + out["pred_masks"].sigmoid().mean() + out["segm_decoder_out"].sum()
    loss = loss + sum(a["pred_masks"].mean() for a in out["aux_outputs"])
    loss.backward()
    used = [p for n, p in m.named_parameters() if not n.startswith(
        ("cross_transformer_attention_layers", "depth_decoder_norm", "depth_embed"))]
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in used)
    assert all(torch.isfinite(t.grad).all() for t in x)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore::UserWarning")
def test_onnx_export_matches(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    torch.manual_seed(0)
    m = DepthAwareMaskedTransformerDecoder(in_channels=32, num_classes=5, hidden_dim=32, num_queries=6, nheads=4,
                                           dim_feedforward=64, dec_layers=3, mask_dim=16).eval()
    b, sizes = 1, [(2, 3), (4, 5), (8, 10)]
    x = [torch.randn(b, 32, h, w) for h, w in sizes]
    depth = [torch.randn(b, 32, h, w) for h, w in sizes]
    mask_features = torch.randn(b, 16, 16, 20)

    class Wrapper(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x0, x1, x2, d0, d1, d2, mf):
            out = self.inner([x0, x1, x2], [d0, d1, d2], mf)
            return out["pred_logits"], out["pred_masks"], out["segm_decoder_out"]

    args = (*x, *depth, mask_features)
    path = tmp_path / "predictor.onnx"
    torch.onnx.export(Wrapper(m), args, str(path), opset_version=17, dynamo=False)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    got = sess.run(None, {n: a.numpy() for n, a in zip(names, args)})
    with torch.no_grad():
        ref = Wrapper(m)(*args)
    for g, r in zip(got, ref):
        err = (torch.from_numpy(g) - r).abs().max() / r.abs().max()
        assert err <= 1e-4, err
