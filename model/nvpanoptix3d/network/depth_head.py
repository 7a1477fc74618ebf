"""VGGT's DPT head as NVPanoptix3D uses it (``backbone.depth_head.*``): aggregator tokens -> depth, confidence
and the four fused multi-scale maps that feed NVIDIA's depth projector.

Dense Prediction Transformer decoder (Ranftl et al., ICCV 2021) in VGGT's layout; weight-for-weight NVIDIA's
``vggt.heads.dpt_head.DPTHead`` (same key names, same numbers: see tests/network/parity/test_depth_head.py).
NVPanoptix3D builds it with ``output_dim=2, activation="exp", conf_activation="expp1"`` and the constructor's
``is_depth`` left False (so ``output_conv2`` ends without a ReLU), then calls it with ``is_depth=True``, which
only adds the multi-scale return.

Numerical facts reproduced here:
- the residual conv units start with a ReLU that NVIDIA applies in place, so their skip adds relu(x), not x;
  we compute ``relu(x) + conv2(relu(conv1(relu(x))))`` explicitly (no in-place op, autograd-safe);
- bilinear resampling uses ``align_corners=True``;
- the UV position code (``uv_embedding.py``) is added after each token projection and again after the final
  upsampling, always with the aspect ratio of the input image.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import nn

from nvpanoptix3d.network.uv_embedding import add_uv_embedding

Activation = Literal["exp", "relu", "linear", "sigmoid", "inv_log", "xy_inv_log", "norm_exp", "norm"]
ConfActivation = Literal["expp1", "expp0", "sigmoid"]


class ResidualConvUnit(nn.Module):
    """relu(x) + conv2(relu(conv1(relu(x)))): the pre-activation residual unit with NVIDIA's in-place skip."""

    def __init__(self, *, features: int = 256) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, C, h, w) -> (N, C, h, w)."""
        x = F.relu(x)
        return x + self.conv2(F.relu(self.conv1(x)))


class FeatureFusionBlock(nn.Module):
    """(coarse [+ unit1(skip)]) -> unit2 -> bilinear resize (align_corners) -> 1x1 conv.

    The coarsest block (``has_residual=False``) has no skip input and therefore no ``resConfUnit1``.
    """

    def __init__(self, *, features: int = 256, has_residual: bool = True) -> None:
        super().__init__()
        self.has_residual = has_residual
        self.out_conv = nn.Conv2d(features, features, 1)
        if has_residual:
            self.resConfUnit1 = ResidualConvUnit(features=features)
        self.resConfUnit2 = ResidualConvUnit(features=features)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None,
                size: tuple[int, int] | None = None) -> torch.Tensor:
        """x, skip (N, C, h, w) -> (N, C, *size) (default: twice h and w)."""
        if self.has_residual:
            if skip is None:
                raise ValueError("this fusion block needs a skip input")
            x = x + self.resConfUnit1(skip)
        x = self.resConfUnit2(x)
        if size is None:
            size = (x.shape[-2] * 2, x.shape[-1] * 2)
        x = F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=True)
        return self.out_conv(x)


class _Scratch(nn.Module):
    """Container that gives the fusion convs NVIDIA's ``scratch.*`` key names."""

    def __init__(self, *, out_channels: tuple[int, ...], features: int, output_dim: int, feature_only: bool,
                 is_depth: bool) -> None:
        super().__init__()
        for i, c in enumerate(out_channels, start=1):
            setattr(self, f"layer{i}_rn", nn.Conv2d(c, features, 3, padding=1, bias=False))
        self.refinenet1 = FeatureFusionBlock(features=features)
        self.refinenet2 = FeatureFusionBlock(features=features)
        self.refinenet3 = FeatureFusionBlock(features=features)
        self.refinenet4 = FeatureFusionBlock(features=features, has_residual=False)
        if feature_only:
            self.output_conv1 = nn.Conv2d(features, features, 3, padding=1)
            self.output_conv2 = None
        else:
            self.output_conv1 = nn.Conv2d(features, features // 2, 3, padding=1)
            tail: list[nn.Module] = [nn.ReLU(), nn.Identity()] if is_depth else []
            self.output_conv2 = nn.Sequential(nn.Conv2d(features // 2, 32, 3, padding=1), nn.ReLU(),
                                              nn.Conv2d(32, output_dim, 1), *tail)


def _activate(x: torch.Tensor, kind: str) -> torch.Tensor:
    """Map the prediction channels (..., C-1) to their quantity (depth: ``exp``)."""
    if kind == "exp":
        return torch.exp(x)
    if kind == "relu":
        return F.relu(x)
    if kind == "linear":
        return x
    if kind == "sigmoid":
        return torch.sigmoid(x)
    if kind == "inv_log":
        return torch.sign(x) * torch.expm1(x.abs())
    if kind == "xy_inv_log":
        z = _activate(x[..., 2:3], "inv_log")
        return torch.cat([x[..., :2] * z, z], dim=-1)
    if kind in ("norm_exp", "norm"):
        n = x.norm(dim=-1, keepdim=True).clamp(min=1e-8)
        return x / n * (torch.expm1(n) if kind == "norm_exp" else 1.0)
    raise ValueError(f"unknown activation `{kind}`")


def _activate_conf(x: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "expp1":
        return 1 + torch.exp(x)
    if kind == "expp0":
        return torch.exp(x)
    if kind == "sigmoid":
        return torch.sigmoid(x)
    raise ValueError(f"unknown conf_activation `{kind}`")


class DPTHead(nn.Module):
    """Four aggregator layers -> fused maps at 8x/4x/2x/1x the patch grid -> dense prediction + confidence."""

    def __init__(self, *, dim_in: int = 2048, patch_size: int = 14, output_dim: int = 2, activation: Activation = "exp",
                 conf_activation: ConfActivation = "expp1", features: int = 256,
                 out_channels: tuple[int, ...] = (256, 512, 1024, 1024),
                 intermediate_layer_idx: tuple[int, ...] = (4, 11, 17, 23), pos_embed: bool = True,
                 feature_only: bool = False, down_ratio: int = 1, is_depth: bool = False) -> None:
        """``is_depth`` (constructor) appends a ReLU to ``output_conv2`` (NVPanoptix3D leaves it False)."""
        super().__init__()
        if len(out_channels) != 4 or len(intermediate_layer_idx) != 4:
            raise ValueError(f"DPTHead needs 4 out_channels and 4 layers, got {out_channels}, {intermediate_layer_idx}")
        if activation not in get_args(Activation) or conf_activation not in get_args(ConfActivation):
            raise ValueError(f"unknown activation `{activation}` / conf_activation `{conf_activation}`")
        self.patch_size = patch_size
        self.activation = activation
        self.conf_activation = conf_activation
        self.pos_embed = pos_embed
        self.feature_only = feature_only
        self.down_ratio = down_ratio
        self.intermediate_layer_idx = tuple(intermediate_layer_idx)
        c = tuple(out_channels)
        self.norm = nn.LayerNorm(dim_in)
        self.projects = nn.ModuleList(nn.Conv2d(dim_in, k, 1) for k in c)
        self.resize_layers = nn.ModuleList([nn.ConvTranspose2d(c[0], c[0], 4, stride=4),
                                            nn.ConvTranspose2d(c[1], c[1], 2, stride=2),
                                            nn.Identity(),
                                            nn.Conv2d(c[3], c[3], 3, stride=2, padding=1)])
        self.scratch = _Scratch(out_channels=c, features=features, output_dim=output_dim, feature_only=feature_only,
                                is_depth=is_depth)

    def token_maps(self, aggregated_tokens_list: list[torch.Tensor], image_hw: tuple[int, int],
                   patch_start_idx: int) -> list[torch.Tensor]:
        """Selected layers (B, S, P, dim_in) -> [(B*S, out_channels[i], ...)] at 4x, 2x, 1x, 1/2 the patch grid."""
        h, w = image_hw[0] // self.patch_size, image_hw[1] // self.patch_size
        maps = []
        for i, layer in enumerate(self.intermediate_layer_idx):
            t = aggregated_tokens_list[layer][:, :, patch_start_idx:]
            t = self.norm(t.reshape(-1, t.shape[-2], t.shape[-1]))
            x = self.projects[i](t.permute(0, 2, 1).reshape(t.shape[0], t.shape[-1], h, w))
            if self.pos_embed:
                x = add_uv_embedding(x, image_hw)
            maps.append(self.resize_layers[i](x))
        return maps

    def fuse(self, maps: list[torch.Tensor]) -> list[torch.Tensor]:
        """Four resized maps -> [out1 (8x grid), out2 (4x), out3 (2x), out4 (1x)], ``features`` channels."""
        s = self.scratch
        l1, l2, l3, l4 = (getattr(s, f"layer{i + 1}_rn")(m) for i, m in enumerate(maps))
        out4 = s.refinenet4(l4, size=tuple(l3.shape[-2:]))
        out3 = s.refinenet3(out4, l3, size=tuple(l2.shape[-2:]))
        out2 = s.refinenet2(out3, l2, size=tuple(l1.shape[-2:]))
        out1 = s.refinenet1(out2, l1)
        return [out1, out2, out3, out4]

    def forward(self, aggregated_tokens_list: list[torch.Tensor], images: torch.Tensor, patch_start_idx: int,
                *, is_depth: bool = True):
        """Args:
            aggregated_tokens_list: aggregator outputs, each (B, S, P, dim_in); entries
                ``intermediate_layer_idx`` are read, their tokens from ``patch_start_idx`` on (row-major grid).
            images: (B, S, 3, H, W); only its shape is used (H, W multiples of ``patch_size``).
            patch_start_idx: number of special tokens before the patches (5 in VGGT).
            is_depth: also return the fused multi-scale maps (NVPanoptix3D always does).
        Returns:
            ``feature_only``: (B, S, features, H/down_ratio, W/down_ratio). Otherwise
            preds (B, S, H', W', output_dim - 1) (depth: exp(channel 0)), conf (B, S, H', W') (1 + exp(last)),
            and with ``is_depth`` the list [out1 (B*S, features, 8h, 8w), out2 (4h, 4w), out3 (2h, 2w),
            out4 (h, w)] for the patch grid (h, w) = (H, W) / patch_size, taken before ``output_conv1``.
            NVIDIA processes frames in chunks of 8 only to save memory; here all frames run at once.
        """
        b, s_, _, height, width = images.shape
        h, w = height // self.patch_size, width // self.patch_size
        feats = self.fuse(self.token_maps(aggregated_tokens_list, (height, width), patch_start_idx))
        out = self.scratch.output_conv1(feats[0])
        size = (int(h * self.patch_size / self.down_ratio), int(w * self.patch_size / self.down_ratio))
        out = F.interpolate(out, size=size, mode="bilinear", align_corners=True)
        if self.pos_embed:
            out = add_uv_embedding(out, (height, width))
        if self.feature_only:
            return out.reshape(b, s_, *out.shape[1:])
        out = self.scratch.output_conv2(out).permute(0, 2, 3, 1)
        preds = _activate(out[..., :-1], self.activation).reshape(b, s_, *out.shape[1:3], -1)
        conf = _activate_conf(out[..., -1], self.conf_activation).reshape(b, s_, *out.shape[1:3])
        if is_depth:
            return preds, conf, feats
        return preds, conf
