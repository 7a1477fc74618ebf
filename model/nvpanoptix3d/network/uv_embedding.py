"""Sine-cosine code of image-plane UV coordinates, the position signal VGGT's dense heads add to feature maps.

Shared by the DPT depth head (``depth_head.py``) and the pyramid adapter (``dpt2pixeldecoder.py``): both add
``0.1 * uv_embedding(...)`` after their 1x1 token projections, the depth head once more before its last convs.

Grid (rows = map height h, cols = map width w): u runs linearly over +-(a / sqrt(a^2 + 1)) * (w - 1) / w and
v over +-(1 / sqrt(a^2 + 1)) * (h - 1) / h, where a = image width / image height (the *image's* aspect ratio,
not the map's). For C channels, channels [0, C/2) encode u and [C/2, C) encode v; each half is
[sin(p * f_k) for k < C/4] followed by [cos(p * f_k) for k < C/4] with f_k = 100^(-k / (C/4)).
The coordinates are laid out in the map's dtype, the trigonometry runs in float64 and the result is cast
back, which is what NVIDIA's numbers are made of.
"""

from __future__ import annotations

import torch


def uv_grid(rows: int, cols: int, *, aspect_ratio: float, dtype: torch.dtype = torch.float32,
            device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(u, v), each (rows, cols): aspect-preserving plane coordinates, corners inset by half a cell."""
    diag = (aspect_ratio ** 2 + 1.0) ** 0.5
    span_u = aspect_ratio / diag * (cols - 1) / cols
    span_v = 1.0 / diag * (rows - 1) / rows
    u = torch.linspace(-span_u, span_u, cols, dtype=dtype, device=device)
    v = torch.linspace(-span_v, span_v, rows, dtype=dtype, device=device)
    return u[None, :].expand(rows, cols), v[:, None].expand(rows, cols)


def _sincos(pos: torch.Tensor, channels: int) -> torch.Tensor:
    """(..., channels) = [sin(pos * f_k), cos(pos * f_k)], k < channels / 2, f_k = 100^(-k / (channels / 2))."""
    half = channels // 2
    k = torch.arange(half, dtype=torch.float64, device=pos.device)
    freq = 1.0 / 100.0 ** (k / (channels / 2.0))
    angle = pos.to(torch.float64)[..., None] * freq
    return torch.cat([torch.sin(angle), torch.cos(angle)], dim=-1)


def uv_embedding(channels: int, rows: int, cols: int, *, aspect_ratio: float, dtype: torch.dtype = torch.float32,
                 device: torch.device | str | None = None) -> torch.Tensor:
    """(channels, rows, cols) position code; ``channels`` must be a multiple of 4 (two sin/cos halves)."""
    if channels % 4:
        raise ValueError(f"uv_embedding needs a channel count divisible by 4, got {channels}")
    u, v = uv_grid(rows, cols, aspect_ratio=aspect_ratio, dtype=dtype, device=device)
    code = torch.cat([_sincos(u, channels // 2), _sincos(v, channels // 2)], dim=-1)
    return code.to(torch.float32).to(dtype).permute(2, 0, 1)


def add_uv_embedding(x: torch.Tensor, image_hw: tuple[int, int], ratio: float = 0.1) -> torch.Tensor:
    """x (N, C, h, w) + ratio * code of its own (h, w) grid, aspect ratio from the image size (H, W)."""
    height, width = image_hw
    code = uv_embedding(x.shape[1], x.shape[-2], x.shape[-1], aspect_ratio=width / height, dtype=x.dtype,
                        device=x.device)
    return x + ratio * code[None]
