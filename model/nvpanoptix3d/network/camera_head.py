"""VGGT camera head: iteratively refined 9-number pose encoding from the aggregator's camera token.

In NVPanoptix3D the camera head is part of the pretrained VGGT-1B checkpoint, frozen, and its output is only
passed through (model_facts.md: ``CameraHead(dim_in=2048) -> pose_enc (B,S,9)``). It is kept so the
published weights load one to one and the parameter count matches.

Exact (model_facts.md and the public VGGT description): input width 2048 (frame || global camera token),
9-number pose encoding ``[translation(3), quaternion(4), field of view(2)]``, trunk of 4 transformer blocks
with 16 heads, MLP ratio 4 and LayerScale 0.01. From the public checkpoint layout (not in model_facts.md):
the names ``token_norm``, ``trunk.N``, ``trunk_norm``, ``empty_pose_tokens``, ``embed_pose``,
``poseLN_modulation.1``, ``adaln_norm`` (no affine), ``pose_branch.{fc1,fc2}`` (hidden = width / 2) and
4 refinement iterations, identity activations for translation and quaternion, ReLU for the field of
view; checked against NVIDIA's numbers (fixture ``camera_head``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nvpanoptix3d.network.layers import Block

POSE_DIM = 9


class _PoseMlp(nn.Module):
    def __init__(self, dim: int, hidden: int, out: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class CameraHead(nn.Module):
    """NVIDIA's VGGT camera head (``backbone.camera_head.*``), fixture ``camera_head``.

    The trunk runs over the frames of a sample (sequence = S camera tokens). Each iteration re-modulates the
    same normalised camera tokens with the embedded previous (un-activated, detached) pose: shift, scale,
    gate from ``poseLN_modulation``, ``gate * (LN(tokens) * (1 + scale) + shift) + tokens``.
    """

    def __init__(self, *, dim_in: int = 2048, trunk_depth: int = 4, num_heads: int = 16, mlp_ratio: float = 4.0,
                 init_values: float = 0.01) -> None:
        super().__init__()
        self.token_norm = nn.LayerNorm(dim_in)
        self.trunk = nn.Sequential(*(Block(dim=dim_in, num_heads=num_heads, mlp_ratio=mlp_ratio,
                                           init_values=init_values, qk_norm=False) for _ in range(trunk_depth)))
        self.trunk_norm = nn.LayerNorm(dim_in)
        self.empty_pose_tokens = nn.Parameter(torch.zeros(1, 1, POSE_DIM))
        self.embed_pose = nn.Linear(POSE_DIM, dim_in)
        # adaptive LayerNorm: the current pose estimate shifts, scales and gates the camera token
        self.poseLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim_in, 3 * dim_in))
        self.adaln_norm = nn.LayerNorm(dim_in, elementwise_affine=False, eps=1e-6)
        self.pose_branch = _PoseMlp(dim_in, dim_in // 2, POSE_DIM)

    @staticmethod
    def activate(pose: torch.Tensor) -> torch.Tensor:
        """Translation and quaternion as they are, field of view through ReLU."""
        return torch.cat([pose[..., :7], F.relu(pose[..., 7:])], dim=-1)

    def forward(self, aggregated_tokens_list: list[torch.Tensor], num_iterations: int = 4) -> list[torch.Tensor]:
        """Args:
            aggregated_tokens_list: aggregator outputs (B, S, P, dim_in); only the last one's token 0 is read.
            num_iterations: refinement steps.
        Returns:
            ``num_iterations`` activated pose encodings (B, S, 9) [translation(3), quaternion(4), FoV(2)], the
            last one the final estimate.
        """
        cam = self.token_norm(aggregated_tokens_list[-1][:, :, 0])  # (B, S, dim_in)
        b, s = cam.shape[:2]
        pose, out = None, []
        for _ in range(num_iterations):
            inp = self.embed_pose(self.empty_pose_tokens.expand(b, s, -1) if pose is None else pose.detach())
            shift, scale, gate = self.poseLN_modulation(inp).chunk(3, dim=-1)
            x = gate * (self.adaln_norm(cam) * (1 + scale) + shift) + cam
            delta = self.pose_branch(self.trunk_norm(self.trunk(x)))
            pose = delta if pose is None else pose + delta
            out.append(self.activate(pose))
        return out


def camera_head_params(*, dim_in: int = 2048, trunk_depth: int = 4, mlp_ratio: float = 4.0) -> int:
    """Parameter count of ``CameraHead`` from its geometry (for tests and docs)."""
    d, hid = dim_in, int(dim_in * mlp_ratio)
    block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + 2 * d + (d * hid + hid) + (hid * d + d)
    return (trunk_depth * block + 2 * 2 * d + POSE_DIM + (POSE_DIM * d + d) + (d * 3 * d + 3 * d)
            + (d * (d // 2) + d // 2) + (d // 2 * POSE_DIM + POSE_DIM))
