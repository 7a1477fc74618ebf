"""NVIDIA's pixel decoder (``sem_seg_head.pixel_decoder.*``): Mask2Former-style multi-scale deformable
attention over res5/res4/res3 (pure PyTorch, see ``ms_deform_attn``: runs on a CPU and exports to ONNX),
then an FPN step per finer level down to ``common_stride`` and the per-pixel mask features.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nvpanoptix3d.network.ms_deform_attn import MSDeformAttn


def sine_position_embedding(height: int, width: int, num_pos_feats: int, *, device: torch.device | None = None,
                            temperature: float = 10000.0) -> torch.Tensor:
    """Fixed normalised sine encoding of an unpadded ``height x width`` map, ``[H*W, 2*num_pos_feats]``.

    Positions 1..H (1..W) divided by the last one (+1e-6) and scaled to 2*pi; per axis ``num_pos_feats``
    channels interleaved [sin, cos, ...] with each pair sharing the frequency temperature**(2k/num_pos_feats);
    the y block comes first, then x. Depends on the map's shape only, so it costs no parameters.
    """
    eps = 1e-6
    ys = torch.arange(1, height + 1, dtype=torch.float32, device=device)
    xs = torch.arange(1, width + 1, dtype=torch.float32, device=device)
    ys = ys / (ys[-1:] + eps) * (2 * math.pi)
    xs = xs / (xs[-1:] + eps) * (2 * math.pi)
    pair = torch.div(torch.arange(num_pos_feats, dtype=torch.float32, device=device), 2, rounding_mode="floor")
    freq = temperature ** (2 * pair / num_pos_feats)

    def encode(coord: torch.Tensor) -> torch.Tensor:
        ang = coord[:, None] / freq
        return torch.stack((ang[:, 0::2].sin(), ang[:, 1::2].cos()), dim=2).flatten(1)  # [n, num_pos_feats]

    pos_y = encode(ys)[:, None, :].expand(height, width, num_pos_feats)
    pos_x = encode(xs)[None, :, :].expand(height, width, num_pos_feats)
    return torch.cat((pos_y, pos_x), dim=2).reshape(height * width, 2 * num_pos_feats)


def pixel_centre_reference_points(spatial_shapes: list[tuple[int, int]], num_levels: int, *,
                                  device: torch.device | None = None) -> torch.Tensor:
    """Each token's own pixel centre ((j+0.5)/W, (i+0.5)/H), repeated for every level (no padding, so the
    valid ratios are 1): ``[1, S, num_levels, 2]``."""
    refs = []
    for h, w in spatial_shapes:
        ry = (torch.arange(h, dtype=torch.float32, device=device) + 0.5) / h
        rx = (torch.arange(w, dtype=torch.float32, device=device) + 0.5) / w
        grid_y, grid_x = torch.meshgrid(ry, rx, indexing="ij")
        refs.append(torch.stack((grid_x.reshape(-1), grid_y.reshape(-1)), dim=-1))
    ref = torch.cat(refs, dim=0)  # [S, 2]
    return ref[None, :, None, :].expand(1, ref.shape[0], num_levels, 2)


class MSDeformAttnEncoderLayer(nn.Module):
    """Post-norm encoder layer: x = LN1(x + MSDA(x + pos, x)); x = LN2(x + W2 relu(W1 x))."""

    def __init__(self, *, d_model: int = 256, d_ffn: int = 1024, dropout: float = 0.0, n_levels: int = 3,
                 n_heads: int = 8, n_points: int = 4) -> None:
        super().__init__()
        self.self_attn = MSDeformAttn(d_model=d_model, n_levels=n_levels, n_heads=n_heads, n_points=n_points)
        self.dropout1 = nn.Dropout(dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.linear1 = nn.Linear(d_model, d_ffn)
        self.dropout2 = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ffn, d_model)
        self.dropout3 = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, src: torch.Tensor, pos: torch.Tensor, reference_points: torch.Tensor,
                spatial_shapes: list[tuple[int, int]]) -> torch.Tensor:
        """src [N, S, C], pos [1 or N, S, C], reference_points [1 or N, S, L, 2] -> [N, S, C]."""
        src = self.norm1(src + self.dropout1(self.self_attn(src + pos, reference_points, src, spatial_shapes)))
        ffn = self.linear2(self.dropout2(F.relu(self.linear1(src))))
        return self.norm2(src + self.dropout3(ffn))


class MSDeformAttnEncoder(nn.Module):
    """A stack of encoder layers sharing the pixel-centre reference points."""

    def __init__(self, *, num_layers: int = 6, d_model: int = 256, d_ffn: int = 1024, dropout: float = 0.0,
                 n_levels: int = 3, n_heads: int = 8, n_points: int = 4) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            MSDeformAttnEncoderLayer(d_model=d_model, d_ffn=d_ffn, dropout=dropout, n_levels=n_levels,
                                     n_heads=n_heads, n_points=n_points) for _ in range(num_layers))

    def forward(self, src: torch.Tensor, pos: torch.Tensor, spatial_shapes: list[tuple[int, int]]) -> torch.Tensor:
        """src [N, S, C], pos [1 or N, S, C] -> [N, S, C]."""
        ref = pixel_centre_reference_points(spatial_shapes, len(spatial_shapes), device=src.device)
        for layer in self.layers:
            src = layer(src, pos, ref, spatial_shapes)
        return src


class MSDeformAttnTransformerEncoderOnly(nn.Module):
    """Flattens the levels, adds the per-level embedding to their positions and runs the encoder."""

    def __init__(self, *, d_model: int = 256, nhead: int = 8, num_encoder_layers: int = 6,
                 dim_feedforward: int = 1024, dropout: float = 0.0, num_feature_levels: int = 3,
                 enc_n_points: int = 4) -> None:
        super().__init__()
        self.encoder = MSDeformAttnEncoder(num_layers=num_encoder_layers, d_model=d_model, d_ffn=dim_feedforward,
                                           dropout=dropout, n_levels=num_feature_levels, n_heads=nhead,
                                           n_points=enc_n_points)
        self.level_embed = nn.Parameter(torch.empty(num_feature_levels, d_model))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """NVIDIA's start: Xavier on every matrix, then the deformable-attention init, level embedding ~ N(0, 1)."""
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        for m in self.modules():
            if isinstance(m, MSDeformAttn):
                m.reset_parameters()
        nn.init.normal_(self.level_embed)

    def forward(self, srcs: list[torch.Tensor], pos_embeds: list[torch.Tensor]) -> tuple[torch.Tensor, list[tuple[int, int]]]:
        """srcs: per level [N, C, H_l, W_l]; pos_embeds: per level [H_l*W_l, C].

        Returns the encoded tokens [N, S, C] (levels concatenated in input order) and the (H_l, W_l) list.
        """
        shapes = [(int(s.shape[2]), int(s.shape[3])) for s in srcs]
        src = torch.cat([s.flatten(2).transpose(1, 2) for s in srcs], dim=1)
        pos = torch.cat([p + self.level_embed[lvl] for lvl, p in enumerate(pos_embeds)], dim=0)[None]
        return self.encoder(src, pos, shapes), shapes


