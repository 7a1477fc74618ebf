"""NVIDIA's 3D-model projector (``projector``, ProjectionBlock): fixture parity, key layout, training, ONNX."""

from __future__ import annotations

import torch
from torch import nn

from nvpanoptix3d.network.projection import ProjectionBlock
from tests.network.parity.fixtures import assert_matches, load_fixture
from tests.network.parity.module_checks import assert_onnx_matches, assert_trains, nv_shapes, our_shapes


def _fixture_block():
    fx = load_fixture("projector")
    block = ProjectionBlock(**fx.config["constructor_args"])
    block.load_state_dict(fx.weights, strict=True)
    return fx, block.eval(), tuple(fx.config["forward_args"]["target_size"])


class _Bound(nn.Module):
    """Target size bound, for the exporter."""

    def __init__(self, block: ProjectionBlock, size) -> None:
        super().__init__()
        self.block, self.size = block, size

    def forward(self, x):
        return self.block(x, self.size)


def test_parity():
    fx, block, size = _fixture_block()
    with torch.no_grad():
        y = block(fx.inputs["depth_features"], size)
    print(assert_matches(fx, {"projected_depth_features": y}))


def test_full_size_keys_equal_nvidia():
    with torch.device("meta"):
        block = ProjectionBlock()
    nv = nv_shapes("3d", "projector.")
    assert len(nv) == 9
    assert our_shapes(block) == nv


def test_trains():
    fx, _, size = _fixture_block()
    block = ProjectionBlock(**fx.config["constructor_args"])
    x = torch.cat([fx.inputs["depth_features"]] * 2)
    assert_trains(block, lambda m: [m(x, size)])


def test_onnx_export_matches():
    fx, block, size = _fixture_block()
    assert_onnx_matches(_Bound(block, size), (fx.inputs["depth_features"],))
