"""Sparse lifting: only the voxels near the predicted surface (and in occupied depth planes) get a row.

Candidates come from back-projecting pixels, so the cost follows the image and the truncation band, not
the grid volume: every pixel with a valid depth d contributes the voxels at depths d + t * voxel_size,
|t| <= ceil(truncation), along its ray; every multi-plane-occupancy cell above 0.5 contributes the voxel
at its bin centre. Each voxel then gets exactly the features the dense :class:`FrustumLifting` gives it
(same projection and sampling), so both backends see the same inputs on the shared voxels.

``max_voxels`` bounds the rows per image. When exceeded, the voxels closest to the predicted surface are
kept (smallest |signed distance|, ties by linear voxel index), and a warning names the key.
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from nvpanoptix3d.geometry import FrustumGrid
from nvpanoptix3d.network.frustum3d.sparse.kernel_map import linearize, lowest_rows, unlinearize
from nvpanoptix3d.network.frustum3d.sparse.tensor import SparseTensor

MAX_VOXELS_KEY = "model.frustum3d.max_voxels"


def keep_closest(dist: torch.Tensor, keys: torch.Tensor, limit: int) -> torch.Tensor:
    """Rows of the ``limit`` smallest ``dist``, ties broken by the smaller key; returned in key order."""
    rows = lowest_rows(dist, keys, limit)
    return rows[torch.sort(keys[rows]).indices]


class SparseFrustumLifting(nn.Module):
    def __init__(self, *, grid_dims: int, voxel_size: float, depth_min: float, depth_max: float, truncation: float,
                 max_voxels: int = 700000) -> None:
        super().__init__()
        grid = FrustumGrid.cube(grid_dims, voxel_size, depth_min, depth_max)
        self.dims = tuple(int(d) for d in grid.dims)
        self.voxel_size, self.depth_min, self.depth_max, self.truncation = voxel_size, depth_min, depth_max, truncation
        self.max_voxels = max_voxels
        self.register_buffer("origin", torch.tensor(grid.origin, dtype=torch.float32), persistent=False)

    def extra_channels(self, num_classes: int) -> int:
        return num_classes + 3  # semantic probs, occupancy prob, sign, |distance|

    def _candidates(self, depth: torch.Tensor, mp_occ: torch.Tensor, k: torch.Tensor,
                    image_size: tuple[int, int]) -> torch.Tensor:
        """Camera-space points (M, 3) for one image: ray samples around the depth, occupied plane centres."""
        w, h = image_size
        fx, fy, cx, cy = k[0, 0], k[1, 1], k[0, 2], k[1, 2]
        dh, dw = depth.shape[-2:]
        v, u = torch.meshgrid(torch.arange(dh, device=depth.device, dtype=depth.dtype),
                              torch.arange(dw, device=depth.device, dtype=depth.dtype), indexing="ij")
        # pixel i of an image resampled to (dw, dh) has centre u = (i + 0.5) * W / dw - 0.5 in (W, H) pixels
        u, v = (u + 0.5) * w / dw - 0.5, (v + 0.5) * h / dh - 0.5
        d = depth.reshape(-1)
        ok = d > 0
        steps = torch.arange(-math.ceil(self.truncation), math.ceil(self.truncation) + 1, device=d.device,
                             dtype=d.dtype) * self.voxel_size
        z = (d[ok, None] + steps).reshape(-1)
        uu, vv = u.reshape(-1)[ok].repeat_interleave(steps.numel()), v.reshape(-1)[ok].repeat_interleave(steps.numel())
        pts = [torch.stack([(uu - cx) * z / fx, (vv - cy) * z / fy, z], 1)]
        bins, mh, mw = mp_occ.shape
        occ = mp_occ.sigmoid() > 0.5
        if occ.any():
            b, i, j = occ.nonzero().unbind(1)
            zb = (b.to(d.dtype) + 0.5) * self.depth_max / bins
            ub, vb = (j.to(d.dtype) + 0.5) * w / mw - 0.5, (i.to(d.dtype) + 0.5) * h / mh - 0.5
            pts.append(torch.stack([(ub - cx) * zb / fx, (vb - cy) * zb / fy, zb], 1))
        return torch.cat(pts)

    def voxel_coords(self, *, depth: torch.Tensor, mp_occ: torch.Tensor, intrinsic: torch.Tensor,
                     image_size: tuple[int, int], frustum: torch.Tensor) -> torch.Tensor:
        """(N, 4) unique batch-first voxel coordinates (sorted by key) hit by the candidates, in the frustum."""
        out = []
        for b in range(depth.shape[0]):
            pts = self._candidates(depth[b, 0], mp_occ[b], intrinsic[b].to(depth.dtype), image_size)
            idx = torch.floor((pts - self.origin.to(pts.dtype)) / self.voxel_size).long()
            dims = torch.tensor(self.dims, device=idx.device)
            idx = idx[((idx >= 0) & (idx < dims)).all(1)]
            idx = idx[frustum[b, idx[:, 0], idx[:, 1], idx[:, 2]]]
            coords = torch.cat([torch.full_like(idx[:, :1], b), idx], 1)
            out.append(unlinearize(torch.unique(linearize(coords, self.dims)), self.dims))
        return torch.cat(out)

    def forward(self, *, features: torch.Tensor, semantic: torch.Tensor, depth: torch.Tensor, mp_occ: torch.Tensor,
                intrinsic: torch.Tensor, image_size: tuple[int, int], frustum: torch.Tensor) -> SparseTensor:
        """Same arguments as :class:`FrustumLifting`; returns the lifted voxels as a SparseTensor whose
        features equal the dense lifted volume at those voxels."""
        coords = self.voxel_coords(depth=depth, mp_occ=mp_occ, intrinsic=intrinsic, image_size=image_size,
                                   frustum=frustum)
        w, h = image_size
        rows, feats = [], []
        for b in range(features.shape[0]):
            sel = (coords[:, 0] == b).nonzero().flatten()
            c = self.origin.to(features.dtype) + (coords[sel, 1:].to(features.dtype) + 0.5) * self.voxel_size
            z = c[:, 2]
            k = intrinsic[b].to(features.dtype)
            un = (k[0, 0] * c[:, 0] / z + k[0, 2] + 0.5) / w * 2 - 1
            vn = (k[1, 1] * c[:, 1] / z + k[1, 2] + 0.5) / h * 2 - 1
            g2 = torch.stack([un, vn], -1)[None, None]
            sample = lambda img, mode="bilinear": F.grid_sample(img[b:b + 1], g2, mode=mode,  # noqa: E731
                                                                align_corners=False)[0, :, 0].T
            d_pix = sample(depth, "nearest")[:, 0]
            zn = (z / self.depth_max) * 2 - 1
            g3 = torch.stack([un, vn, zn], -1)[None, None, None]
            occ = F.grid_sample(mp_occ[b:b + 1, None].sigmoid(), g3, align_corners=False)[0, 0, 0, 0]
            sd = (z - d_pix) / self.voxel_size
            valid = (un.abs() <= 1) & (vn.abs() <= 1) & (d_pix > 0)
            dist = sd.abs().clamp(max=self.truncation) / self.truncation
            f = torch.cat([sample(features), sample(semantic), torch.stack([occ, sd.sign(), dist], 1)], 1)
            sel, f, sd = sel[valid], f[valid], sd[valid]
            if sel.numel() > self.max_voxels:
                warnings.warn(f"image {b}: {sel.numel()} lifted voxels exceed {MAX_VOXELS_KEY}={self.max_voxels}; "
                              f"keeping the {self.max_voxels} closest to the predicted surface", stacklevel=2)
                keep = keep_closest(sd.abs(), linearize(coords[sel], self.dims), self.max_voxels)
                sel, f = sel[keep], f[keep]
            rows.append(sel)
            feats.append(f)
        rows_all = torch.cat(rows)
        return SparseTensor(coords[rows_all], torch.cat(feats), self.dims, features.shape[0])
