"""Network test fixtures."""

from __future__ import annotations

import pytest

from nvpanoptix3d.network.frustum3d.sparse.conv import set_conv_algorithm


@pytest.fixture(params=["pairs", "neighbors"])
def conv_algorithm(request):
    """Run a sparse-convolution test with each eager algorithm (per-offset pairs, neighbour-table GEMM)."""
    previous = set_conv_algorithm(request.param)
    yield request.param
    set_conv_algorithm(previous)
