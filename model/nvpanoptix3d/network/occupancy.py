"""NVIDIA's multi-plane occupancy head (``sem_seg_head.occupancy_module``), weight-for-weight.

Multi-plane occupancy (Chu et al., BUOL, CVPR 2023) predicts, for every pixel of a fixed 120x160 plane and
every depth bin along its ray, whether space is occupied there (occluded space included); the 3D stage's
occupancy-aware lifting reads it. The layout follows NVIDIA TAO 7.0.1 so its checkpoints load unchanged:
a decoder that upsamples res5 through res4/res3/res2 to twice the res2 size, a fusion of all four input
levels at that size, and a prediction head that resizes to the output plane and predicts ``num_bins`` logits.

Every resize is bilinear with ``align_corners=True`` and every convolution except the last is bias-free
(each is followed by a BatchNorm). Attribute names equal NVIDIA's key names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

FEATURE_KEYS = ("res2", "res3", "res4", "res5")


class UpProjection(nn.Module):
    """Resize, then two 5x5 branches summed (one refined by a 3x3): a residual upsampler that keeps gradients
    flowing through the short branch."""

    def __init__(self, *, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 5, padding=2, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv1_2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn1_2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(in_channels, out_channels, 5, padding=2, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        """(B, C_in, h, w) -> (B, C_out, size[0], size[1])."""
        x = F.interpolate(x, size=(size[0], size[1]), mode="bilinear", align_corners=True)
        long_branch = self.bn1_2(self.conv1_2(F.relu(self.bn1(self.conv1(x)))))
        short_branch = self.bn2(self.conv2(x))
        return F.relu(long_branch + short_branch)


class OccupancyDecoder(nn.Module):
    """res5 -> 1x1 conv -> four UpProjections to the res4, res3, res2 and 2x res2 sizes.

    Channels: C5 -> C4 (1x1), then C4 -> C3 -> C2 -> C2/2 -> C2/4 with ``block_channel = (C5, C4, C3, C2)``.
    """

    def __init__(self, *, block_channel: Sequence[int] = (2048, 1024, 512, 256)) -> None:
        super().__init__()
        c5, c4, c3, c2 = (int(c) for c in block_channel)
        self.conv = nn.Conv2d(c5, c4, 1, bias=False)
        self.bn = nn.BatchNorm2d(c4)
        self.up1 = UpProjection(in_channels=c4, out_channels=c3)
        self.up2 = UpProjection(in_channels=c3, out_channels=c2)
        self.up3 = UpProjection(in_channels=c2, out_channels=c2 // 2)
        self.up4 = UpProjection(in_channels=c2 // 2, out_channels=c2 // 4)
        self.out_channels = c2 // 4

    def forward(self, res2: torch.Tensor, res3: torch.Tensor, res4: torch.Tensor,
                res5: torch.Tensor) -> torch.Tensor:
        """res{2..5} (B, C_k, H_k, W_k) -> (B, C2/4, 2*H2, 2*W2)."""
        x = F.relu(self.bn(self.conv(res5)))
        x = self.up1(x, res4.shape[-2:])
        x = self.up2(x, res3.shape[-2:])
        x = self.up3(x, res2.shape[-2:])
        return self.up4(x, (res2.shape[-2] * 2, res2.shape[-1] * 2))


class MultiFeatureFusion(nn.Module):
    """Every input level UpProjected to ``fuse_channels`` at one size, concatenated (res2 first), 5x5 conv."""

    def __init__(self, *, block_channel: Sequence[int] = (2048, 1024, 512, 256), fuse_channels: int = 16) -> None:
        super().__init__()
        c5, c4, c3, c2 = (int(c) for c in block_channel)
        self.up1 = UpProjection(in_channels=c2, out_channels=fuse_channels)
        self.up2 = UpProjection(in_channels=c3, out_channels=fuse_channels)
        self.up3 = UpProjection(in_channels=c4, out_channels=fuse_channels)
        self.up4 = UpProjection(in_channels=c5, out_channels=fuse_channels)
        self.out_channels = 4 * fuse_channels
        self.conv = nn.Conv2d(self.out_channels, self.out_channels, 5, padding=2, bias=False)
        self.bn = nn.BatchNorm2d(self.out_channels)

    def forward(self, res2: torch.Tensor, res3: torch.Tensor, res4: torch.Tensor, res5: torch.Tensor,
                size: Sequence[int]) -> torch.Tensor:
        """res{2..5} (B, C_k, H_k, W_k) -> (B, 4*fuse_channels, size[0], size[1])."""
        parts = [self.up1(res2, size), self.up2(res3, size), self.up3(res4, size), self.up4(res5, size)]
        return F.relu(self.bn(self.conv(torch.cat(parts, dim=1))))


class OccupancyPrediction(nn.Module):
    """UpProjection to the output plane, two 5x5 conv+BN+ReLU, a 5x5 conv (with bias) to one logit per bin."""

    def __init__(self, *, channels: int, num_bins: int = 100, output_size: Sequence[int] = (120, 160)) -> None:
        super().__init__()
        self.output_size = (int(output_size[0]), int(output_size[1]))
        self.resize = UpProjection(in_channels=channels, out_channels=channels)
        self.conv0 = nn.Conv2d(channels, channels, 5, padding=2, bias=False)
        self.bn0 = nn.BatchNorm2d(channels)
        self.conv1 = nn.Conv2d(channels, channels, 5, padding=2, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, num_bins, 5, padding=2, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, channels, h, w) -> (B, num_bins, *output_size) logits."""
        x = self.resize(x, self.output_size)
        x = F.relu(self.bn0(self.conv0(x)))
        x = F.relu(self.bn1(self.conv1(x)))
        return self.conv2(x)


class MultiPlaneOccupancyHead(nn.Module):
    """Multi-plane occupancy logits from the dpt2pixeldecoder's res2..res5 (NVIDIA's ``occupancy_module``).

    ``block_channel`` lists the input widths from res5 down to res2 (NVIDIA's order). The output plane is
    fixed by ``output_size`` whatever the input size (NVIDIA: 120x160, i.e. bin k of pixel (v, u) covers depth
    [k, k+1) * depth_max / num_bins on the half-resolution 160x120 image).
    """

    def __init__(self, *, block_channel: Sequence[int] = (2048, 1024, 512, 256), num_bins: int = 100,
                 output_size: Sequence[int] = (120, 160), fuse_channels: int = 16) -> None:
        super().__init__()
        if len(block_channel) != 4:
            raise ValueError(f"block_channel needs 4 widths (res5..res2), got {list(block_channel)}")
        self.num_bins = num_bins
        self.decoder = OccupancyDecoder(block_channel=block_channel)
        self.multi_feature_fuser = MultiFeatureFusion(block_channel=block_channel, fuse_channels=fuse_channels)
        self.prediction = OccupancyPrediction(
            channels=self.decoder.out_channels + self.multi_feature_fuser.out_channels,
            num_bins=num_bins, output_size=output_size)

    def forward(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """``features["res2".."res5"]`` (B, C_k, H_k, W_k), C = block_channel reversed ->
        (B, num_bins, *output_size) occupancy logits (no sigmoid)."""
        res2, res3, res4, res5 = (features[k] for k in FEATURE_KEYS)
        decoded = self.decoder(res2, res3, res4, res5)
        fused = self.multi_feature_fuser(res2, res3, res4, res5, decoded.shape[-2:])
        return self.prediction(torch.cat([decoded, fused], dim=1))
