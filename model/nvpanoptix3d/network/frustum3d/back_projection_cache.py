"""A bounded LRU cache in front of :class:`BackProjection` (its result depends on the camera, not the image).

The voxel -> pixel map of one image is a function of its K, its frustum mask, the depth-map bound and the
grid facts (D, voxel size, depth range, depth size) only, yet the lifter needs it for every image of every
batch (~1 s per image at NVIDIA's 256^3 on a CPU). 3D-FRONT has one fixed K and one frustum mask, so a
training run computes it once.

Exactness: an entry is found by the exact float32 bytes of K, the bound, the grid facts, the device and the
dtype, and is used only when its stored frustum mask is ``torch.equal`` to the image's (no hash: a changed
mask can never hit). An entry is computed as batch item 0; the only batch-dependent value of
:class:`BackProjection` is mapping column 0 (the batch index on projected voxels, -1 elsewhere), which is set
to the item's index on the way out, so the cached output is bitwise the uncached one.

Memory: an entry holds the mask (D^3 bool), ``kept`` (D^3 bool) and ``mapping`` (D^3 x 5 float32), i.e.
22 bytes a voxel: 5.8 MB at 64^3, 369 MB at 256^3, on the device it was computed on. At most
``max_entries`` entries and ``max_bytes`` bytes are held (least recently used evicted first); an entry
larger than ``max_bytes`` on its own is not stored. Defaults: 4 entries, 1 GiB (two 256^3 entries).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch

from nvpanoptix3d.network.frustum3d.back_projection import BackProjection

DEFAULT_MAX_ENTRIES = 4
DEFAULT_MAX_BYTES = 1 << 30


@dataclass(frozen=True)
class _Entry:
    mask: torch.Tensor
    kept: torch.Tensor
    mapping: torch.Tensor

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.mask, self.kept, self.mapping))


class CachedBackProjection:
    """``BackProjection`` per image through a bounded LRU cache; same call and outputs as the module's
    (without ``room_mask``, which the lifter does not pass)."""

    def __init__(self, back_projection: BackProjection, *, max_entries: int = DEFAULT_MAX_ENTRIES,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.back_projection = back_projection
        self.max_entries, self.max_bytes = int(max_entries), int(max_bytes)
        self._entries: OrderedDict[tuple, list[_Entry]] = OrderedDict()
        self.hits = self.misses = 0

    @property
    def nbytes(self) -> int:
        """Bytes the cache holds now."""
        return sum(e.nbytes for group in self._entries.values() for e in group)

    def __len__(self) -> int:
        return sum(len(group) for group in self._entries.values())

    def clear(self) -> None:
        self._entries.clear()

    def _key(self, k: torch.Tensor, image_shape: tuple[int, int], mask: torch.Tensor) -> tuple:
        bp = self.back_projection
        return (k.detach().float().cpu().contiguous().numpy().tobytes(), tuple(int(s) for s in image_shape),
                bp.grid_dims, bp.voxel_size, bp.depth_min, bp.depth_max, bp.depth_size, str(mask.device),
                str(k.dtype))

    def _lookup(self, key: tuple, mask: torch.Tensor) -> _Entry | None:
        for entry in self._entries.get(key, ()):
            if entry.mask.device == mask.device and torch.equal(entry.mask, mask):
                self._entries.move_to_end(key)
                return entry
        return None

    def _store(self, key: tuple, entry: _Entry) -> None:
        if self.max_entries <= 0 or entry.nbytes > self.max_bytes:
            return
        self._entries.setdefault(key, []).append(entry)
        self._entries.move_to_end(key)
        while len(self) > self.max_entries or self.nbytes > self.max_bytes:
            oldest = next(iter(self._entries))
            group = self._entries[oldest]
            group.pop(0)
            if not group:
                del self._entries[oldest]

    def _one(self, k: torch.Tensor, mask: torch.Tensor, image_shape: tuple[int, int]) -> _Entry:
        key = self._key(k, image_shape, mask)
        entry = self._lookup(key, mask)
        if entry is not None:
            self.hits += 1
            return entry
        self.misses += 1
        kept, mapping = self.back_projection(k[None], mask[None], image_shape=image_shape)
        entry = _Entry(mask.clone(), kept[0], mapping[0])
        self._store(key, entry)
        return entry

    def __call__(self, intrinsic: torch.Tensor, frustum_mask: torch.Tensor, *,
                 image_shape: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """intrinsic (B, 4, 4), frustum_mask (B, D, D, D) bool -> (kept (B, D, D, D), mapping (B, D, D, D, 5))
        exactly as ``BackProjection`` computes them for the batch. For one image they are views of the cache
        entry (no copy of the D^3 x 5 map): read them, do not write into them."""
        if self.max_entries <= 0:
            return self.back_projection(intrinsic, frustum_mask.bool(), image_shape=image_shape)
        if intrinsic.shape[0] == 1:
            entry = self._one(intrinsic[0], frustum_mask[0].bool(), image_shape)
            return entry.kept[None], entry.mapping[None]
        kepts, mappings = [], []
        for b in range(intrinsic.shape[0]):
            entry = self._one(intrinsic[b], frustum_mask[b].bool(), image_shape)
            mapping = entry.mapping
            if b:  # column 0 is the batch index where a voxel projected (item 0 was cached), -1 elsewhere
                mapping = mapping.clone()
                column = mapping[..., 0]
                column[column >= 0] = float(b)
            kepts.append(entry.kept)
            mappings.append(mapping)
        return torch.stack(kepts), torch.stack(mappings)
