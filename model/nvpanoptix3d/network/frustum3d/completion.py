"""3D completion decoder: a U-Net over the frustum grid predicting occupancy at 1/4, 1/2 and full
resolution (coarse to fine), the truncated distance (geometry) at full resolution, and per-voxel
embeddings that, dotted with the 2D query features, give each query's 3D mask at every level.

This is the dense backend: cost grows with the grid volume. Coarser levels gate finer ones by their
predicted occupancy (soft generative upsampling), as the sparse decoders of Dahnert et al. and Uni-3D
prune unoccupied voxels.

Like the sparse backend, whose instance norm sees only the active voxels, the normalisation statistics
are taken over the *active* region: the voxels that received lifted features (frustum, in image, valid
depth) at full resolution and their max-pooled footprint at the coarser levels; features outside it are
zero. A plain ``InstanceNorm3d`` over the whole grid lets the empty space (most of the volume) set the
statistics. The occupancy heads start at the prior ``occupancy_prior`` (bias ``logit(prior)``), not at
p = 0.5, so the first steps are not spent on learning the base rate (and the soft gates start at the prior).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

OCCUPANCY_PRIOR = 0.2


class MaskedInstanceNorm3d(nn.Module):
    """Instance norm whose statistics cover only the voxels where ``mask`` (B, 1, X, Y, Z) is set; the
    output is zero elsewhere. Parameters are named as ``nn.InstanceNorm3d(affine=True)``'s."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        xf, m = x.float(), mask.to(torch.float32)
        count = m.sum((2, 3, 4), keepdim=True).clamp(min=1)
        mean = (xf * m).sum((2, 3, 4), keepdim=True) / count
        centred = xf - mean
        var = (centred * centred * m).sum((2, 3, 4), keepdim=True) / count
        out = centred * torch.rsqrt(var + self.eps)
        out = out * self.weight.view(1, -1, 1, 1, 1) + self.bias.view(1, -1, 1, 1, 1)
        return (out * m).to(x.dtype)


class _Block(nn.Sequential):
    """conv - masked IN - ReLU - conv - masked IN - ReLU (state-dict layout of the former ``nn.Sequential``)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__(nn.Conv3d(cin, cout, 3, stride=stride, padding=1), MaskedInstanceNorm3d(cout),
                         nn.ReLU(inplace=True), nn.Conv3d(cout, cout, 3, padding=1), MaskedInstanceNorm3d(cout),
                         nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        for layer in self:
            x = layer(x, mask) if isinstance(layer, MaskedInstanceNorm3d) else layer(x)
        return x


def _block(cin: int, cout: int, stride: int = 1) -> _Block:
    return _Block(cin, cout, stride)


def init_occupancy_bias(heads: nn.ModuleList, prior: float) -> None:
    """Start every occupancy head at probability ``prior`` (Lin et al.'s prior initialisation)."""
    for head in heads:
        nn.init.constant_(head.bias, math.log(prior / (1.0 - prior)))


class FrustumCompletion(nn.Module):
    def __init__(self, *, in_channels: int, features: int = 16, query_dim: int = 256, truncation: float = 3.0,
                 occupancy_prior: float = OCCUPANCY_PRIOR) -> None:
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
        init_occupancy_bias(self.occupancy_heads, occupancy_prior)

    def forward(self, volume: torch.Tensor, queries: torch.Tensor) -> dict[str, list[torch.Tensor] | torch.Tensor]:
        """volume (B, Cin, X, Y, Z), queries (B, Q, D) -> occupancy logits and 3D mask logits per level
        (coarse -> fine: X/4, X/2, X) and the geometry (B, X, Y, Z) in voxels, clamped to [0, truncation]."""
        m0 = (volume.abs().amax(1, keepdim=True) > 0).to(volume.dtype)  # active voxels: something was lifted
        m1 = F.max_pool3d(m0.float(), 2)
        m2 = F.max_pool3d(m1, 2)
        e0 = self.enc0(volume, m0)
        e1 = self.enc1(e0, m1)
        e2 = self.enc2(e1, m2)
        feats = [e2]
        d1 = self.dec1(torch.cat([self.up1(e2 * torch.sigmoid(self.occupancy_heads[0](e2))), e1], dim=1), m1)
        feats.append(d1)
        d0 = self.dec0(torch.cat([self.up0(d1 * torch.sigmoid(self.occupancy_heads[1](d1))), e0], dim=1), m0)
        feats.append(d0)
        occupancy = [head(x)[:, 0] for head, x in zip(self.occupancy_heads, feats)]
        masks = [torch.einsum("bqf,bfxyz->bqxyz", proj(queries), head(x))
                 for proj, head, x in zip(self.query_proj, self.segm_heads, feats)]
        geometry = F.softplus(self.geometry_head(d0)[:, 0]).clamp(max=self.truncation)
        return {"pred_occupancy": occupancy, "pred_masks_3d": masks, "pred_geometry": geometry}
