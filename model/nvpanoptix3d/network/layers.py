"""Small reusable transformer layers: 2D rotary position embedding, attention with qk-norm, MLP, block.

Follows the VGGT paper's trunk design (Wang et al., CVPR 2025): pre-norm blocks with qk-normalisation,
2D RoPE on patch tokens and LayerScale.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def rope_2d(x: torch.Tensor, pos: torch.Tensor, freq: float = 100.0) -> torch.Tensor:
    """Rotate the first half of each head's channels by the row position and the second half by the column.

    Args:
        x: (B, heads, N, Dh) queries or keys.
        pos: (N, 2) integer (row, col) positions; a position 0 is the identity rotation (NVIDIA's VGGT puts
            its special tokens there, patches at (row + 1, col + 1)); negative positions are also left
            unrotated.
    """
    dh = x.shape[-1]
    quarter = dh // 4
    inv = 1.0 / (freq ** (torch.arange(quarter, device=x.device, dtype=torch.float32) / max(quarter, 1)))
    out = []
    for axis, chunk in enumerate(x.split(dh // 2, dim=-1)):
        p = pos[:, axis].to(torch.float32).clamp(min=0)
        ang = p[:, None] * inv[None]  # (N, quarter)
        cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)
        a, b = chunk[..., :quarter], chunk[..., quarter: 2 * quarter]
        rot = torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)
        special = (pos[:, axis] < 0)[:, None]
        out.append(torch.where(special, chunk, rot))
    return torch.cat(out, dim=-1)


class Attention(nn.Module):
    def __init__(self, *, dim: int, num_heads: int, qk_norm: bool = True, rope_freq: float = 100.0) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} must be divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.q_norm = nn.LayerNorm(dim // num_heads) if qk_norm else nn.Identity()
        self.k_norm = nn.LayerNorm(dim // num_heads) if qk_norm else nn.Identity()
        self.proj = nn.Linear(dim, dim)
        self.rope_freq = rope_freq

    def forward(self, x: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k = self.q_norm(q), self.k_norm(k)
        if pos is not None:
            q, k = rope_2d(q, pos, self.rope_freq), rope_2d(k, pos, self.rope_freq)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    def __init__(self, *, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class LayerScale(nn.Module):
    """Per-channel residual-branch scale (Touvron et al., CaiT, 2021); the key ``gamma`` matches the VGGT/DINOv2 checkpoints."""

    def __init__(self, dim: int, init_values: float) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,), float(init_values)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Block(nn.Module):
    """Pre-norm transformer block with LayerScale.

    Used with qk-norm and RoPE in the aggregator, and without either (``qk_norm=False``, ``pos=None``) in
    the DINOv2-style patch embedding and the camera head's trunk.
    """

    _version = 2  # v1 stored the LayerScale vectors as ``ls1``/``ls2``; v2 as ``ls1.gamma``/``ls2.gamma``

    def __init__(self, *, dim: int, num_heads: int, mlp_ratio: float = 4.0, init_values: float = 0.01,
                 qk_norm: bool = True, rope_freq: float = 100.0, norm_eps: float = 1e-5) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = Attention(dim=dim, num_heads=num_heads, qk_norm=qk_norm, rope_freq=rope_freq)
        self.ls1 = LayerScale(dim, init_values)
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = Mlp(dim=dim, hidden=int(dim * mlp_ratio))
        self.ls2 = LayerScale(dim, init_values)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, *args, **kwargs):
        if local_metadata.get("version", 1) < 2:  # old checkpoints keep loading
            for name in ("ls1", "ls2"):
                if prefix + name in state_dict:
                    state_dict[f"{prefix}{name}.gamma"] = state_dict.pop(prefix + name)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, *args, **kwargs)

    def forward(self, x: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x), pos))
        return x + self.ls2(self.mlp(self.norm2(x)))
