"""Sparse 3D tensors and the pure-PyTorch gather-GEMM-scatter under NVIDIA's completion layers; the backend
names and the missing-spconv error (:mod:`.backend`)."""

from nvpanoptix3d.network.frustum3d.sparse.backend import BACKENDS, SPCONV_MISSING, SpconvMissingError
from nvpanoptix3d.network.frustum3d.sparse.tensor import SparseTensor

__all__ = ["BACKENDS", "SPCONV_MISSING", "SparseTensor", "SpconvMissingError"]
