"""The VGGT backbone of NVPanoptix3D (``backbone.*``): aggregator, camera head, DPT depth head and NVIDIA's
``dpt2pixeldecoder`` pyramid adapter, wired as NVIDIA's ``VGGT`` module wires them.

One frame (S = 1) per image. The aggregator returns every layer's tokens; the camera head reads the last
one, the depth head and the pyramid adapter read ``intermediate_layer_idx``. NVIDIA freezes the aggregator
and the camera head and runs them without gradients (``freeze_aggregator``); a small preset trained from
scratch on a CPU keeps the aggregator trainable. The camera head is always frozen: no loss reaches it.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from nvpanoptix3d.network.aggregator import Aggregator
from nvpanoptix3d.network.camera_head import CameraHead
from nvpanoptix3d.network.depth_head import DPTHead
from nvpanoptix3d.network.dpt2pixeldecoder import DPTHead2PixelDecoder

FEATURE_NAMES = ("res2", "res3", "res4", "res5")
FEATURE_STRIDES = (4, 8, 16, 32)  # NVIDIA's nominal strides (really 3.5/7/14/28 px of the VGGT input)


class VGGT(nn.Module):
    def __init__(self, *, img_size: int = 518, patch_size: int = 14, embed_dim: int = 1024, depth: int = 24,
                 num_heads: int = 16, num_register_tokens: int = 4, dino_embed_dim: int | None = None,
                 dino_depth: int = 24, dino_num_heads: int = 16, enable_camera: bool = True,
                 camera_trunk_depth: int = 4, camera_num_heads: int = 16, dpt_features: int = 256,
                 dpt_out_channels: Sequence[int] = (256, 512, 1024, 1024),
                 intermediate_layer_idx: Sequence[int] = (4, 11, 17, 23),
                 num_inter_features: Sequence[int] = (256, 512, 1024, 2048), freeze_aggregator: bool = True,
                 activation_checkpoint: bool = False) -> None:
        super().__init__()
        layers = tuple(int(i) for i in intermediate_layer_idx)
        if len(layers) != 4 or max(layers) >= depth or min(layers) < 0:
            raise ValueError(f"intermediate_layer_idx {list(layers)} must name 4 layers below depth {depth}")
        self.aggregator = Aggregator(img_size=img_size, patch_size=patch_size, embed_dim=embed_dim, depth=depth,
                                     num_heads=num_heads, num_register_tokens=num_register_tokens,
                                     dino_embed_dim=dino_embed_dim or embed_dim, dino_depth=dino_depth,
                                     dino_num_heads=dino_num_heads, activation_checkpoint=activation_checkpoint)
        self.camera_head = CameraHead(dim_in=2 * embed_dim, trunk_depth=camera_trunk_depth,
                                      num_heads=camera_num_heads) if enable_camera else None
        if self.camera_head is not None:
            self.camera_head.requires_grad_(False)
        self.depth_head = DPTHead(dim_in=2 * embed_dim, patch_size=patch_size, output_dim=2, activation="exp",
                                  conf_activation="expp1", features=dpt_features,
                                  out_channels=tuple(dpt_out_channels), intermediate_layer_idx=layers)
        self.dpt2pixeldecoder = DPTHead2PixelDecoder(dim_in=2 * embed_dim, patch_size=patch_size,
                                                     out_channels=tuple(num_inter_features),
                                                     intermediate_layer_idx=layers)
        self.freeze_aggregator = freeze_aggregator
        if freeze_aggregator:
            self.aggregator.requires_grad_(False)
        self.patch_size = patch_size
        self.depth = depth
        self.intermediate_layer_idx = layers
        self.num_inter_features = tuple(int(c) for c in num_inter_features)
        self.dpt_features = dpt_features

    def output_shape(self) -> dict[str, tuple[int, int]]:
        """Feature name -> (channels, nominal stride), as the pixel decoder reads it."""
        return {n: (c, s) for n, c, s in zip(FEATURE_NAMES, self.num_inter_features, FEATURE_STRIDES)}

    def forward(self, images: torch.Tensor) -> dict:
        """images (B, S, 3, H, W) in [0, 1], H and W multiples of the patch size -> ``multi_scale_features``
        {res2..res5}, ``depth`` (B, S, H, W) metres, ``depth_conf`` (B, S, H, W), ``multi_scale_depth_features``
        (four (B*S, dpt_features, ...) maps, finest first) and, with the camera head, ``pose_enc`` (B, S, 9)."""
        last = self.depth - 1 if self.camera_head is not None else max(self.intermediate_layer_idx)
        if self.freeze_aggregator:
            with torch.no_grad():
                tokens, start = self.aggregator(images, last_layer=last)
        else:
            tokens, start = self.aggregator(images, last_layer=last)
        out: dict = {}
        if self.camera_head is not None:
            with torch.no_grad():
                out["pose_enc"] = self.camera_head(tokens)[-1]
        out["multi_scale_features"] = self.dpt2pixeldecoder(tokens, images, start)
        depth, conf, depth_feats = self.depth_head(tokens, images, start, is_depth=True)
        out["depth"] = depth[..., 0]
        out["depth_conf"] = conf
        out["multi_scale_depth_features"] = depth_feats
        return out
