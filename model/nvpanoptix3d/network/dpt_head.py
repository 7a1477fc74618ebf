"""DPT depth head of VGGT: four aggregator layers -> fused multi-scale features -> metric depth and confidence.

Dense Prediction Transformer decoder (Ranftl et al., "Vision Transformers for Dense Prediction", ICCV 2021)
as configured in VGGT-1B and used by NVPanoptix3D (model_facts.md, "Backbone: VGGT"): input width 2048,
fused width 256, per-layer widths [256, 512, 1024, 1024] for aggregator layers [4, 11, 17, 23], output 2
channels (depth = exp, confidence = 1 + exp). Besides depth it returns the four fused maps (256 channels at
8, 4, 2 and 1 times the patch grid), which NVPanoptix3D feeds to its depth projector.

Exact: the sizes above and the resampling per layer (transposed conv x4, transposed conv x2, identity,
3x3 conv stride 2), 3x3 bias-free "layerN_rn" convolutions to 256 channels, residual fusion blocks (two
3x3 convs each; the coarsest block has no skip input, hence one unit fewer), output convs 256->128 (3x3) and
128->32->2. Key names follow the public VGGT checkpoint layout (``norm``, ``projects.N``,
``resize_layers.N``, ``scratch.layerN_rn``, ``scratch.refinenetN.{resConfUnit1,resConfUnit2,out_conv}``,
``scratch.output_conv1``, ``scratch.output_conv2.{0,2}``). Approximate: the parameter-free UV position
embedding (a 2D sine code scaled by 0.1, added after projection and before the last output convs) and a
clamp of the depth logit at 10 (exp would overflow in fp16 long before any indoor depth).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def uv_sine_embedding(c: int, h: int, w: int, *, device, dtype) -> torch.Tensor:
    """(1, c, h, w) sine/cosine code of aspect-preserving UV coordinates in [-1, 1] (zero-padded channels)."""
    aspect = w / h
    diag = (aspect ** 2 + 1) ** 0.5
    u = torch.linspace(-aspect / diag, aspect / diag, w, device=device)
    v = torch.linspace(-1 / diag, 1 / diag, h, device=device)
    n = max(c // 4, 1)
    freq = 100.0 ** (-torch.arange(n, device=device, dtype=torch.float32) / n)
    gv, gu = torch.meshgrid(v, u, indexing="ij")
    code = [f(g[..., None] * freq * 100.0) for g in (gu, gv) for f in (torch.sin, torch.cos)]
    emb = torch.cat(code, dim=-1)[..., :c]
    if emb.shape[-1] < c:
        emb = F.pad(emb, (0, c - emb.shape[-1]))
    return emb.permute(2, 0, 1)[None].to(dtype)


class _ResidualConvUnit(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class _FusionBlock(nn.Module):
    """Adds the (refined) skip map, refines, upsamples to ``size`` (default x2), mixes with a 1x1 conv."""

    def __init__(self, c: int, *, has_skip: bool = True) -> None:
        super().__init__()
        self.resConfUnit1 = _ResidualConvUnit(c) if has_skip else None
        self.resConfUnit2 = _ResidualConvUnit(c)
        self.out_conv = nn.Conv2d(c, c, 1)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None, size=None) -> torch.Tensor:
        if skip is not None:
            x = x + self.resConfUnit1(skip)
        x = self.resConfUnit2(x)
        x = F.interpolate(x, size=size, scale_factor=None if size is not None else 2, mode="bilinear",
                          align_corners=True)
        return self.out_conv(x)


class _Scratch(nn.Module):
    def __init__(self, out_channels: tuple[int, ...], features: int, output_dim: int) -> None:
        super().__init__()
        for i, c in enumerate(out_channels, start=1):
            setattr(self, f"layer{i}_rn", nn.Conv2d(c, features, 3, padding=1, bias=False))
        self.refinenet1 = _FusionBlock(features)
        self.refinenet2 = _FusionBlock(features)
        self.refinenet3 = _FusionBlock(features)
        self.refinenet4 = _FusionBlock(features, has_skip=False)
        self.output_conv1 = nn.Conv2d(features, features // 2, 3, padding=1)
        self.output_conv2 = nn.Sequential(nn.Conv2d(features // 2, 32, 3, padding=1), nn.ReLU(),
                                          nn.Conv2d(32, output_dim, 1))


class DPTHead(nn.Module):
    def __init__(self, *, dim_in: int = 2048, patch_size: int = 14, features: int = 256,
                 out_channels: tuple[int, ...] = (256, 512, 1024, 1024), output_dim: int = 2) -> None:
        super().__init__()
        if len(out_channels) != 4:
            raise ValueError(f"DPTHead needs 4 out_channels, got {out_channels}")
        self.patch_size = patch_size
        self.norm = nn.LayerNorm(dim_in)
        self.projects = nn.ModuleList(nn.Conv2d(dim_in, c, 1) for c in out_channels)
        c = out_channels
        self.resize_layers = nn.ModuleList([nn.ConvTranspose2d(c[0], c[0], 4, stride=4),
                                            nn.ConvTranspose2d(c[1], c[1], 2, stride=2), nn.Identity(),
                                            nn.Conv2d(c[3], c[3], 3, stride=2, padding=1)])
        self.scratch = _Scratch(tuple(out_channels), features, output_dim)

    def forward(self, tokens: list[torch.Tensor], grid: tuple[int, int],
                patch_start_idx: int) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Args:
            tokens: four (B, N, dim_in) aggregator token tensors (special tokens first).
            grid: (h, w) patch grid.
            patch_start_idx: index of the first patch token.
        Returns:
            depth (B, 1, h*p, w*p) in metres (> 0), confidence (B, 1, h*p, w*p) (> 1), and the fused
            features [8x, 4x, 2x, 1x the patch grid], 256 channels each.
        """
        h, w = grid
        maps = []
        for i, t in enumerate(tokens):
            x = self.norm(t[:, patch_start_idx:]).transpose(1, 2).reshape(t.shape[0], -1, h, w)
            x = self.projects[i](x)
            x = x + 0.1 * uv_sine_embedding(x.shape[1], h, w, device=x.device, dtype=x.dtype)
            maps.append(self.resize_layers[i](x))
        s = self.scratch
        l1, l2, l3, l4 = (getattr(s, f"layer{i + 1}_rn")(m) for i, m in enumerate(maps))
        p4 = s.refinenet4(l4, size=l3.shape[-2:])
        p3 = s.refinenet3(p4, l3, size=l2.shape[-2:])
        p2 = s.refinenet2(p3, l2, size=l1.shape[-2:])
        p1 = s.refinenet1(p2, l1)
        out = F.interpolate(s.output_conv1(p1), size=(h * self.patch_size, w * self.patch_size), mode="bilinear",
                            align_corners=True)
        out = out + 0.1 * uv_sine_embedding(out.shape[1], *out.shape[-2:], device=out.device, dtype=out.dtype)
        out = s.output_conv2(out)
        depth = out[:, :1].clamp(max=10.0).exp()
        conf = 1 + out[:, 1:2].clamp(max=10.0).exp()
        return depth, conf, [p1, p2, p3, p4]


def dpt_head_params(*, dim_in: int = 2048, features: int = 256,
                    out_channels: tuple[int, ...] = (256, 512, 1024, 1024), output_dim: int = 2) -> int:
    """Parameter count of ``DPTHead`` from its geometry (for tests and docs)."""
    c, f = out_channels, features
    rcu = 2 * (9 * f * f + f)
    return (2 * dim_in + sum(dim_in * k + k for k in c)
            + (16 * c[0] * c[0] + c[0]) + (4 * c[1] * c[1] + c[1]) + (9 * c[3] * c[3] + c[3])
            + sum(9 * k * f for k in c) + 3 * (2 * rcu + f * f + f) + (rcu + f * f + f)
            + (9 * f * (f // 2) + f // 2) + (9 * (f // 2) * 32 + 32) + (32 * output_dim + output_dim))
