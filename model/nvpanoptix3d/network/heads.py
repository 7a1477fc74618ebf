"""Dense heads of the 2D stage: metric depth and BUOL-style multi-plane occupancy.

Multi-plane occupancy (Chu et al., BUOL, CVPR 2023) predicts, for every pixel of the reduced image and
every depth bin along its ray, whether the scene is occupied there — occluded space included — which
the lifting uses to place features behind visible surfaces.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DepthHead(nn.Module):
    """Per-pixel depth in metres, exp-activated (positive), from the stride-4 features."""

    def __init__(self, *, in_channels: int, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(in_channels, hidden, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(hidden, 1, 1))
        nn.init.constant_(self.net[-1].bias, 1.0)  # exp(1) ~ 2.7 m, the middle of indoor depth

    def forward(self, feat: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        d = self.net(feat).clamp(max=4.0).exp()
        return F.interpolate(d, size=size, mode="bilinear", align_corners=False)


class MultiPlaneOccupancyHead(nn.Module):
    """(B, bins, h, w) occupancy logits at the reduced image size."""

    def __init__(self, *, in_channels: int, bins: int, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(in_channels, hidden, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(hidden, bins, 1))

    def forward(self, feat: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return F.interpolate(self.net(feat), size=size, mode="bilinear", align_corners=False)
