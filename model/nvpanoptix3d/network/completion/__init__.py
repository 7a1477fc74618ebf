"""NVIDIA's 3D completion network (``completion.*`` of the 3D checkpoint) on pure-PyTorch sparse layers."""

from nvpanoptix3d.network.completion.decoder import FrustumDecoder
from nvpanoptix3d.network.completion.dense_execution import DenseFrustumDecoder
from nvpanoptix3d.network.completion.sparse_layers import (BasicBlock3D, Linear, SparseBasicBlock3D, SparseConv3d,
                                                           SparseInstanceNorm)

__all__ = ["BasicBlock3D", "DenseFrustumDecoder", "FrustumDecoder", "Linear", "SparseBasicBlock3D", "SparseConv3d", "SparseInstanceNorm"]
