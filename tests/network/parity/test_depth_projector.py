"""NVIDIA's 2D depth projector (``sem_seg_head.depth_projector``): fixture parity, key layout, training, ONNX."""

from __future__ import annotations

import torch
from torch import nn

from nvpanoptix3d.network.projection import DepthProjector
from tests.network.parity.fixtures import assert_matches, load_fixture
from tests.network.parity.module_checks import assert_onnx_matches, assert_trains, nv_shapes, our_shapes


def _fixture_projector():
    fx = load_fixture("depth_projector")
    proj = DepthProjector(**fx.config["constructor_args"])
    proj.load_state_dict(fx.weights, strict=True)
    return fx, proj.eval()


def _call_args(fx):
    fa = fx.config["forward_args"]
    return tuple(fa["depth_feature_shape"]), [tuple(s) for s in fa["size_list"]]


class _Positional(nn.Module):
    """Four depth features as positional inputs and sizes bound, for the exporter."""

    def __init__(self, proj: DepthProjector, shape, sizes) -> None:
        super().__init__()
        self.proj, self.shape, self.sizes = proj, shape, sizes

    def forward(self, f0, f1, f2, f3):
        last, projected = self.proj([f0, f1, f2, f3], self.shape, self.sizes)
        return (last, *projected)


def test_parity():
    fx, proj = _fixture_projector()
    feats = [fx.inputs[f"depth_features.{i}"] for i in range(4)]
    shape, sizes = _call_args(fx)
    with torch.no_grad():
        last, projected = proj(feats, shape, sizes)
    ours = {"depth_features": last, **{f"multi_scale_depth_features.{i}": t for i, t in enumerate(projected)}}
    assert set(ours) == set(fx.outputs)
    print(assert_matches(fx, ours))


def test_discarded_stage_is_available():
    fx, proj = _fixture_projector()
    shape, _ = _call_args(fx)
    with torch.no_grad():
        y = proj.project_level(0, fx.inputs["depth_features.0"], shape)
    assert tuple(y.shape) == (1, 16, *shape)


def test_full_size_keys_equal_nvidia():
    with torch.device("meta"):
        proj = DepthProjector()
    nv = nv_shapes("2d", "sem_seg_head.depth_projector.")
    assert len(nv) == 36
    assert our_shapes(proj) == nv
    assert nv_shapes("3d", "sem_seg_head.depth_projector.") == nv


def test_trains():
    fx, _ = _fixture_projector()
    proj = DepthProjector(**fx.config["constructor_args"])
    shape, sizes = _call_args(fx)
    feats = [torch.cat([fx.inputs[f"depth_features.{i}"]] * 2) for i in range(4)]
    # stage 0's output is discarded (as in NVIDIA's model), so its parameters get no gradient
    assert_trains(proj, lambda m: m(feats, shape, sizes)[1], unused=("proj_convs1.0.", "proj_convs2.0."))


def test_onnx_export_matches():
    fx, proj = _fixture_projector()
    shape, sizes = _call_args(fx)
    assert_onnx_matches(_Positional(proj, shape, sizes), tuple(fx.inputs[f"depth_features.{i}"] for i in range(4)))
