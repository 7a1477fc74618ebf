"""3D completion decoder: a U-Net over the frustum grid predicting occupancy at 1/4, 1/2 and full
resolution (coarse to fine), the truncated distance (geometry) at full resolution, and per-voxel
embeddings that, dotted with the 2D query features, give each query's 3D mask at every level.

This is the dense backend: cost grows with the grid volume. Coarser levels gate finer ones by their
predicted occupancy (soft generative upsampling), as the sparse decoders of Dahnert et al. and Uni-3D
prune unoccupied voxels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv3d(cin, cout, 3, stride=stride, padding=1), nn.InstanceNorm3d(cout, affine=True),
                         nn.ReLU(inplace=True), nn.Conv3d(cout, cout, 3, padding=1),
                         nn.InstanceNorm3d(cout, affine=True), nn.ReLU(inplace=True))


class FrustumCompletion(nn.Module):
    def __init__(self, *, in_channels: int, features: int = 16, query_dim: int = 256, truncation: float = 3.0) -> None:
        super().__init__()
        f = features
        self.truncation = truncation
        self.enc0 = _block(in_channels, f)
        self.enc1 = _block(f, 2 * f, stride=2)
        self.enc2 = _block(2 * f, 4 * f, stride=2)
        self.up1 = nn.ConvTranspose3d(4 * f, 2 * f, 2, stride=2)
        self.dec1 = _block(4 * f, 2 * f)
        self.up0 = nn.ConvTranspose3d(2 * f, f, 2, stride=2)
        self.dec0 = _block(2 * f, f)
        self.occupancy_heads = nn.ModuleList([nn.Conv3d(4 * f, 1, 1), nn.Conv3d(2 * f, 1, 1), nn.Conv3d(f, 1, 1)])
        self.segm_heads = nn.ModuleList([nn.Conv3d(4 * f, f, 1), nn.Conv3d(2 * f, f, 1), nn.Conv3d(f, f, 1)])
        self.query_proj = nn.ModuleList([nn.Linear(query_dim, f) for _ in range(3)])
        self.geometry_head = nn.Sequential(nn.Conv3d(f, f, 3, padding=1), nn.ReLU(inplace=True), nn.Conv3d(f, 1, 1))

    def forward(self, volume: torch.Tensor, queries: torch.Tensor) -> dict[str, list[torch.Tensor] | torch.Tensor]:
        """volume (B, Cin, X, Y, Z), queries (B, Q, D) -> occupancy logits and 3D mask logits per level
        (coarse -> fine: X/4, X/2, X) and the geometry (B, X, Y, Z) in voxels, clamped to [0, truncation]."""
        e0 = self.enc0(volume)
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        feats = [e2]
        d1 = self.dec1(torch.cat([self.up1(e2 * torch.sigmoid(self.occupancy_heads[0](e2))), e1], dim=1))
        feats.append(d1)
        d0 = self.dec0(torch.cat([self.up0(d1 * torch.sigmoid(self.occupancy_heads[1](d1))), e0], dim=1))
        feats.append(d0)
        occupancy = [head(x)[:, 0] for head, x in zip(self.occupancy_heads, feats)]
        masks = [torch.einsum("bqf,bfxyz->bqxyz", proj(queries), head(x))
                 for proj, head, x in zip(self.query_proj, self.segm_heads, feats)]
        geometry = F.softplus(self.geometry_head(d0)[:, 0]).clamp(max=self.truncation)
        return {"pred_occupancy": occupancy, "pred_masks_3d": masks, "pred_geometry": geometry}
