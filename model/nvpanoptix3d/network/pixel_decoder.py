"""Multi-scale pixel decoder: a transformer encoder over the coarse levels, then an FPN top-down path.

We use standard (dense) multi-head attention over the flattened res5/res4 tokens rather than
multi-scale deformable attention: it exports to ONNX and TensorRT without a custom plugin and the
coarse levels are small (under 1k tokens at 320x240). The stride-4 output is the per-pixel mask
feature map.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "GN":
        return nn.GroupNorm(min(32, channels), channels)
    if kind == "BN":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


def sine_pos_2d(h: int, w: int, dim: int, device: torch.device) -> torch.Tensor:
    """(h*w, dim) fixed sine/cosine position encoding."""
    y, x = torch.meshgrid(torch.arange(h, device=device, dtype=torch.float32),
                          torch.arange(w, device=device, dtype=torch.float32), indexing="ij")
    quarter = dim // 4
    freq = 1.0 / (10000 ** (torch.arange(quarter, device=device, dtype=torch.float32) / max(quarter, 1)))
    parts = []
    for coord in (y.reshape(-1), x.reshape(-1)):
        ang = coord[:, None] * freq[None]
        parts += [ang.sin(), ang.cos()]
    pe = torch.cat(parts, dim=1)
    return F.pad(pe, (0, dim - pe.shape[1]))


class PixelDecoder(nn.Module):
    def __init__(self, *, in_channels: dict[str, int], conv_dim: int = 256, mask_dim: int = 256, enc_layers: int = 6,
                 nheads: int = 8, dim_feedforward: int = 1024, norm: str = "GN",
                 transformer_in_features: tuple[str, ...] = ("res4", "res5")) -> None:
        super().__init__()
        self.levels = ["res5", "res4", "res3", "res2"]
        self.transformer_in = [f for f in self.levels if f in transformer_in_features]
        self.input_proj = nn.ModuleDict({k: nn.Sequential(nn.Conv2d(in_channels[k], conv_dim, 1), _norm(norm, conv_dim))
                                         for k in self.levels})
        layer = nn.TransformerEncoderLayer(conv_dim, nheads, dim_feedforward, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=enc_layers, enable_nested_tensor=False) if enc_layers else None
        self.level_embed = nn.Parameter(torch.zeros(len(self.transformer_in), conv_dim))
        self.output_convs = nn.ModuleDict({k: nn.Sequential(nn.Conv2d(conv_dim, conv_dim, 3, padding=1),
                                                            _norm(norm, conv_dim), nn.ReLU()) for k in self.levels[1:]})
        self.mask_features = nn.Conv2d(conv_dim, mask_dim, 1)

    def forward(self, feats: dict[str, torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Returns mask features (B, mask_dim, H/4, W/4) and three multi-scale maps (res5, res4, res3 order)."""
        proj = {k: self.input_proj[k](feats[k]) for k in self.levels}
        if self.encoder is not None and self.transformer_in:
            shapes = [proj[k].shape[-2:] for k in self.transformer_in]
            seq = torch.cat([proj[k].flatten(2).transpose(1, 2) + sine_pos_2d(*s, proj[k].shape[1], proj[k].device)
                             + self.level_embed[i] for i, (k, s) in enumerate(zip(self.transformer_in, shapes))], dim=1)
            seq = self.encoder(seq)
            start = 0
            for k, (h, w) in zip(self.transformer_in, shapes):
                proj[k] = seq[:, start: start + h * w].transpose(1, 2).reshape(seq.shape[0], -1, h, w)
                start += h * w
        out = proj["res5"]
        multi = [out]
        for k in self.levels[1:]:
            out = proj[k] + F.interpolate(out, size=proj[k].shape[-2:], mode="bilinear", align_corners=False)
            out = self.output_convs[k](out)
            if k != "res2":
                multi.append(out)
        return self.mask_features(out), multi