class Conv2dNorm(nn.Conv2d):
    """Convolution followed by an optional norm (child ``norm``, NVIDIA's key layout) and optional ReLU."""

    def __init__(self, in_channels: int, out_channels: int, *, kernel_size: int = 1, norm: str = "GN",
                 relu: bool = False) -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=norm == "")
        self.norm = _fpn_norm(norm, out_channels)
        self.relu = relu
        # Caffe2's "xavier fill" as used by detectron2 (kaiming-uniform with a=1), zero bias.
        nn.init.kaiming_uniform_(self.weight, a=1)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(super().forward(x))
        return F.relu(x) if self.relu else x


def _fpn_norm(kind: str, channels: int) -> nn.Module:
    """NVIDIA's ``get_norm``: "GN" is always 32 groups; "" means no norm (the conv then has a bias)."""
    if kind == "GN":
        return nn.GroupNorm(32, channels)
    if kind == "BN":
        return nn.BatchNorm2d(channels)
    if kind == "":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r} (expected 'GN', 'BN' or '')")


class MSDeformAttnPixelDecoder(nn.Module):
    """NVIDIA's (Mask2Former's) pixel decoder: deformable-attention encoder over res5/res4/res3, then an FPN
    step per level below res3 down to ``common_stride``; key names equal NVIDIA's
    ``sem_seg_head.pixel_decoder.*``."""

    def __init__(self, *, input_shape: dict[str, tuple[int, int]], transformer_dropout: float = 0.0,
                 transformer_nheads: int = 8, transformer_dim_feedforward: int = 1024, transformer_enc_layers: int = 6,
                 conv_dim: int = 256, mask_dim: int = 256, norm: str = "GN",
                 transformer_in_features: tuple[str, ...] = ("res3", "res4", "res5"), common_stride: int = 4) -> None:
        """input_shape: feature name -> (channels, stride)."""
        super().__init__()
        by_stride = sorted(input_shape, key=lambda k: input_shape[k][1])
        self.in_features = by_stride  # fine to coarse
        # Transformer levels coarse to fine: input_proj.0 / level_embed[0] belong to the coarsest map.
        self.transformer_in_features = [k for k in by_stride if k in transformer_in_features][::-1]
        num_levels = len(self.transformer_in_features)
        self.input_proj = nn.ModuleList(
            nn.Sequential(nn.Conv2d(input_shape[k][0], conv_dim, kernel_size=1), nn.GroupNorm(32, conv_dim))
            for k in self.transformer_in_features)
        for proj in self.input_proj:
            nn.init.xavier_uniform_(proj[0].weight)
            nn.init.zeros_(proj[0].bias)
        self.transformer = MSDeformAttnTransformerEncoderOnly(
            d_model=conv_dim, nhead=transformer_nheads, num_encoder_layers=transformer_enc_layers,
            dim_feedforward=transformer_dim_feedforward, dropout=transformer_dropout, num_feature_levels=num_levels)
        self.conv_dim = conv_dim
        self.mask_features = nn.Conv2d(conv_dim, mask_dim, kernel_size=1)
        nn.init.kaiming_uniform_(self.mask_features.weight, a=1)
        nn.init.zeros_(self.mask_features.bias)
        self.maskformer_num_feature_levels = 3
        finest_stride = min(input_shape[k][1] for k in self.transformer_in_features)
        self.num_fpn_levels = int(round(math.log2(finest_stride) - math.log2(common_stride)))
        # adapter_1/layer_1 belong to the finest input (res2), adapter_2/layer_2 to the next, ...
        for idx, name in enumerate(self.in_features[:self.num_fpn_levels]):
            self.add_module(f"adapter_{idx + 1}", Conv2dNorm(input_shape[name][0], conv_dim, kernel_size=1, norm=norm))
            self.add_module(f"layer_{idx + 1}", Conv2dNorm(conv_dim, conv_dim, kernel_size=3, norm=norm, relu=True))

    def forward(self, features: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """features: name -> [B, C_name, H_name, W_name] (res2..res5).

        Returns:
            mask_features [B, mask_dim, H_res2, W_res2] (1x1 conv of the finest FPN map),
            transformer_encoder_features [B, conv_dim, H_res5, W_res5] (encoder output at the coarsest level),
            multi_scale_features: 3 maps [B, conv_dim, H, W], encoder outputs coarse to fine (res5, res4, res3).
        """
        srcs, pos = [], []
        for idx, name in enumerate(self.transformer_in_features):
            # NVIDIA casts to float32 (its features may come out of autocast); here: to the weights' dtype
            x = features[name].to(self.input_proj[idx][0].weight.dtype)
            srcs.append(self.input_proj[idx](x))
            pos.append(sine_position_embedding(x.shape[2], x.shape[3], self.conv_dim // 2,
                                               device=x.device).to(x.dtype))
        tokens, shapes = self.transformer(srcs, pos)
        b = tokens.shape[0]
        outs = [t.transpose(1, 2).reshape(b, self.conv_dim, h, w)
                for t, (h, w) in zip(tokens.split([h * w for h, w in shapes], dim=1), shapes)]
        # FPN: coarse to fine over the levels below the transformer, each on top of the finest map so far.
        for idx in range(self.num_fpn_levels - 1, -1, -1):
            adapter = getattr(self, f"adapter_{idx + 1}")
            lateral = adapter(features[self.in_features[idx]].to(adapter.weight.dtype))
            up = F.interpolate(outs[-1], size=lateral.shape[-2:], mode="bilinear", align_corners=False)
            outs.append(getattr(self, f"layer_{idx + 1}")(lateral + up))
        return self.mask_features(outs[-1]), outs[0], outs[:self.maskformer_num_feature_levels]

    def forward_features(self, features: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """NVIDIA's name for :meth:`forward` (its callers use it)."""
        return self.forward(features)
