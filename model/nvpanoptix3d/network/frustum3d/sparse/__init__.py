"""Sparse 3D backends behind one interface (:func:`get_backend`): ``sparse`` (pure PyTorch, CPU and CUDA)
and ``spconv`` (CUDA, when installed)."""

from nvpanoptix3d.network.frustum3d.sparse.backend import BACKENDS, SparseOps, get_backend
from nvpanoptix3d.network.frustum3d.sparse.tensor import SparseTensor

__all__ = ["BACKENDS", "SparseOps", "SparseTensor", "get_backend"]
