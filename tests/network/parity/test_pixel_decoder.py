"""NVIDIA's MSDeformAttnPixelDecoder (fixture ``pixel_decoder``): parity, full-size key names/shapes, training,
ONNX export."""

from __future__ import annotations

import io
import json

import numpy as np
import torch
from torch import nn

from nvpanoptix3d.network.ms_deform_attn import MSDeformAttn
from nvpanoptix3d.network.pixel_decoder import MSDeformAttnPixelDecoder
from tests.network.parity.fixtures import PARITY_DIR, assert_matches, load_fixture

NV_KEYS = PARITY_DIR.parents[1] / "reference" / "nv_state_dict_keys.json"
PREFIX = "sem_seg_head.pixel_decoder."
SMALL_SHAPE = {"res2": (4, 4), "res3": (8, 8), "res4": (12, 16), "res5": (16, 32)}


def _outputs(mask_features, encoder_features, multi_scale) -> dict[str, torch.Tensor]:
    return {"mask_features": mask_features, "transformer_encoder_features": encoder_features,
            **{f"multi_scale_features.{i}": x for i, x in enumerate(multi_scale)}}


def _small_model() -> MSDeformAttnPixelDecoder:
    return MSDeformAttnPixelDecoder(input_shape=SMALL_SHAPE, transformer_nheads=2, transformer_dim_feedforward=32,
                                    transformer_enc_layers=1, conv_dim=32, mask_dim=16)


def _small_features(b: int = 1) -> dict[str, torch.Tensor]:
    sizes = {"res2": (12, 20), "res3": (6, 10), "res4": (3, 5), "res5": (2, 3)}  # odd sizes on purpose
    return {k: torch.randn(b, c, *sizes[k]) for k, (c, _) in SMALL_SHAPE.items()}


def test_pixel_decoder_matches_nvidia():
    fx = load_fixture("pixel_decoder")
    a = fx.config["constructor_args"]
    shape = {k: (v["channel"], v["stride"]) for k, v in fx.config["input_shape"].items()}
    model = MSDeformAttnPixelDecoder(
        input_shape=shape, transformer_dropout=a["transformer_dropout"], transformer_nheads=a["transformer_nheads"],
        transformer_dim_feedforward=a["transformer_dim_feedforward"], transformer_enc_layers=a["transformer_enc_layers"],
        conv_dim=a["conv_dim"], mask_dim=a["mask_dim"], norm=a["norm"],
        transformer_in_features=tuple(a["transformer_in_features"]), common_stride=a["common_stride"])
    model.load_state_dict(fx.weights, strict=True)
    model.eval()
    features = {k.split(".", 1)[1]: v for k, v in fx.inputs.items()}
    assert features["res2"].shape[0] == 2
    with torch.no_grad():
        out = _outputs(*model(features))
    assert set(out) == set(fx.outputs)
    print(assert_matches(fx, out))


def test_full_size_keys_and_shapes_equal_nvidia():
    ref = json.loads(NV_KEYS.read_text())["models"]["2d"]["state_dict"]
    ref = {k[len(PREFIX):]: tuple(v) for k, v in ref.items() if k.startswith(PREFIX)}
    assert len(ref) == 117
    with torch.device("meta"):
        model = MSDeformAttnPixelDecoder(
            input_shape={"res2": (256, 4), "res3": (512, 8), "res4": (1024, 16), "res5": (2048, 32)})
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == ref


def test_deformable_init_spreads_points_over_heads():
    attn = MSDeformAttn(d_model=32, n_levels=2, n_heads=4, n_points=3)
    bias = attn.sampling_offsets.bias.view(4, 2, 3, 2)
    assert torch.allclose(bias[0, 1], torch.tensor([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]]))
    assert torch.allclose(bias[1, 0, 1], torch.tensor([0.0, 2.0]), atol=1e-6)  # 90 degrees, second point
    assert not attn.sampling_offsets.weight.any() and not attn.attention_weights.weight.any()
    assert not attn.attention_weights.bias.any() and not attn.value_proj.bias.any()


def test_trains_every_parameter():
    torch.manual_seed(0)
    model = _small_model().train()
    mask_features, encoder_features, multi_scale = model(_small_features(b=2))
    assert mask_features.shape == (2, 16, 12, 20) and encoder_features.shape == (2, 32, 2, 3)
    assert [tuple(x.shape[-2:]) for x in multi_scale] == [(2, 3), (3, 5), (6, 10)]
    loss = mask_features.square().mean() + sum(x.square().mean() for x in multi_scale)
    loss.backward()
    # At Deformable-DETR's init the query (hence position + level embedding) reaches the output only through
    # the zero-initialised offset/attention matrices, so the level embedding's first gradient is exactly 0.
    starts_at_zero = {"transformer.level_embed"}
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert (p.grad.abs().sum() == 0) == (name in starts_at_zero), f"{name}: gradient sum {p.grad.abs().sum()}"
    with torch.no_grad():  # once the attention logits depend on the query, the level embedding learns too
        model.transformer.encoder.layers[0].self_attn.attention_weights.weight.normal_(std=0.1)
    model.zero_grad()
    model(_small_features(b=2))[0].square().mean().backward()
    assert model.transformer.level_embed.grad.abs().sum() > 0


class _FlatIO(nn.Module):
    """Tensors in, a flat tuple out: the form torch.onnx.export takes."""

    def __init__(self, model: MSDeformAttnPixelDecoder) -> None:
        super().__init__()
        self.model = model

    def forward(self, res2, res3, res4, res5):
        mask_features, encoder_features, multi_scale = self.model({"res2": res2, "res3": res3, "res4": res4, "res5": res5})
        return (mask_features, encoder_features, *multi_scale)


def test_onnx_export_matches_onnxruntime():
    import onnxruntime as ort

    torch.manual_seed(0)
    model = _FlatIO(_small_model()).eval()
    feats = _small_features(b=1)
    args = tuple(feats[k] for k in ("res2", "res3", "res4", "res5"))
    with torch.no_grad():
        ref = model(*args)
    names = ["res2", "res3", "res4", "res5"]
    buf = io.BytesIO()
    torch.onnx.export(model, args, buf, opset_version=17, dynamo=False, input_names=names,
                      output_names=[f"out{i}" for i in range(len(ref))])
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    feeds = dict(zip(names, (a.numpy() for a in args)))
    got = sess.run(None, {i.name: feeds[i.name] for i in sess.get_inputs()})
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        r = r.numpy()
        assert g.shape == r.shape
        err = float(np.abs(g - r).max())
        assert err <= 1e-4 * float(np.abs(r).max()), f"onnxruntime differs by {err:.3e} (max|ref| {np.abs(r).max():.3e})"
