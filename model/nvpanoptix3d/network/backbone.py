"""VGGT-style trunk: patch embedding and an aggregator that alternates frame and global attention.

VGGT (Wang et al., CVPR 2025) processes S frames; frame attention mixes tokens within a frame, global
attention across all frames. With one image (S = 1) global attention spans the same tokens as frame
attention, with its own weights, so the trunk degrades gracefully to a 2x-deep ViT. Intermediate token
maps of four layers become a multi-scale pyramid (strides 4, 8, 16, 32) for the pixel decoder, as the
NVPanoptix3D adapter ``dpt2pixeldecoder`` does. Parameter names follow the official layout
(``aggregator.patch_embed``, ``aggregator.frame_blocks.N``, ``aggregator.global_blocks.N``,
``aggregator.camera_token``, ``aggregator.register_token``, ``camera_head``, ``depth_head``).

The ``full`` preset adds the published VGGT-1B parts around the aggregator: the DINOv2 ViT-L/14 patch
embedding with registers (``patch_embed.py``), the camera head (``camera_head.py``, frozen in NVIDIA's
recipe, output passed through) and the DPT depth head (``dpt_head.py``), which then predicts the depth and
supplies the depth features. ``tiny`` keeps a convolutional patch embedding and no VGGT heads.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from nvpanoptix3d.network.camera_head import CameraHead
from nvpanoptix3d.network.dpt_head import DPTHead, uv_sine_embedding
from nvpanoptix3d.network.layers import Block
from nvpanoptix3d.network.patch_embed import PatchEmbedKind, build_patch_embed

_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


class Aggregator(nn.Module):
    def __init__(self, *, patch_size: int = 14, embed_dim: int = 1024, depth: int = 24, num_heads: int = 16,
                 mlp_ratio: float = 4.0, num_register_tokens: int = 4, rope_freq: float = 100.0,
                 init_values: float = 0.01, activation_checkpoint: bool = False, patch_embed: PatchEmbedKind = "conv",
                 patch_embed_options: dict | None = None) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.patch_embed = build_patch_embed(patch_embed, patch_size=patch_size, embed_dim=embed_dim,
                                             overrides=patch_embed_options)
        self.camera_token = nn.Parameter(torch.randn(1, 2, 1, embed_dim) * 0.02)
        self.register_token = nn.Parameter(torch.randn(1, 2, num_register_tokens, embed_dim) * 0.02)
        kw = dict(dim=embed_dim, num_heads=num_heads, mlp_ratio=mlp_ratio, init_values=init_values,
                  rope_freq=rope_freq)
        self.frame_blocks = nn.ModuleList(Block(**kw) for _ in range(depth))
        self.global_blocks = nn.ModuleList(Block(**kw) for _ in range(depth))
        self.patch_start_idx = 1 + num_register_tokens
        self.activation_checkpoint = activation_checkpoint
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)

    def _run(self, block: nn.Module, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        if self.activation_checkpoint and self.training:
            return checkpoint(block, x, pos, use_reentrant=False)
        return block(x, pos)

    def forward(self, images: torch.Tensor, layers: tuple[int, ...]) -> tuple[list[torch.Tensor], tuple[int, int]]:
        """Args:
            images: (B, 3, H, W) in [0, 1], H and W multiples of the patch size.
            layers: indices of the layers whose tokens are returned.
        Returns:
            per requested layer (in ``layers`` order) the (B, N, 2*D) tokens (frame || global; camera token,
            registers, then the h*w patch tokens from ``patch_start_idx``), and (h, w).
        """
        b = images.shape[0]
        x = self.patch_embed((images - self.mean) / self.std)
        h, w = x.shape[-2:]
        tokens = x.flatten(2).transpose(1, 2)
        special = torch.cat([self.camera_token[:, 0], self.register_token[:, 0]], dim=1).expand(b, -1, -1)
        x = torch.cat([special, tokens], dim=1)
        rows = torch.arange(h, device=images.device).repeat_interleave(w)
        cols = torch.arange(w, device=images.device).repeat(h)
        pos = torch.cat([torch.full((self.patch_start_idx, 2), -1, device=images.device, dtype=torch.long),
                         torch.stack([rows, cols], dim=1)], dim=0)
        wanted, kept = set(layers), {}
        for i, (fb, gb) in enumerate(zip(self.frame_blocks, self.global_blocks)):
            frame = self._run(fb, x, pos)
            x = self._run(gb, frame, pos)  # S = 1: the global sequence is the frame's own tokens
            if i in wanted:
                kept[i] = torch.cat([frame, x], dim=-1)
            if len(kept) == len(wanted):
                break  # later blocks feed nothing that was asked for
        return [kept[i] for i in layers], (h, w)

    def token_maps(self, tokens: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """(B, N, C) tokens -> (B, C, h, w) patch-token map."""
        return tokens[:, self.patch_start_idx:].transpose(1, 2).reshape(tokens.shape[0], -1, *grid)


class DPTPyramidAdapter(nn.Module):
    """NVIDIA's ``dpt2pixeldecoder`` at its published size: four token maps -> res2..res5.

    Per level (model_facts.md, "dpt2pixeldecoder"): LayerNorm(2D) -> patch grid -> 1x1 conv 2D->2D -> + 0.1 x UV
    position code -> resample (transposed conv x4, transposed conv x2, identity, 3x3 conv stride 2, all at 2D
    channels) -> 1x1 conv to the level's width. Exact in sizes; approximate: one shared LayerNorm and the
    submodule names (``norm``, ``projects.N``, ``resize_layers.N``, ``out_projects.N``), which model_facts.md
    does not give, and the parameter-free UV code (see ``dpt_head.py``).
    """

    def __init__(self, *, dim_in: int, out_channels: tuple[int, ...]) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim_in)
        self.projects = nn.ModuleList(nn.Conv2d(dim_in, dim_in, 1) for _ in out_channels)
        self.resize_layers = nn.ModuleList([nn.ConvTranspose2d(dim_in, dim_in, 4, stride=4),
                                            nn.ConvTranspose2d(dim_in, dim_in, 2, stride=2), nn.Identity(),
                                            nn.Conv2d(dim_in, dim_in, 3, stride=2, padding=1)])
        self.out_projects = nn.ModuleList(nn.Conv2d(dim_in, c, 1) for c in out_channels)

    def forward(self, maps: list[torch.Tensor]) -> list[torch.Tensor]:
        """Four (B, 2D, h, w) token maps -> [(B, C2, 4h, 4w), (B, C3, 2h, 2w), (B, C4, h, w), (B, C5, h/2, w/2)]."""
        out = []
        for i, m in enumerate(maps):
            x = self.projects[i](self.norm(m.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))
            x = x + 0.1 * uv_sine_embedding(x.shape[1], *x.shape[-2:], device=x.device, dtype=x.dtype)
            out.append(self.out_projects[i](self.resize_layers[i](x)))
        return out


def dpt_pyramid_params(*, dim_in: int = 2048, out_channels: tuple[int, ...] = (256, 512, 1024, 2048)) -> int:
    """Parameter count of ``DPTPyramidAdapter`` from its geometry (for tests and docs)."""
    d = dim_in
    return (2 * d + 4 * (d * d + d) + (16 * d * d + d) + (4 * d * d + d) + (9 * d * d + d)
            + sum(d * c + c for c in out_channels))


class VGGTBackbone(nn.Module):
    """Aggregator + a pyramid adapter: four token maps -> res2..res5 at strides 4, 8, 16, 32; optionally the
    VGGT camera head (``pose_enc``) and DPT depth head (``depth``, ``depth_conf``, ``depth_features``)."""

    def __init__(self, *, patch_size: int, embed_dim: int, depth: int, num_heads: int, out_channels: tuple[int, ...],
                 feature_layers: tuple[int, ...], num_register_tokens: int = 4, activation_checkpoint: bool = False,
                 patch_embed: PatchEmbedKind = "conv", patch_embed_options: dict | None = None,
                 camera_head: bool = False, depth_head: bool = False, dpt_features: int = 256,
                 dpt_out_channels: tuple[int, ...] = (256, 512, 1024, 1024),
                 dpt_layers: tuple[int, ...] | None = None, pyramid: Literal["linear", "dpt"] = "linear") -> None:
        super().__init__()
        if len(feature_layers) != 4 or max(feature_layers) >= depth:
            raise ValueError(f"feature_layers {feature_layers} must name 4 layers below depth {depth}")
        dpt_layers = tuple(dpt_layers or feature_layers)
        if depth_head and (len(dpt_layers) != 4 or max(dpt_layers) >= depth):
            raise ValueError(f"dpt_layers {dpt_layers} must name 4 layers below depth {depth}")
        self.aggregator = Aggregator(patch_size=patch_size, embed_dim=embed_dim, depth=depth, num_heads=num_heads,
                                     num_register_tokens=num_register_tokens,
                                     activation_checkpoint=activation_checkpoint, patch_embed=patch_embed,
                                     patch_embed_options=patch_embed_options)
        self.camera_head = CameraHead(dim_in=2 * embed_dim, num_heads=num_heads) if camera_head else None
        if self.camera_head is not None:
            # Frozen as in NVIDIA's recipe: no loss reaches it, and DDP without find_unused_parameters
            # (train.activation_checkpoint) would fail on parameters that never receive a gradient.
            self.camera_head.requires_grad_(False)
        self.depth_head = DPTHead(dim_in=2 * embed_dim, patch_size=patch_size, features=dpt_features,
                                  out_channels=tuple(dpt_out_channels)) if depth_head else None
        self.feature_layers = tuple(feature_layers)
        self.dpt_layers = dpt_layers
        self.depth = depth
        self.patch_size = patch_size
        self.out_channels = tuple(out_channels)
        self.dpt_features = dpt_features
        if pyramid == "dpt":
            self.dpt2pixeldecoder = DPTPyramidAdapter(dim_in=2 * embed_dim, out_channels=self.out_channels)
        elif pyramid == "linear":  # a light per-level LayerNorm + Linear (tiny)
            self.dpt2pixeldecoder = nn.ModuleList(
                nn.Sequential(nn.LayerNorm(2 * embed_dim), nn.Linear(2 * embed_dim, c)) for c in out_channels)
        else:
            raise ValueError(f"unknown pyramid `{pyramid}`; choose one of dpt, linear")

    def output_shape(self) -> dict[str, tuple[int, int]]:
        return {f"res{i + 2}": (c, 2 ** (i + 2)) for i, c in enumerate(self.out_channels)}

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """images (B, 3, H, W) in [0, 1] -> {"res2": (B, C2, H/4, W/4), ..., "res5": (B, C5, H/32, W/32)} plus,
        with the VGGT heads, ``pose_enc`` (B, 9), ``depth`` and ``depth_conf`` (B, 1, H, W) and
        ``depth_features`` (four (B, dpt_features, ...) maps, finest first)."""
        hgt, wid = images.shape[-2:]
        p = self.patch_size
        ph, pw = (hgt + p - 1) // p * p, (wid + p - 1) // p * p
        x = F.interpolate(images, size=(ph, pw), mode="bilinear", align_corners=False) if (ph, pw) != (hgt, wid) else images
        layers = list(self.feature_layers)
        if self.depth_head is not None:
            layers += [i for i in self.dpt_layers if i not in layers]
        if self.camera_head is not None and self.depth - 1 not in layers:
            layers.append(self.depth - 1)
        tokens, grid = self.aggregator(x, tuple(layers))
        by_layer = dict(zip(layers, tokens))
        maps = [self.aggregator.token_maps(by_layer[layer], grid) for layer in self.feature_layers]
        if isinstance(self.dpt2pixeldecoder, DPTPyramidAdapter):
            maps = self.dpt2pixeldecoder(maps)
        else:
            maps = [proj(m.permute(0, 2, 3, 1)).permute(0, 3, 1, 2) for m, proj in zip(maps, self.dpt2pixeldecoder)]
        feats = {}
        for i, m in enumerate(maps):
            stride = 2 ** (i + 2)
            feats[f"res{i + 2}"] = F.interpolate(m, size=(max(1, hgt // stride), max(1, wid // stride)),
                                                 mode="bilinear", align_corners=False)
        if self.camera_head is not None:
            with torch.no_grad():
                feats["pose_enc"] = self.camera_head([by_layer[self.depth - 1].unsqueeze(1)])[-1][:, 0]  # S = 1
        if self.depth_head is not None:
            depth, conf, dfeats = self.depth_head([by_layer[i] for i in self.dpt_layers], grid,
                                                  self.aggregator.patch_start_idx)
            size = (hgt, wid)
            feats["depth"] = F.interpolate(depth, size=size, mode="bilinear", align_corners=False) if depth.shape[-2:] != size else depth
            feats["depth_conf"] = F.interpolate(conf, size=size, mode="bilinear", align_corners=False) if conf.shape[-2:] != size else conf
            feats["depth_features"] = dfeats
        return feats
