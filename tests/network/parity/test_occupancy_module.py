"""NVIDIA's multi-plane occupancy head (``sem_seg_head.occupancy_module``): fixture parity, key layout,
training, ONNX."""

from __future__ import annotations

import torch
from torch import nn

from nvpanoptix3d.network.occupancy import FEATURE_KEYS, MultiPlaneOccupancyHead
from tests.network.parity.fixtures import assert_matches, load_fixture
from tests.network.parity.module_checks import assert_onnx_matches, assert_trains, nv_shapes, our_shapes


def _fixture_head():
    fx = load_fixture("occupancy_module")
    args = fx.config["constructor_args"]
    head = MultiPlaneOccupancyHead(block_channel=args["block_channel"], num_bins=args["num_bins"])
    head.load_state_dict(fx.weights, strict=True)
    return fx, head.eval()


class _Positional(nn.Module):
    """res2..res5 as positional inputs, for the exporter."""

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.head = head

    def forward(self, res2, res3, res4, res5):
        return self.head(dict(zip(FEATURE_KEYS, (res2, res3, res4, res5))))


def test_parity():
    fx, head = _fixture_head()
    feats = {k: fx.inputs[f"features.{k}"] for k in FEATURE_KEYS}
    with torch.no_grad():
        out = head(feats)
    errors = assert_matches(fx, {"occupancy_pred": out})
    print(errors)


def test_full_size_keys_equal_nvidia():
    with torch.device("meta"):
        head = MultiPlaneOccupancyHead()
    nv = nv_shapes("2d", "sem_seg_head.occupancy_module.")
    assert len(nv) == 188
    assert our_shapes(head) == nv
    assert nv_shapes("3d", "sem_seg_head.occupancy_module.") == nv


def _small_inputs(batch: int = 2) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    return tuple(torch.randn(batch, c, h, w, generator=g)
                 for c, (h, w) in zip((8, 16, 32, 64), ((8, 10), (4, 5), (2, 3), (1, 2))))


def test_trains():
    head = MultiPlaneOccupancyHead(block_channel=(64, 32, 16, 8), num_bins=4, output_size=(12, 16))
    x = _small_inputs()
    assert_trains(head, lambda m: [m(dict(zip(FEATURE_KEYS, x)))])


def test_onnx_export_matches():
    fx, head = _fixture_head()
    assert_onnx_matches(_Positional(head), tuple(fx.inputs[f"features.{k}"] for k in FEATURE_KEYS))
