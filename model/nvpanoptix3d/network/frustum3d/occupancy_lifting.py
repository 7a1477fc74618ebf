"""NVIDIA's occupancy-aware lifting (``OccupancyAwareLifting``, module ``ol``): 2D semantic probabilities and
multi-plane occupancy into sparse frustum voxels.

Per pixel, with depth d clipped to ``depth_max`` and ``num_bins`` occupancy planes:
- surface bin s = trunc(d / depth_max * num_bins);
- "stuff far bin" f: stuff pixels (argmax class >= ``stuff_min_class``, eroded by a 5x5 min-filter) give, per
  image column and per image row, the largest stuff depth; zeros in those two profiles are filled in order
  (each zero takes max(min non-zero value before it, min non-zero value after it), earlier fills counting),
  the pixel's limit is min(column value, row value) and f = trunc(limit / depth_max * num_bins). (NVIDIA
  first runs a border "stuff padding" step that only ever writes zeros over zeros; it changes nothing and
  is left out.)
- plane k is kept iff s - 3 < k < f + 5; its features are (sign, |(k - s) / num_bins * depth_max|) and the
  weight sigmoid(occupancy logit) * kept.

A back-projected voxel (``kept``, ``mapping`` from :class:`BackProjection`) is lifted when its plane is kept at
its pixel (trunc of u, v). NVIDIA quirk: that test looks the plane up with trunc(depth * num_bins / 6) - a
hard-coded 6 (``keep_lookup_depth``) - while the features use trunc(depth * num_bins / depth_max); equal with
the default depth_max 6. Rows: [sem probs (C), weight, sign, |dist|].

Padding rows (zero features): the 5x5x5 dilation of the lifted voxels inside ``kept``, minus the lifted
voxels, coordinates snapped down to even numbers, so coordinates repeat (normal, as NVIDIA). An image with no
candidate gets one voxel at ``empty_voxel`` on every axis. All coordinates are then shifted by -1 and rows
outside [0, valid_extent - 1) per axis are dropped - NVIDIA's bound is 256 whatever the grid size
(``valid_extent``; pass the grid size for a smaller preset).

Differentiable w.r.t. ``sem_seg`` and ``occupancy`` (gathers, sigmoid); depth only selects integers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nvpanoptix3d.network.frustum3d.sparse_rows import SparseRows


def fill_profile_zeros(values: list[float]) -> list[float]:
    """NVIDIA's fill of empty stuff-depth profile entries, left to right (filled entries count for later ones):
    a zero becomes max(min of the non-zero entries before it, min of the non-zero entries after it), a side
    without non-zero entries counting as 0."""
    out = list(values)
    n = len(out)
    suffix_min = [0.0] * (n + 1)  # min non-zero of out[i:], 0.0 when none (right side is never filled yet)
    has = [False] * (n + 1)
    for i in range(n - 1, -1, -1):
        v = out[i]
        if v != 0 and (not has[i + 1] or v < suffix_min[i + 1]):
            suffix_min[i], has[i] = v, True
        else:
            suffix_min[i], has[i] = suffix_min[i + 1], has[i + 1]
    left_min, left_has = 0.0, False
    for i in range(n):
        if out[i] == 0:
            right = suffix_min[i + 1] if has[i + 1] else 0.0
            left = left_min if left_has else 0.0
            out[i] = right if right > left else left
        if out[i] != 0 and (not left_has or out[i] < left_min):
            left_min, left_has = out[i], True
    return out


class OccupancyAwareLifting(nn.Module):
    """Parameter-free lifting of 2D predictions into NVIDIA's sparse 3D input rows.

    Args:
        depth_max: depth clip and bin range, metres (``dataset.depth_max``).
        keep_lookup_depth: NVIDIA's hard-coded 6 in the keep test's plane lookup.
        stuff_min_class: classes >= this are "stuff" (wall, floor, ceiling in 3D-FRONT's 13 classes).
        near_bins, far_bins: planes kept before the surface / after the stuff limit (3, 5).
        erosion: stuff min-filter size (5); dilation: padding max-filter size (5).
        valid_extent: rows must satisfy 0 <= c < valid_extent - 1 after the -1 shift (NVIDIA: 256, fixed).
        empty_voxel: index of the dummy voxel of an empty image (NVIDIA: 127; the grid centre D // 2 - 1 is
            used when the grid is smaller than that).
    """

    def __init__(self, *, depth_max: float = 6.0, keep_lookup_depth: float = 6.0, stuff_min_class: int = 10,
                 near_bins: int = 3, far_bins: int = 5, erosion: int = 5, dilation: int = 5,
                 valid_extent: int = 256, empty_voxel: int = 127) -> None:
        super().__init__()
        self.depth_max = float(depth_max)
        self.keep_lookup_depth = float(keep_lookup_depth)
        self.stuff_min_class = int(stuff_min_class)
        self.near_bins, self.far_bins = int(near_bins), int(far_bins)
        self.erosion, self.dilation = int(erosion), int(dilation)
        self.valid_extent = int(valid_extent)
        self.empty_voxel = int(empty_voxel)

    def _bins(self, depth: torch.Tensor, sem_seg: torch.Tensor, num_bins: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(surface bin, stuff far bin), both (B, H, W) int64, for clipped depth (B, H, W)."""
        surface = (depth / self.depth_max * float(num_bins)).long()
        stuff = (sem_seg.argmax(1) >= self.stuff_min_class).float()
        stuff = (-F.max_pool2d(-stuff, self.erosion, 1, self.erosion // 2)) > 0
        stuff_depth = depth * stuff
        per_column = stuff_depth.amax(1)  # (B, W)
        per_row = stuff_depth.amax(2)  # (B, H)
        fill = lambda t: torch.tensor([fill_profile_zeros(r) for r in t.tolist()], dtype=t.dtype,  # noqa: E731
                                      device=t.device).reshape(t.shape)
        limit = torch.minimum(fill(per_column)[:, None, :], fill(per_row)[:, :, None])
        return surface, (limit / self.depth_max * float(num_bins)).long()

    def forward(self, depth: torch.Tensor, sem_seg: torch.Tensor, occupancy: torch.Tensor, kept: torch.Tensor,
                mapping: torch.Tensor, room_mask: torch.Tensor | None = None) -> SparseRows:
        """Args:
            depth: (B, H, W) metric depth; sem_seg: (B, C, H, W) class probabilities;
            occupancy: (B, num_bins, H, W) occupancy logits (same H, W);
            kept: (B, D, D, D) bool and mapping: (B, D, D, D, 5) from :class:`BackProjection`;
            room_mask: optional (B, H, W) bool, restricts the lifted voxels (not the features).
        Returns:
            SparseRows: coords (N, 4) int64 (batch, x, y, z), rows of one image together (lifted first, then
            padding); feats (N, C + 3); stride 1. Coordinates may repeat.
        """
        num_bins = int(occupancy.shape[1])
        b_size, d = kept.shape[0], kept.shape[1]
        depth = depth.detach().clamp(max=self.depth_max)
        surface, far = self._bins(depth, sem_seg.detach(), num_bins)

        def plane_kept(bi, plane, v, u):
            return (plane > surface[bi, v, u] - self.near_bins) & (plane < far[bi, v, u] + self.far_bins)

        voxels = kept.nonzero()
        rows = mapping[kept]
        bi, u, v = rows[:, 0].long(), rows[:, 1].long(), rows[:, 2].long()
        lookup = (rows[:, 4] * num_bins / self.keep_lookup_depth).long().clamp(0, num_bins - 1)
        lift = plane_kept(bi, lookup, v, u)
        if room_mask is not None:
            lift = lift & room_mask[bi, v, u].bool()
        lifted = kept.clone()
        lifted[kept] = lift

        bi, u, v, z = bi[lift], u[lift], v[lift], rows[lift, 4]
        plane = (z * num_bins / self.depth_max).long().clamp(0, num_bins - 1)
        weight = occupancy[bi, plane, v, u].sigmoid() * plane_kept(bi, plane, v, u)
        dist = (plane - surface[bi, v, u]) / float(num_bins) * self.depth_max
        feats = torch.cat([sem_seg[bi, :, v, u], weight[:, None], dist.sign()[:, None], dist.abs()[:, None]], 1)
        coords = voxels[lift]

        near = (F.max_pool3d(lifted.float(), self.dilation, 1, self.dilation // 2) > 0) & kept
        empty = near.flatten(1).sum(1) == 0
        if empty.any():
            e = self.empty_voxel if self.empty_voxel < d else d // 2 - 1
            near[empty.nonzero()[:, 0], e, e, e] = True
        near &= ~lifted
        pad = near.nonzero()
        pad = torch.cat([pad[:, :1], pad[:, 1:] // 2 * 2], 1)

        coords = torch.cat([coords, pad])
        feats = torch.cat([feats, feats.new_zeros(len(pad), feats.shape[1])])
        if b_size > 1:
            # NVIDIA concatenates all images' lifted rows, then all padding rows, and hands them to a warpconvnet
            # Voxels, which assigns batches by position (see sparse_rows.batch_by_position): for B > 1 rows then
            # land in the wrong image. Here each image's rows stay together, lifted rows first.
            order = torch.sort(coords[:, 0], stable=True).indices
            coords, feats = coords[order], feats[order]
        coords = torch.cat([coords[:, :1], coords[:, 1:] - 1], 1)
        ok = ((coords[:, 1:] >= 0) & (coords[:, 1:] < self.valid_extent - 1)).all(1)
        return SparseRows(coords[ok], feats[ok], 1)
