"""NVIDIA's ``DPTHead2PixelDecoder`` (``backbone.dpt2pixeldecoder.*``): four aggregator layers -> res2..res5.

The Mask2Former pixel decoder wants a CNN-like pyramid; NVPanoptix3D builds one from VGGT tokens with the DPT
head's token path at full token width (2E = 2048): shared LayerNorm, 1x1 projection 2E -> 2E, + 0.1 x UV
position code (``uv_embedding.py``), resample (ConvTranspose k4 s4, ConvTranspose k2 s2, identity,
Conv k3 s2 p1), then a 1x1 ``unify_layers`` conv to each level's width. The levels sit at 4x, 2x, 1x and
ceil(1/2) of the patch grid, i.e. strides 3.5 / 7 / 14 / 28 pixels of the VGGT input (NVIDIA names them
4 / 8 / 16 / 32). Weight-for-weight NVIDIA's (see tests/network/parity/test_dpt2pixeldecoder.py).
"""

from __future__ import annotations

import torch
from torch import nn

from nvpanoptix3d.network.uv_embedding import add_uv_embedding

LEVEL_NAMES = ("res2", "res3", "res4", "res5")


class DPTHead2PixelDecoder(nn.Module):
    """Token maps of four aggregator layers -> {"res2", "res3", "res4", "res5"} feature maps."""

    def __init__(self, *, dim_in: int = 2048, patch_size: int = 14,
                 out_channels: tuple[int, ...] = (256, 512, 1024, 2048),
                 intermediate_layer_idx: tuple[int, ...] = (4, 11, 17, 23), pos_embed: bool = True) -> None:
        super().__init__()
        if len(out_channels) != 4 or len(intermediate_layer_idx) != 4:
            raise ValueError(f"need 4 out_channels and 4 layers, got {out_channels}, {intermediate_layer_idx}")
        self.patch_size = patch_size
        self.pos_embed = pos_embed
        self.intermediate_layer_idx = tuple(intermediate_layer_idx)
        self.out_channels = tuple(out_channels)
        d = dim_in
        self.norm = nn.LayerNorm(d)
        self.projects = nn.ModuleList(nn.Conv2d(d, d, 1) for _ in range(4))
        self.resize_layers = nn.ModuleList([nn.ConvTranspose2d(d, d, 4, stride=4),
                                            nn.ConvTranspose2d(d, d, 2, stride=2),
                                            nn.Identity(),
                                            nn.Conv2d(d, d, 3, stride=2, padding=1)])
        self.unify_layers = nn.ModuleList(nn.Conv2d(d, c, 1) for c in self.out_channels)

    def forward(self, aggregated_tokens_list: list[torch.Tensor], images: torch.Tensor,
                patch_start_idx: int) -> dict[str, torch.Tensor]:
        """Args:
            aggregated_tokens_list: aggregator outputs, each (B, S, P, dim_in); entries
                ``intermediate_layer_idx`` are read, their tokens from ``patch_start_idx`` on (row-major grid).
            images: (B, S, 3, H, W); only its shape is used.
            patch_start_idx: number of special tokens before the patches (5 in VGGT).
        Returns:
            {"res2": (B*S, out_channels[0], 4h, 4w), "res3": (.., 2h, 2w), "res4": (.., h, w),
             "res5": (.., ceil(h/2), ceil(w/2))} for the patch grid (h, w) = (H, W) // patch_size.
        """
        height, width = images.shape[-2:]
        h, w = height // self.patch_size, width // self.patch_size
        out = {}
        for i, layer in enumerate(self.intermediate_layer_idx):
            t = aggregated_tokens_list[layer][:, :, patch_start_idx:]
            t = self.norm(t.reshape(-1, t.shape[-2], t.shape[-1]))
            x = self.projects[i](t.permute(0, 2, 1).reshape(t.shape[0], t.shape[-1], h, w))
            if self.pos_embed:
                x = add_uv_embedding(x, (height, width))
            out[LEVEL_NAMES[i]] = self.unify_layers[i](self.resize_layers[i](x))
        return out
