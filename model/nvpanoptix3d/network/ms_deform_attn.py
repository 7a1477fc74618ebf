"""Multi-scale deformable attention (Zhu et al., "Deformable DETR", ICLR 2021) in plain PyTorch.

Each query looks at ``n_points`` learned locations per head and per feature level around its reference point
and mixes the bilinearly sampled values with softmax weights. Sampling uses ``F.grid_sample`` (bilinear,
zero padding, ``align_corners=False``), the same numbers NVIDIA's fallback computes off CUDA; it runs on CPU,
trains through autograd and exports to ONNX (GridSample, opset >= 16) without a custom plugin.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def ms_deform_attn_sample(value: torch.Tensor, spatial_shapes: list[tuple[int, int]],
                          sampling_locations: torch.Tensor, attention_weights: torch.Tensor) -> torch.Tensor:
    """Weighted sum of bilinear samples of every level.

    Args:
        value: [N, S, M, D] per-head values of all levels flattened row-major, level after level
            (S = sum of H_l * W_l).
        spatial_shapes: the (H_l, W_l) of each level, in the order of ``value``.
        sampling_locations: [N, Lq, M, L, P, 2] (x, y) in [0, 1] of each level's map; 0 and 1 are the outer
            pixel edges, so pixel j's centre is (j + 0.5) / W.
        attention_weights: [N, Lq, M, L, P], normalised over L * P.

    Returns:
        [N, Lq, M * D].
    """
    n, _, m, d = value.shape
    _, lq, _, num_levels, num_points, _ = sampling_locations.shape
    per_level = value.split([h * w for h, w in spatial_shapes], dim=1)
    grids = sampling_locations * 2.0 - 1.0  # grid_sample's [-1, 1] frame
    samples = []
    for lvl, (h, w) in enumerate(spatial_shapes):
        v = per_level[lvl].permute(0, 2, 3, 1).reshape(n * m, d, h, w)
        g = grids[:, :, :, lvl].transpose(1, 2).reshape(n * m, lq, num_points, 2)
        samples.append(F.grid_sample(v, g, mode="bilinear", padding_mode="zeros", align_corners=False))  # [NM, D, Lq, P]
    stacked = torch.stack(samples, dim=-2).flatten(-2)  # [NM, D, Lq, L*P]
    weights = attention_weights.transpose(1, 2).reshape(n * m, 1, lq, num_levels * num_points)
    out = (stacked * weights).sum(-1)  # [NM, D, Lq]
    return out.view(n, m * d, lq).transpose(1, 2)


class MSDeformAttn(nn.Module):
    """Deformable attention over ``n_levels`` maps; attribute names follow NVIDIA's checkpoint keys."""

    def __init__(self, *, d_model: int = 256, n_levels: int = 4, n_heads: int = 8, n_points: int = 4) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model {d_model} must be divisible by n_heads {n_heads}")
        self.d_model = d_model
        self.n_levels = n_levels
        self.n_heads = n_heads
        self.n_points = n_points
        self.sampling_offsets = nn.Linear(d_model, n_heads * n_levels * n_points * 2)
        self.attention_weights = nn.Linear(d_model, n_heads * n_levels * n_points)
        self.value_proj = nn.Linear(d_model, d_model)
        self.output_proj = nn.Linear(d_model, d_model)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Deformable-DETR's start: each head samples along its own direction (evenly spread over the circle,
        scaled so the larger of |cos|, |sin| is 1), point k at distance k+1 pixels; offsets do not depend on
        the query yet and attention is uniform. Without this, training from scratch starts with every point
        on the reference pixel."""
        nn.init.zeros_(self.sampling_offsets.weight)
        angles = torch.arange(self.n_heads, dtype=torch.float32) * (2.0 * math.pi / self.n_heads)
        direction = torch.stack([angles.cos(), angles.sin()], dim=-1)
        direction = direction / direction.abs().max(dim=-1, keepdim=True).values  # [M, 2]
        scale = torch.arange(1, self.n_points + 1, dtype=torch.float32)  # [P]
        bias = direction[:, None, None, :] * scale[None, None, :, None]  # [M, 1, P, 2]
        bias = bias.expand(self.n_heads, self.n_levels, self.n_points, 2)
        with torch.no_grad():
            self.sampling_offsets.bias.copy_(bias.reshape(-1))
        nn.init.zeros_(self.attention_weights.weight)
        nn.init.zeros_(self.attention_weights.bias)
        nn.init.xavier_uniform_(self.value_proj.weight)
        nn.init.zeros_(self.value_proj.bias)
        nn.init.xavier_uniform_(self.output_proj.weight)
        nn.init.zeros_(self.output_proj.bias)

    def forward(self, query: torch.Tensor, reference_points: torch.Tensor, input_flatten: torch.Tensor,
                spatial_shapes: list[tuple[int, int]], padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Attend from each query to its sampled points.

        Args:
            query: [N, Lq, C] (content + position).
            reference_points: [N or 1, Lq, n_levels, 2] (x, y) in [0, 1] per level.
            input_flatten: [N, S, C] the maps the values come from, levels flattened and concatenated.
            spatial_shapes: (H_l, W_l) per level, ``len == n_levels``.
            padding_mask: optional [N, S], True where the input is padding (its value is zeroed).

        Returns:
            [N, Lq, C].
        """
        n, lq, _ = query.shape
        s = input_flatten.shape[1]
        if len(spatial_shapes) != self.n_levels:
            raise ValueError(f"expected {self.n_levels} levels, got {len(spatial_shapes)}")
        value = self.value_proj(input_flatten)
        if padding_mask is not None:
            value = value.masked_fill(padding_mask[..., None], 0.0)
        value = value.view(n, s, self.n_heads, self.d_model // self.n_heads)
        offsets = self.sampling_offsets(query).view(n, lq, self.n_heads, self.n_levels, self.n_points, 2)
        logits = self.attention_weights(query).view(n, lq, self.n_heads, self.n_levels * self.n_points)
        weights = logits.softmax(-1).view(n, lq, self.n_heads, self.n_levels, self.n_points)
        # Offsets are in pixels of each level: divide by (W_l, H_l) to move in the [0, 1] frame.
        normalizer = torch.tensor([[w, h] for h, w in spatial_shapes], dtype=query.dtype, device=query.device)
        locations = reference_points[:, :, None, :, None, :] + offsets / normalizer[None, None, None, :, None, :]
        out = ms_deform_attn_sample(value, spatial_shapes, locations, weights)
        return self.output_proj(out)
