"""NVIDIA's depth-feature projectors, weight-for-weight: the 2D ``sem_seg_head.depth_projector`` and the
3D model's ``projector``.

Both bring DPT depth features to the resolution of another feature map the same way: a 3x3 stride-2
convolution (with bias) + BatchNorm + ReLU, a bilinear resize (``align_corners=False``) to the target size,
and a 1x1 convolution. The 2D model adds the projected maps to the pixel decoder's multi-scale features
(depth-aware queries); the 3D model concatenates ``projector(depth_features)`` to the mask features to form
the encoder features that are reprojected into the voxel grid. Attribute names equal NVIDIA's key names.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def _down_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """conv3x3 stride 2 (bias) -> BN -> ReLU; keys ``0.*`` (conv) and ``1.*`` (BN)."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1),
                         nn.BatchNorm2d(out_channels), nn.ReLU())


class DownConvBlock(nn.Module):
    """One halving stage of the depth projector, kept as a module so its keys read ``conv_block.{0,1}``."""

    def __init__(self, *, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv_block = _down_block(in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, H, W) -> (B, C_out, ceil(H/2), ceil(W/2))."""
        return self.conv_block(x)


class ProjectionBlock(nn.Module):
    """3D stage: the coarsest DPT feature brought to the mask-feature size (NVIDIA's ``projector``)."""

    def __init__(self, *, in_feature: int = 256, out_feature: int = 256) -> None:
        super().__init__()
        self.conv_block1 = _down_block(in_feature, out_feature)
        self.conv_block2 = nn.Conv2d(out_feature, out_feature, 1)

    def forward(self, x: torch.Tensor, target_size: Sequence[int]) -> torch.Tensor:
        """(B, in_feature, h, w) -> (B, out_feature, target_size[0], target_size[1])."""
        x = F.interpolate(self.conv_block1(x), size=(target_size[0], target_size[1]), mode="bilinear",
                          align_corners=False)
        return self.conv_block2(x)


class DepthProjector(nn.Module):
    """2D stage: DPT features 1..3 projected to the pixel decoder's multi-scale sizes.

    Stage i reads DPT feature i (finest first). NVIDIA targets stage 0 at the mask-feature size and stages
    1.. at the multi-scale sizes from the finest up, but then discards stage 0's output; its weights exist
    (checkpoints carry them) and it is exposed through :meth:`project_level`, yet ``forward`` does not
    compute it because nothing reads it.
    """

    def __init__(self, *, in_channels: int = 256, out_channels: int = 256, num_proj_convs: int = 4) -> None:
        super().__init__()
        self.proj_convs1 = nn.ModuleList(
            DownConvBlock(in_channels=in_channels, out_channels=in_channels) for _ in range(num_proj_convs))
        self.proj_convs2 = nn.ModuleList(nn.Conv2d(in_channels, out_channels, 1) for _ in range(num_proj_convs))

    def project_level(self, level: int, feature: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        """Stage ``level``: (B, in_channels, h, w) -> (B, out_channels, size[0], size[1])."""
        x = F.interpolate(self.proj_convs1[level](feature), size=(size[0], size[1]), mode="bilinear",
                          align_corners=False)
        return self.proj_convs2[level](x)

    def forward(self, depth_features: Sequence[torch.Tensor], depth_feature_shape: Sequence[int],
                size_list: Sequence[Sequence[int]]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Project DPT features to the multi-scale sizes.

        Args:
            depth_features: DPT multi-scale depth features, finest first, each (B, in_channels, h_i, w_i).
            depth_feature_shape: (H, W) of the mask features (target of the discarded stage 0).
            size_list: (H, W) of the pixel decoder's multi-scale features, coarsest first.

        Returns:
            ``depth_features[-1]`` unchanged, and the projections of stages n-1 .. 1 (n = min(num_proj_convs,
            len(size_list) + 1), NVIDIA's pairing of stages with targets): with the default 4 stages and 3
            sizes, entry j is DPT feature 3-j at ``size_list[j]``, (B, out_channels, *size_list[j]).
        """
        targets = [tuple(depth_feature_shape)] + [tuple(s) for s in reversed(size_list)]
        stages = min(len(self.proj_convs1), len(targets))
        projected = [self.project_level(i, depth_features[i], targets[i]) for i in range(stages - 1, 0, -1)]
        return depth_features[-1], projected
