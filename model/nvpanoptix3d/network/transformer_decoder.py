"""Mask2Former-style query decoder (Cheng et al., CVPR 2022) with masked cross-attention.

Each layer attends from the queries to one image level (coarse to fine, round robin), restricted to the
pixels the previous layer's mask predicts as foreground, then self-attention and a feed-forward block.
Every layer emits class logits and mask logits (deep supervision).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nvpanoptix3d.network.pixel_decoder import sine_pos_2d


class MLP(nn.Module):
    def __init__(self, *, dims: list[int]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x


class DecoderLayer(nn.Module):
    def __init__(self, *, dim: int, nheads: int, dim_feedforward: int, dropout: float, pre_norm: bool) -> None:
        super().__init__()
        self.cross = nn.MultiheadAttention(dim, nheads, dropout=dropout, batch_first=True)
        self.self_attn = nn.MultiheadAttention(dim, nheads, dropout=dropout, batch_first=True)
        self.ffn = nn.Sequential(nn.Linear(dim, dim_feedforward), nn.ReLU(), nn.Linear(dim_feedforward, dim))
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(3))
        self.pre_norm = pre_norm

    def _sub(self, i: int, x: torch.Tensor, fn) -> torch.Tensor:
        if self.pre_norm:
            return x + fn(self.norms[i](x))
        return self.norms[i](x + fn(x))

    def forward(self, q: torch.Tensor, qpos: torch.Tensor, mem: torch.Tensor, mpos: torch.Tensor,
                attn_mask: torch.Tensor | None) -> torch.Tensor:
        q = self._sub(0, q, lambda t: self.cross(t + qpos, mem + mpos, mem, attn_mask=attn_mask, need_weights=False)[0])
        q = self._sub(1, q, lambda t: self.self_attn(t + qpos, t + qpos, t, need_weights=False)[0])
        return self._sub(2, q, self.ffn)


class MaskedTransformerDecoder(nn.Module):
    def __init__(self, *, in_channels: int, num_classes: int, hidden_dim: int = 256, num_queries: int = 100,
                 nheads: int = 8, dim_feedforward: int = 2048, dec_layers: int = 10, pre_norm: bool = False,
                 mask_dim: int = 256, dropout: float = 0.0) -> None:
        super().__init__()
        self.num_heads = nheads
        self.query_feat = nn.Embedding(num_queries, hidden_dim)
        self.query_embed = nn.Embedding(num_queries, hidden_dim)
        self.level_embed = nn.Embedding(3, hidden_dim)
        self.input_proj = nn.ModuleList(
            nn.Conv2d(in_channels, hidden_dim, 1) if in_channels != hidden_dim else nn.Identity() for _ in range(3))
        self.layers = nn.ModuleList(DecoderLayer(dim=hidden_dim, nheads=nheads, dim_feedforward=dim_feedforward,
                                                 dropout=dropout, pre_norm=pre_norm) for _ in range(dec_layers))
        self.decoder_norm = nn.LayerNorm(hidden_dim)
        self.class_embed = nn.Linear(hidden_dim, num_classes + 1)
        self.mask_embed = MLP(dims=[hidden_dim, hidden_dim, hidden_dim, mask_dim])

    def _predict(self, q: torch.Tensor, mask_features: torch.Tensor, target_hw: tuple[int, int] | None):
        out = self.decoder_norm(q)
        logits = self.class_embed(out)
        masks = torch.einsum("bqc,bchw->bqhw", self.mask_embed(out), mask_features)
        attn = None
        if target_hw is not None:
            small = F.interpolate(masks, size=target_hw, mode="bilinear", align_corners=False)
            blocked = small.sigmoid().flatten(2) < 0.5  # (B, Q, HW)
            blocked = blocked & ~blocked.all(dim=-1, keepdim=True)  # never block a query from every pixel
            attn = blocked.repeat_interleave(self.num_heads, dim=0)
            attn = torch.zeros_like(attn, dtype=q.dtype).masked_fill(attn, float("-inf"))
        return logits, masks, attn, out

    def forward(self, multi_scale: list[torch.Tensor], mask_features: torch.Tensor) -> dict[str, torch.Tensor | list]:
        b = mask_features.shape[0]
        mems, pos, sizes = [], [], []
        for i, feat in enumerate(multi_scale[:3]):
            f = self.input_proj[i](feat)
            sizes.append(f.shape[-2:])
            mems.append(f.flatten(2).transpose(1, 2) + self.level_embed.weight[i])
            pos.append(sine_pos_2d(*f.shape[-2:], f.shape[1], f.device)[None].expand(b, -1, -1))
        q = self.query_feat.weight[None].expand(b, -1, -1)
        qpos = self.query_embed.weight[None].expand(b, -1, -1)
        logits, masks, attn, _ = self._predict(q, mask_features, sizes[0])
        aux = []
        for i, layer in enumerate(self.layers):
            lvl = i % 3
            aux.append({"pred_logits": logits, "pred_masks": masks})
            q = layer(q, qpos, mems[lvl], pos[lvl], attn)
            logits, masks, attn, normed = self._predict(q, mask_features, sizes[(i + 1) % 3])
        return {"pred_logits": logits, "pred_masks": masks, "aux_outputs": aux, "query_features": normed}
