"""The 2D stage of NVPanoptix3D: trunk, pixel decoder, query decoder, depth and multi-plane occupancy heads."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nvpanoptix3d.network.backbone import VGGTBackbone
from nvpanoptix3d.network.heads import DepthHead, MultiPlaneOccupancyHead
from nvpanoptix3d.network.pixel_decoder import PixelDecoder
from nvpanoptix3d.network.transformer_decoder import MaskedTransformerDecoder


class SemSegHead(nn.Module):
    def __init__(self, *, in_channels: dict[str, int], num_classes: int, conv_dim: int, mask_dim: int, depth_dim: int,
                 enc_layers: int, nheads: int, transformer_dim_feedforward: int, hidden_dim: int, num_queries: int,
                 dim_feedforward: int, dec_layers: int, pre_norm: bool, dropout: float, depth_bins: int, norm: str,
                 depth_in_channels: int | None = None) -> None:
        super().__init__()
        self.pixel_decoder = PixelDecoder(in_channels=in_channels, conv_dim=conv_dim, mask_dim=mask_dim,
                                          enc_layers=enc_layers, nheads=nheads,
                                          dim_feedforward=transformer_dim_feedforward, norm=norm)
        self.predictor = MaskedTransformerDecoder(in_channels=conv_dim, num_classes=num_classes, hidden_dim=hidden_dim,
                                                  num_queries=num_queries, nheads=nheads,
                                                  dim_feedforward=dim_feedforward, dec_layers=dec_layers,
                                                  pre_norm=pre_norm, mask_dim=mask_dim, dropout=dropout)
        # With the backbone's DPT head (``depth_in_channels`` set), depth comes from the backbone and the projector
        # reads its fused features; otherwise a small head predicts depth from the stride-4 trunk features.
        self.depth_projector = nn.Sequential(nn.Conv2d(depth_in_channels or in_channels["res2"], depth_dim, 3, padding=1),
                                             nn.ReLU())
        self.depth_head = DepthHead(in_channels=depth_dim) if depth_in_channels is None else None
        self.occupancy_module = MultiPlaneOccupancyHead(in_channels=depth_dim + mask_dim, bins=depth_bins)


class PanopticModel2D(nn.Module):
    """images (B, 3, H, W) in [0, 1] -> the 2D output dict of docs/architecture.md."""

    def __init__(self, *, backbone: dict, num_classes: int = 13, conv_dim: int = 256, mask_dim: int = 256,
                 depth_dim: int = 256, enc_layers: int = 6, nheads: int = 8, transformer_dim_feedforward: int = 1024,
                 hidden_dim: int = 256, num_queries: int = 100, dim_feedforward: int = 2048, dec_layers: int = 10,
                 pre_norm: bool = False, dropout: float = 0.0, depth_bins: int = 100,
                 reduced_size: tuple[int, int] = (160, 120), norm: str = "GN") -> None:
        super().__init__()
        self.backbone = VGGTBackbone(**backbone)
        in_channels = {k: c for k, (c, _stride) in self.backbone.output_shape().items()}
        self.sem_seg_head = SemSegHead(in_channels=in_channels, num_classes=num_classes, conv_dim=conv_dim,
                                       mask_dim=mask_dim, depth_dim=depth_dim, enc_layers=enc_layers, nheads=nheads,
                                       transformer_dim_feedforward=transformer_dim_feedforward, hidden_dim=hidden_dim,
                                       num_queries=num_queries, dim_feedforward=dim_feedforward,
                                       dec_layers=max(dec_layers - 1, 1), pre_norm=pre_norm, dropout=dropout,
                                       depth_bins=depth_bins, norm=norm,
                                       depth_in_channels=None if self.backbone.depth_head is None else self.backbone.dpt_features)
        self.num_classes = num_classes
        self.reduced_size = tuple(reduced_size)  # (W, H)

    def forward(self, images: torch.Tensor) -> dict:
        feats = self.backbone(images)
        head = self.sem_seg_head
        mask_features, multi = head.pixel_decoder(feats)
        out = head.predictor(multi, mask_features)
        if head.depth_head is None:  # the backbone's DPT head: its 4x-grid fused map, brought to stride 4
            quarter = feats["res2"].shape[-2:]
            depth_features = head.depth_projector(F.interpolate(feats["depth_features"][1], size=quarter,
                                                                mode="bilinear", align_corners=False))
            out["pred_depth"] = feats["depth"]
        else:
            depth_features = head.depth_projector(feats["res2"])
            out["pred_depth"] = head.depth_head(depth_features, images.shape[-2:])
        if "pose_enc" in feats:
            out["pred_pose_enc"] = feats["pose_enc"]
        rw, rh = self.reduced_size
        out["pred_mp_occ"] = head.occupancy_module(torch.cat([depth_features, mask_features], 1), (rh, rw))
        out["mask_features"] = mask_features
        out["depth_features"] = depth_features
        return out
