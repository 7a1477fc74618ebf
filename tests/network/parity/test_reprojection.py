"""NVIDIA's SparseProjection (``reprojection``, no parameters): fixture parity incl. the multi-scale levels,
defaults, batching, the no-valid-depth fallback, gradients."""

from __future__ import annotations

import torch

from nvpanoptix3d.network.frustum3d.reprojection import SparseProjection
from tests.network.parity.fixtures import assert_matches, load_fixture
from tests.network.parity.module_checks import nv_shapes


def _run(module, i, fa, batch=1, **over):
    rep = lambda t: t.repeat(batch, *([1] * (t.dim() - 1)))  # noqa: E731
    get = lambda k: rep(over.get(k, i[k]))  # noqa: E731
    levels = [get(f"multi_scale_features.{k}") for k in range(3)]
    return module(get("encoder_features"), get("depth"), get("sem_seg"), get("intrinsic"),
                  tuple(fa["image_size"]), tuple(fa["padded_size"]), levels)


def _outputs(encoder, levels):
    out = {"encoder.coords": encoder.coords, "encoder.features": encoder.feats,
           "encoder.tensor_stride": torch.tensor([encoder.stride] * 3)}
    for k, rows in enumerate(levels):
        out.update({f"multi_scale.{k}.coords": rows.coords, f"multi_scale.{k}.features": rows.feats,
                    f"multi_scale.{k}.tensor_stride": torch.tensor([rows.stride] * 3)})
    return out


def test_fixture_parity():
    fx = load_fixture("reprojection")
    d = fx.config["constructor_defaults_used"]
    module = SparseProjection(truncation=d["truncation"], sign_channel=d["sign_channel"], depth_min=d["depth_min"],
                              depth_max=d["depth_max"], voxel_size=d["voxel_size"], frustum_dims=d["frustum_dims"])
    with torch.no_grad():
        out = _outputs(*_run(module.eval(), fx.inputs, fx.config["forward_args"]))
    errors = assert_matches(fx, out)
    assert max(errors.values()) <= 1e-6, errors
    assert all(torch.equal(out[k], fx.outputs[k]) for k in out)  # NVIDIA's row order too


def test_defaults_are_nvidias_and_parameter_free():
    d = load_fixture("reprojection").config["constructor_defaults_used"]
    m = SparseProjection()
    assert (m.truncation, m.sign_channel, m.depth_min, m.depth_max, m.voxel_size, m.frustum_dims) == (
        d["truncation"], d["sign_channel"], d["depth_min"], d["depth_max"], d["voxel_size"], d["frustum_dims"])
    assert m.state_dict() == {} and nv_shapes("3d", "reprojection.") == {}


def test_batch_fallback_and_gradients():
    fx = load_fixture("reprojection")
    i, fa = fx.inputs, fx.config["forward_args"]
    feats = {k: i[k].clone().requires_grad_(True) for k in ("encoder_features", "sem_seg", "multi_scale_features.0")}
    enc, levels = _run(SparseProjection(), i, fa, batch=2, **feats)
    n = fx.outputs["encoder.coords"].shape[0]
    assert torch.equal(enc.coords[:n], fx.outputs["encoder.coords"])
    assert torch.equal(enc.coords[n:, 1:], fx.outputs["encoder.coords"][:, 1:]) and (enc.coords[n:, 0] == 1).all()
    (enc.feats.sum() + levels[0].feats.sum()).backward()
    assert all(v.grad is not None and v.grad.abs().sum() > 0 for v in feats.values())

    enc, levels = _run(SparseProjection(), i, fa, depth=torch.zeros_like(i["depth"]))
    assert enc.coords.shape == (7, 4) and [r.coords.shape[0] for r in levels] == [5, 3, 1]
