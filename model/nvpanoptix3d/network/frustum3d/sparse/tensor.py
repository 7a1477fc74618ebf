"""A minimal sparse voxel tensor: integer coordinates plus a feature row per active voxel.

Coordinates are ``(batch, x, y, z)`` in units of the tensor's own level (a stride-2 tensor lives on a grid
half the size), so every level indexes its grid the same way. Kernel maps depend only on coordinates, so
they are cached on the tensor and shared by all layers that keep its coordinates (submanifold layers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class SparseTensor:
    coords: torch.Tensor  # (N, 4) int64: batch, x, y, z
    feats: torch.Tensor  # (N, C)
    spatial_shape: tuple[int, int, int]
    batch_size: int
    stride: int = 1
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.spatial_shape = tuple(int(s) for s in self.spatial_shape)

    @property
    def num_voxels(self) -> int:
        return int(self.coords.shape[0])

    def replace(self, feats: torch.Tensor) -> "SparseTensor":
        """Same coordinates (and cached kernel maps), new features."""
        return SparseTensor(self.coords, feats, self.spatial_shape, self.batch_size, self.stride, self.cache)

    def to_cpu_float(self) -> "SparseTensor":
        """A float32 copy on the CPU (coordinates too); kernel maps are not carried over."""
        return SparseTensor(self.coords.cpu(), self.feats.float().cpu(), self.spatial_shape, self.batch_size,
                            self.stride)

    def dense(self, fill: float = 0.0) -> torch.Tensor:
        """(B, C, X, Y, Z) volume with ``fill`` where no voxel is active."""
        # The fill row is derived from the features (a sum, so empty sets work too): an ONNX exporter must
        # not fold a grid-sized constant into the file.
        base = self.feats.sum(0) * 0 + fill
        out = base.expand(self.batch_size, *self.spatial_shape, base.shape[0])
        b, x, y, z = self.coords.unbind(1)
        out = out.index_put((b, x, y, z), self.feats)
        return out.permute(0, 4, 1, 2, 3)

    @classmethod
    def from_dense(cls, volume: torch.Tensor, mask: torch.Tensor | None = None, stride: int = 1) -> "SparseTensor":
        """Active voxels of a (B, C, X, Y, Z) volume: ``mask`` (B, X, Y, Z) or the non-zero ones."""
        if mask is None:
            mask = volume.abs().amax(1) > 0
        coords = mask.nonzero()
        b, x, y, z = coords.unbind(1)
        feats = volume.permute(0, 2, 3, 4, 1)[b, x, y, z]
        return cls(coords, feats, tuple(volume.shape[2:]), volume.shape[0], stride)
