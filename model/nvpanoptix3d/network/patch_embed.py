"""The patch embedding of the VGGT aggregator: a DINOv2-style ViT with registers.

VGGT-1B (Wang et al., CVPR 2025) embeds each frame with a pretrained DINOv2 ViT-L/14 carrying four register
tokens (Oquab et al., "DINOv2", 2023; Darcet et al., "Vision Transformers Need Registers", ICLR 2024) and
feeds its normalised patch tokens to the alternating-attention blocks; the spec name is
``"dinov2_vitl14_reg"`` (docs/reference model_facts.md, "Backbone: VGGT-1B config"). Our code is our own.

The parameter names follow the public checkpoint format of DINOv2 as embedded in VGGT — a fact about the
file layout, not taken from model_facts.md, which names only ``aggregator.patch_embed``:
``cls_token`` (1, 1, D), ``register_tokens`` (1, R, D), ``mask_token`` (1, D) (masked-image-modelling
token: unused here, kept so a checkpoint loads without leftovers), ``pos_embed`` (1, 1 + G*G, D) for the
pre-training grid G = 518 / 14 = 37, ``patch_embed.proj`` (Conv2d 3->D, kernel = stride = patch),
``blocks.N.{norm1, attn.qkv, attn.proj, ls1.gamma, norm2, mlp.fc1, mlp.fc2, ls2.gamma}`` and ``norm``.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from nvpanoptix3d.network.layers import Block

# The published geometry of each ViT patch embedding; the aggregator's width and patch size must agree.
VIT_PATCH_EMBEDS: dict[str, dict] = {
    "dinov2_vitl14_reg": dict(img_size=518, patch_size=14, embed_dim=1024, depth=24, num_heads=16, mlp_ratio=4.0,
                              num_register_tokens=4, init_values=1.0),
}


@functools.lru_cache(maxsize=32)
def aa_bicubic_matrix(src: int, dst: int) -> torch.Tensor:
    """(dst, src) float32 weights of PyTorch's antialiased bicubic resize along one axis (separable), read off
    the resize of a basis; built from NumPy so a tracer records a constant. The basis is 2 wide because a
    width-1 input takes another code path in PyTorch."""
    basis = torch.eye(src, dtype=torch.float64).reshape(src, 1, src, 1).expand(src, 1, src, 2).contiguous()
    with torch.no_grad():
        out = F.interpolate(basis, size=(dst, 2), mode="bicubic", align_corners=False, antialias=True)
    return torch.from_numpy(out[..., 0].reshape(src, dst).T.numpy().astype("float32"))


class _ConvProj(nn.Module):
    """Holds the projection under the name ``proj`` so its key is ``patch_embed.patch_embed.proj``."""

    def __init__(self, patch_size: int, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class ViTPatchEmbed(nn.Module):
    """DINOv2-style ViT: patchify, prepend cls + register tokens, add an interpolated learned position
    embedding, run pre-norm LayerScale blocks (no qk-norm, no RoPE), normalise, drop cls and registers.

    The learned position embedding covers the pre-training grid (``img_size // patch_size`` squared);
    other grids get it by antialiased bicubic interpolation (PyTorch's PIL-style filter, used by DINOv2 for
    up- and downsampling alike; the plain bicubic differs even when upsampling), the cls token's entry kept
    as is. Registers take no position embedding (they are inserted after it is added, as in the
    registers paper).
    """

    def __init__(self, *, img_size: int = 518, patch_size: int = 14, embed_dim: int = 1024, depth: int = 24,
                 num_heads: int = 16, mlp_ratio: float = 4.0, num_register_tokens: int = 4,
                 init_values: float = 1.0) -> None:
        super().__init__()
        if img_size % patch_size:
            raise ValueError(f"img_size {img_size} must be a multiple of patch_size {patch_size}")
        self.patch_size = patch_size
        self.grid = img_size // patch_size
        self.num_register_tokens = num_register_tokens
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.register_tokens = nn.Parameter(torch.zeros(1, num_register_tokens, embed_dim))
        self.mask_token = nn.Parameter(torch.zeros(1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.grid * self.grid, embed_dim))
        self.patch_embed = _ConvProj(patch_size, embed_dim)
        self.blocks = nn.ModuleList(
            Block(dim=embed_dim, num_heads=num_heads, mlp_ratio=mlp_ratio, init_values=init_values, qk_norm=False,
                  norm_eps=1e-6) for _ in range(depth))
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        if not self.pos_embed.is_meta:
            for p in (self.cls_token, self.register_tokens, self.pos_embed):
                nn.init.trunc_normal_(p, std=0.02)

    def interpolate_pos_embed(self, h: int, w: int) -> torch.Tensor:
        """(1, 1 + h*w, D): the cls entry and the patch entries resized bicubically from G x G to h x w."""
        if (h, w) == (self.grid, self.grid):
            return self.pos_embed
        cls_pos, patch_pos = self.pos_embed[:, :1], self.pos_embed[:, 1:]
        d = patch_pos.shape[-1]
        grid = patch_pos.reshape(1, self.grid, self.grid, d).permute(0, 3, 1, 2).float()
        if torch.onnx.is_in_onnx_export():  # ONNX has no antialiased bicubic resize: the same map as two matmuls
            rows, cols = (aa_bicubic_matrix(self.grid, n).to(grid.device) for n in (h, w))
            grid = torch.einsum("hi,bcij,wj->bchw", rows, grid, cols)
        else:
            grid = F.interpolate(grid, size=(h, w), mode="bicubic", align_corners=False, antialias=True)
        return torch.cat([cls_pos, grid.to(patch_pos.dtype).permute(0, 2, 3, 1).reshape(1, h * w, d)], dim=1)

    def patch_tokens(self, images: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """Args:
            images: (B, 3, H, W) normalised with the ImageNet statistics, H and W multiples of the patch size.
        Returns:
            (B, h*w, D) normalised patch tokens, row-major over the (h, w) patch grid, and (h, w).
        """
        b = images.shape[0]
        x = self.patch_embed(images)
        h, w = x.shape[-2:]
        x = torch.cat([self.cls_token.expand(b, -1, -1), x.flatten(2).transpose(1, 2)], dim=1)
        x = x + self.interpolate_pos_embed(h, w)
        x = torch.cat([x[:, :1], self.register_tokens.expand(b, -1, -1), x[:, 1:]], dim=1)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)[:, 1 + self.num_register_tokens:], (h, w)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Args:
            images: (B, 3, H, W) normalised with the ImageNet statistics, H and W multiples of the patch size.
        Returns:
            (B, D, H/p, W/p) normalised patch tokens (the layout of a convolutional patch embedding).
        """
        x, (h, w) = self.patch_tokens(images)
        return x.transpose(1, 2).reshape(x.shape[0], -1, h, w)


def vit_patch_embed_params(*, img_size: int, patch_size: int, embed_dim: int, depth: int, mlp_ratio: float = 4.0,
                           num_register_tokens: int, **_ignored) -> int:
    """Parameter count of ``ViTPatchEmbed`` from its geometry (for tests and docs)."""
    d, hid, g = embed_dim, int(embed_dim * mlp_ratio), img_size // patch_size
    block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + 2 * d + (d * hid + hid) + (hid * d + d)
    tokens = d * (1 + num_register_tokens + 1 + 1 + g * g)  # cls, registers, mask token, pos_embed
    return depth * block + tokens + (3 * patch_size * patch_size * d + d) + 2 * d

