"""NVIDIA's VGGT aggregator (``backbone.aggregator.*``): DINOv2 patch tokens, then alternating frame/global blocks.

VGGT (Wang et al., CVPR 2025) embeds every frame with a DINOv2 ViT-L/14 with registers, prepends one camera
and four register tokens per frame, and runs ``depth`` pairs of pre-norm blocks with qk-norm and 2D RoPE:
a frame block attends within each frame, a global block across all frames of a sample. Every pair's two
outputs, concatenated along channels, form one entry of the returned list; the heads read some of them.

Numerical contract (fixture ``aggregator``, NVIDIA TAO 7.0.1): ImageNet normalisation inside; per frame the
tokens are [camera, 4 registers, h*w patches row-major]; frame 0 takes the learned tokens' index 0, later
frames index 1; RoPE positions are (row + 1, col + 1) for patches and (0, 0) (no rotation) for the special
tokens, identical for every frame also in the global blocks.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from nvpanoptix3d.network.layers import Block
from nvpanoptix3d.network.patch_embed import ViTPatchEmbed

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def rope_positions(h: int, w: int, num_special: int, device: torch.device | None = None) -> torch.Tensor:
    """(num_special + h*w, 2) integer (row, col) RoPE positions of one frame: specials at (0, 0), the patch at
    grid (r, c) at (r + 1, c + 1), so only patch tokens are rotated."""
    rows = torch.arange(1, h + 1, device=device).repeat_interleave(w)
    cols = torch.arange(1, w + 1, device=device).repeat(h)
    special = torch.zeros(num_special, 2, dtype=torch.long, device=device)
    return torch.cat([special, torch.stack([rows, cols], dim=1)], dim=0)


class Aggregator(nn.Module):
    """The VGGT trunk with NVIDIA's key names (``patch_embed.*``, ``frame_blocks.N``, ``global_blocks.N``,
    ``camera_token``, ``register_token``); the ``dino_*`` sizes shape the DINOv2 patch embedding, whose width
    must equal ``embed_dim`` (its tokens enter the blocks unprojected)."""

    def __init__(self, *, img_size: int = 518, patch_size: int = 14, embed_dim: int = 1024, depth: int = 24,
                 num_heads: int = 16, mlp_ratio: float = 4.0, num_register_tokens: int = 4, qk_norm: bool = True,
                 rope_freq: float = 100.0, init_values: float = 0.01, dino_embed_dim: int = 1024,
                 dino_depth: int = 24, dino_num_heads: int = 16, activation_checkpoint: bool = False) -> None:
        super().__init__()
        if dino_embed_dim != embed_dim:
            raise ValueError(f"dino_embed_dim {dino_embed_dim} must equal embed_dim {embed_dim}: the patch tokens "
                             f"enter the aggregator blocks without a projection")
        self.patch_size = patch_size
        self.depth = depth
        self.patch_embed = ViTPatchEmbed(img_size=img_size, patch_size=patch_size, embed_dim=dino_embed_dim,
                                         depth=dino_depth, num_heads=dino_num_heads, mlp_ratio=4.0,
                                         num_register_tokens=4, init_values=1.0)
        kw = dict(dim=embed_dim, num_heads=num_heads, mlp_ratio=mlp_ratio, init_values=init_values, qk_norm=qk_norm,
                  rope_freq=rope_freq)
        self.frame_blocks = nn.ModuleList(Block(**kw) for _ in range(depth))
        self.global_blocks = nn.ModuleList(Block(**kw) for _ in range(depth))
        # index 0: the first frame's tokens, index 1: every later frame's
        self.camera_token = nn.Parameter(torch.zeros(1, 2, 1, embed_dim))
        self.register_token = nn.Parameter(torch.zeros(1, 2, num_register_tokens, embed_dim))
        if not self.camera_token.is_meta:
            nn.init.normal_(self.camera_token, std=1e-6)
            nn.init.normal_(self.register_token, std=1e-6)
        self.patch_start_idx = 1 + num_register_tokens
        self.activation_checkpoint = activation_checkpoint
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 1, 3, 1, 1), persistent=False)

    def _special_tokens(self, b: int, s: int) -> torch.Tensor:
        """(B*S, 5, E): camera + register tokens, index 0 for frame 0 and index 1 for frames 1..S-1."""
        tok = torch.cat([self.camera_token, self.register_token], dim=2)  # (1, 2, 5, E)
        per_frame = torch.cat([tok[:, :1], tok[:, 1:].expand(1, s - 1, -1, -1)], dim=1)  # (1, S, 5, E)
        return per_frame.expand(b, -1, -1, -1).reshape(b * s, *tok.shape[2:])

    def _run(self, block: nn.Module, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        if self.activation_checkpoint and self.training and torch.is_grad_enabled():
            return checkpoint(block, x, pos, use_reentrant=False)
        return block(x, pos)

    def forward(self, images: torch.Tensor, last_layer: int | None = None) -> tuple[list[torch.Tensor], int]:
        """Args:
            images: (B, S, 3, H, W) RGB in [0, 1], H and W multiples of ``patch_size``.
            last_layer: stop after this block pair (its output included); None runs all ``depth`` pairs.
        Returns:
            ``last_layer + 1`` (default ``depth``) tensors (B, S, P, 2E), P = 5 + h*w, channels [frame | global]
            output of each pair, and ``patch_start_idx`` (5).
        """
        b, s, _, hgt, wid = images.shape
        p = self.patch_size
        if hgt % p or wid % p:
            raise ValueError(f"image size {hgt}x{wid} must be a multiple of the patch size {p}")
        n_layers = self.depth if last_layer is None else last_layer + 1
        if not 1 <= n_layers <= self.depth:
            raise ValueError(f"last_layer {last_layer} must lie in [0, {self.depth - 1}]")
        x = ((images - self.mean) / self.std).reshape(b * s, 3, hgt, wid)
        patches, (h, w) = self.patch_embed.patch_tokens(x)  # (B*S, h*w, E)
        x = torch.cat([self._special_tokens(b, s).to(patches.dtype), patches], dim=1)  # (B*S, P, E)
        n, e = x.shape[1], x.shape[2]
        frame_pos = rope_positions(h, w, self.patch_start_idx, device=x.device)  # (P, 2)
        global_pos = frame_pos.repeat(s, 1)  # (S*P, 2): frames are not offset
        outputs = []
        for i in range(n_layers):
            frame = self._run(self.frame_blocks[i], x.reshape(b * s, n, e), frame_pos)
            x = self._run(self.global_blocks[i], frame.reshape(b, s * n, e), global_pos)
            outputs.append(torch.cat([frame.reshape(b, s, n, e), x.reshape(b, s, n, e)], dim=-1))
        return outputs, self.patch_start_idx
