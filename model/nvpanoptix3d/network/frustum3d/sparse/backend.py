"""The names of the 3D backends (``model.frustum3d.backend``) and the error of a spconv backend without spconv.

How each backend runs NVIDIA's completion: ``sparse`` the pure-PyTorch layers of ``network/completion``,
``dense`` their masked dense twin (``completion/dense_execution.py``), ``spconv`` the same sparse layers with
their gather-GEMM-scatter on spconv's kernels (``completion/spconv_exec.py``).
"""

from __future__ import annotations

BACKENDS = ("dense", "sparse", "spconv")
SPCONV_MISSING = ("spconv is not installed; pip install tao-skill-bank[gpu] (CUDA 12.6; spconv-cuXXX for another "
                  "CUDA) or tao-skill-bank[spconv] (CPU), or choose model.frustum3d.backend=sparse")


class SpconvMissingError(ImportError):
    """model.frustum3d.backend=spconv without spconv installed (the message is SPCONV_MISSING)."""
