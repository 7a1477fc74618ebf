"""Network test fixtures."""

from __future__ import annotations

import pytest
import torch

from nvpanoptix3d.network.frustum3d.sparse.conv import set_conv_algorithm


@pytest.fixture(params=["pairs", "neighbors"])
def conv_algorithm(request):
    """Run a sparse-convolution test with each eager algorithm (per-offset pairs, neighbour-table GEMM)."""
    previous = set_conv_algorithm(request.param)
    yield request.param
    set_conv_algorithm(previous)


@pytest.fixture
def one_thread():
    """The sparse 3D graphs are many small GEMMs and scatters: on a shared CPU, thread hand-offs cost more than
    the work (10-50x slower with two threads under load)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
