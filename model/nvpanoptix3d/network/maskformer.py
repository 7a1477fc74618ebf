"""The 2D stage of NVPanoptix3D, wired as NVIDIA's ``MaskFormerModel`` (key prefixes ``backbone.*`` and
``sem_seg_head.{pixel_decoder,predictor,occupancy_module,depth_projector}.*``).

Input pre-processing is part of the model, as in NVIDIA's code: zero-pad right/bottom to a multiple of
``size_divisibility``, bilinearly resize to ``vggt_input_width`` wide (448 in NVIDIA's code) with the height a
multiple of 14 (Python rounding), one frame per image. ``forward_raw`` returns NVIDIA's own outputs (the
parity fixture ``model_2d`` checks them); ``forward`` adds the image-frame outputs the engine, the
criterion and the 3D stage read (docs/architecture.md, "2D model output contract").
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from nvpanoptix3d.network.occupancy import MultiPlaneOccupancyHead
from nvpanoptix3d.network.pixel_decoder import MSDeformAttnPixelDecoder
from nvpanoptix3d.network.predictor import DepthAwareMaskedTransformerDecoder
from nvpanoptix3d.network.projection import DepthProjector
from nvpanoptix3d.network.vggt import VGGT

VGGT_SIZE_MULTIPLE = 14


def vggt_input_size(padded: tuple[int, int], width: int) -> tuple[int, int]:
    """(H, W) the padded image is resized to: ``width`` wide, height a multiple of 14 (Python's round)."""
    pad_h, pad_w = padded
    return int(round(pad_h * (width / pad_w) / VGGT_SIZE_MULTIPLE)) * VGGT_SIZE_MULTIPLE, width


def padded_hw(image_hw: tuple[int, int], multiple: int) -> tuple[int, int]:
    """(H, W) after zero-padding to multiples of ``multiple`` (<= 0: unchanged)."""
    if multiple <= 0:
        return int(image_hw[0]), int(image_hw[1])
    return tuple(-(-int(s) // multiple) * multiple for s in image_hw)


def pad_to_multiple(images: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad (B, C, H, W) at the right and bottom to :func:`padded_hw` (<= 0: unchanged)."""
    h, w = images.shape[-2:]
    ph, pw = padded_hw((h, w), multiple)
    return F.pad(images, (0, pw - w, 0, ph - h)) if (ph, pw) != (h, w) else images


class MaskFormerHead(nn.Module):
    """Pixel decoder, depth-aware query decoder, multi-plane occupancy head and depth projector."""

    def __init__(self, *, input_shape: dict[str, tuple[int, int]], num_classes: int = 13, conv_dim: int = 256,
                 mask_dim: int = 256, depth_dim: int = 256, enc_layers: int = 6, nheads: int = 8,
                 transformer_dim_feedforward: int = 1024, hidden_dim: int = 256, num_queries: int = 100,
                 dim_feedforward: int = 2048, dec_layers: int = 10, pre_norm: bool = False, dropout: float = 0.0,
                 norm: str = "GN", transformer_in_features: Sequence[str] = ("res3", "res4", "res5"),
                 common_stride: int = 4, depth_bins: int = 100, occupancy_size: tuple[int, int] = (120, 160),
                 occupancy_fuse_channels: int = 16) -> None:
        super().__init__()
        if not (conv_dim == hidden_dim == depth_dim):
            # NVIDIA adds the projected depth memory to image-memory-sized tensors: the widths must agree.
            raise ValueError(f"sem_seg_head.convs_dim ({conv_dim}), mask_former.hidden_dim ({hidden_dim}) and "
                             f"projection.depth_feature_dim ({depth_dim}) must be equal in NVPanoptix3D")
        self.pixel_decoder = MSDeformAttnPixelDecoder(
            input_shape=input_shape, transformer_dropout=dropout, transformer_nheads=nheads,
            transformer_dim_feedforward=transformer_dim_feedforward, transformer_enc_layers=enc_layers,
            conv_dim=conv_dim, mask_dim=mask_dim, norm=norm, transformer_in_features=tuple(transformer_in_features),
            common_stride=common_stride)
        self.predictor = DepthAwareMaskedTransformerDecoder(
            in_channels=conv_dim, num_classes=num_classes, hidden_dim=hidden_dim, num_queries=num_queries,
            nheads=nheads, dim_feedforward=dim_feedforward, dec_layers=max(dec_layers - 1, 1), pre_norm=pre_norm,
            mask_dim=mask_dim)
        block_channel = tuple(reversed([c for c, _ in input_shape.values()]))
        self.occupancy_module = MultiPlaneOccupancyHead(block_channel=block_channel, num_bins=depth_bins,
                                                        output_size=occupancy_size,
                                                        fuse_channels=occupancy_fuse_channels)
        self.depth_projector = DepthProjector(in_channels=depth_dim, out_channels=depth_dim)

    def forward(self, multi_scale_features: dict[str, torch.Tensor],
                multi_scale_depth_features: list[torch.Tensor]) -> tuple[dict, torch.Tensor]:
        """The predictor's outputs and the occupancy logits (B, bins, *occupancy_size)."""
        occupancy = self.occupancy_module(multi_scale_features)
        mask_features, _, levels = self.pixel_decoder.forward_features(multi_scale_features)
        sizes = [tuple(f.shape[-2:]) for f in levels]
        depth_features, depth_levels = self.depth_projector(multi_scale_depth_features, mask_features.shape[-2:],
                                                            sizes)
        return self.predictor(levels, depth_levels, mask_features, depth_features), occupancy


class MaskFormerModel(nn.Module):
    """images (B, 3, H, W) in [0, 1] -> 2D panoptic logits, depth, multi-plane occupancy, 3D-stage features."""

    def __init__(self, *, backbone: dict, num_classes: int = 13, conv_dim: int = 256, mask_dim: int = 256,
                 depth_dim: int = 256, enc_layers: int = 6, nheads: int = 8, transformer_dim_feedforward: int = 1024,
                 hidden_dim: int = 256, num_queries: int = 100, dim_feedforward: int = 2048, dec_layers: int = 10,
                 pre_norm: bool = False, dropout: float = 0.0, depth_bins: int = 100,
                 reduced_size: tuple[int, int] = (160, 120), norm: str = "GN", size_divisibility: int = 32,
                 transformer_in_features: Sequence[str] = ("res3", "res4", "res5"), common_stride: int = 4) -> None:
        super().__init__()
        backbone = dict(backbone)
        self.vggt_input_width = int(backbone.pop("vggt_input_width", 448))
        fuse_channels = int(backbone.pop("occupancy_fuse_channels", 16))
        self.backbone = VGGT(**backbone, dpt_features=depth_dim)
        rw, rh = reduced_size
        self.sem_seg_head = MaskFormerHead(
            input_shape=self.backbone.output_shape(), num_classes=num_classes, conv_dim=conv_dim, mask_dim=mask_dim,
            depth_dim=depth_dim, enc_layers=enc_layers, nheads=nheads,
            transformer_dim_feedforward=transformer_dim_feedforward, hidden_dim=hidden_dim, num_queries=num_queries,
            dim_feedforward=dim_feedforward, dec_layers=dec_layers, pre_norm=pre_norm, dropout=dropout, norm=norm,
            transformer_in_features=transformer_in_features, common_stride=common_stride, depth_bins=depth_bins,
            occupancy_size=(rh, rw), occupancy_fuse_channels=fuse_channels)
        self.num_classes = num_classes
        self.size_divisibility = size_divisibility
        self.reduced_size = (rw, rh)  # (W, H)

    def prepare_images(self, images: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """(B, 3, H, W) in [0, 1] -> ((B, 1, 3, H', W') VGGT input, (H_pad, W_pad))."""
        padded = pad_to_multiple(images, self.size_divisibility)
        pad_hw = (int(padded.shape[-2]), int(padded.shape[-1]))
        size = vggt_input_size(pad_hw, self.vggt_input_width)
        resized = F.interpolate(padded, size=size, mode="bilinear", align_corners=False)
        return resized.unsqueeze(1), pad_hw

    def forward_raw(self, images: torch.Tensor) -> dict:
        """NVIDIA's outputs: ``pred_logits``, ``pred_masks`` (at res2 of the VGGT input, covering the padded
        image), ``aux_outputs``, ``segm_decoder_out``, ``mask_features``, ``depth_features`` (coarsest DPT map),
        ``enc_features`` (pixel-decoder levels), ``pred_depths`` (B, 1, H', W'), ``pose_enc``,
        ``occupancy_preds``, ``orig_pad_shape``."""
        vggt_in, pad_hw = self.prepare_images(images)
        feats = self.backbone(vggt_in)
        out, occupancy = self.sem_seg_head(feats["multi_scale_features"], feats["multi_scale_depth_features"])
        out["pred_depths"] = feats["depth"]
        if "pose_enc" in feats:
            out["pose_enc"] = feats["pose_enc"]
        out["occupancy_preds"] = occupancy
        out["orig_pad_shape"] = pad_hw
        return out

    @staticmethod
    def to_image_frame(maps: torch.Tensor, pad_hw: tuple[int, int], image_hw: tuple[int, int],
                       scale: float = 1.0) -> torch.Tensor:
        """Maps covering the padded image -> the unpadded image at ``scale`` of its size: resized to the
        scaled padded size, then cropped (NVIDIA's post-processing order)."""
        ph, pw = int(pad_hw[0] * scale), int(pad_hw[1] * scale)
        h, w = int(image_hw[0] * scale), int(image_hw[1] * scale)
        if maps.shape[-2:] != (ph, pw):
            maps = F.interpolate(maps, size=(ph, pw), mode="bilinear", align_corners=False)
        return maps[..., :h, :w]

    def forward(self, images: torch.Tensor) -> dict:
        """NVIDIA's outputs plus the image-frame contract: ``pred_masks`` (B, Q, H/2, W/2) logits (and in
        ``aux_outputs``), ``pred_depth`` (B, 1, H, W) metres (and ``pred_depth_half`` at half resolution, what the 3D
        stage lifts), ``pred_mp_occ`` (B, bins, h_r, w_r) logits,
        ``query_features`` (B, Q, C); the raw mask logits stay under ``pred_masks_raw``."""
        out = self.forward_raw(images)
        image_hw = (int(images.shape[-2]), int(images.shape[-1]))
        pad_hw = out["orig_pad_shape"]
        out["pred_masks_raw"] = out["pred_masks"]
        out["pred_masks"] = self.to_image_frame(out["pred_masks"], pad_hw, image_hw, 0.5)
        out["aux_outputs"] = [dict(a, pred_masks=self.to_image_frame(a["pred_masks"], pad_hw, image_hw, 0.5))
                              for a in out.get("aux_outputs", [])]
        out["pred_depth"] = self.to_image_frame(out["pred_depths"], pad_hw, image_hw)
        out["pred_depth_half"] = self.to_image_frame(out["pred_depths"], pad_hw, image_hw, 0.5)
        out["pred_mp_occ"] = out["occupancy_preds"]
        out["query_features"] = out["segm_decoder_out"]
        if "pose_enc" in out:
            out["pred_pose_enc"] = out["pose_enc"][:, 0]
        return out
