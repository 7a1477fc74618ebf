"""One interface over the sparse convolution implementations.

A backend is the set of layer constructors the sparse completion network needs; the network never
imports an implementation directly, so ``model.frustum3d.backend`` swaps them without other changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

BACKENDS = ("dense", "sparse", "spconv")
SPCONV_MISSING = ("spconv is not installed; pip install tao-skill-bank[gpu] or choose "
                  "model.frustum3d.backend=sparse")


class SpconvMissingError(ImportError):
    """model.frustum3d.backend=spconv without spconv installed (the message is SPCONV_MISSING)."""


@dataclass(frozen=True)
class SparseOps:
    name: str
    subm: Callable[..., nn.Module]  # (cin, cout, kernel_size=3) stride-1, outputs at input sites
    down: Callable[..., nn.Module]  # (cin, cout) kernel 2, stride 2
    up: Callable[..., nn.Module]  # (cin, cout) generative kernel 2, stride 2 (all 8 children)


def get_backend(name: str) -> SparseOps:
    """The layer constructors of a sparse backend; raises ImportError for spconv when it is absent."""
    if name == "sparse":
        from nvpanoptix3d.network.frustum3d.sparse import conv  # noqa: PLC0415

        return SparseOps("sparse", conv.SubmanifoldConv3d, lambda cin, cout: conv.SparseConv3d(cin, cout, 2, 2, 0),
                         conv.GenerativeConvTranspose3d)
    if name == "spconv":
        from nvpanoptix3d.network.frustum3d.sparse import spconv_backend  # noqa: PLC0415

        spconv_backend.require()
        return SparseOps("spconv", spconv_backend.SubMConv, spconv_backend.DownConv, spconv_backend.UpConv)
    raise ValueError(f"unknown sparse backend {name!r}; choose one of {BACKENDS[1:]} (dense has no sparse ops)")
