"""Coordinate keys and row lookups that accept coordinates outside the nominal grid.

NVIDIA's decoder keeps voxels outside ``[0, D)`` for a while (the lifted input is shifted by -1, the
generative upsampling reaches ``2i + 3``) and prunes them only after the heads that see them as
neighbours, so a key must not depend on the grid shape: each spatial coordinate is offset by 2^15 and
packed into 16 bits, the batch index above them. The packing is monotonic, so ascending keys are the
lexicographic (batch, x, y, z) order that ``torch.unique(coords, dim=0)`` gives warpconvnet.
"""

from __future__ import annotations

import torch

_BITS = 16
_HALF = 1 << (_BITS - 1)
_MASK = (1 << _BITS) - 1


def pack(coords: torch.Tensor) -> torch.Tensor:
    """(N, 4) int (batch, x, y, z), spatial values in [-2^15, 2^15) -> (N,) int64 keys."""
    c = coords.long()
    xyz = c[:, 1:] + _HALF
    return (((c[:, 0] << _BITS | xyz[:, 0]) << _BITS | xyz[:, 1]) << _BITS) | xyz[:, 2]


def unpack(keys: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`pack`: (N,) keys -> (N, 4) int64 coordinates."""
    z = (keys & _MASK) - _HALF
    y = ((keys >> _BITS) & _MASK) - _HALF
    x = ((keys >> (2 * _BITS)) & _MASK) - _HALF
    b = keys >> (3 * _BITS)
    return torch.stack([b, x, y, z], 1)


class VoxelIndex:
    """Row of each coordinate in a set (sorted keys + ``torch.searchsorted``; memory O(N))."""

    def __init__(self, coords: torch.Tensor) -> None:
        self.sorted, self.order = torch.sort(pack(coords))

    def lookup(self, query: torch.Tensor) -> torch.Tensor:
        """(M, 4) coordinates -> (M,) row index, -1 where absent."""
        n = self.sorted.numel()
        if n == 0 or query.shape[0] == 0:
            return torch.full((query.shape[0],), -1, dtype=torch.long, device=query.device)
        keys = pack(query)
        pos = torch.searchsorted(self.sorted, keys).clamp(max=n - 1)
        found = self.sorted[pos] == keys
        return torch.where(found, self.order[pos], torch.full_like(pos, -1))


def unique_coords(coords: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted unique rows of (N, 4) coordinates and each input row's position among them."""
    keys, inverse = torch.unique(pack(coords), sorted=True, return_inverse=True)
    return unpack(keys), inverse


def in_grid(coords: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """(N,) bool: spatial coordinates inside [0, shape)."""
    hi = torch.tensor(shape, device=coords.device)
    xyz = coords[:, 1:]
    return ((xyz >= 0) & (xyz < hi)).all(-1)


__all__ = ["VoxelIndex", "in_grid", "pack", "unique_coords", "unpack"]
