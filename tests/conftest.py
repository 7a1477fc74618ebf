"""Fixtures shared by several test folders."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def tiny_vggt_model():
    """A factory of CPU-sized 2D models with every part of the full preset (ViT patch embedding with
    registers, camera head, DPT depth head and pyramid) at narrow widths; seeded, so two calls agree."""
    from nvpanoptix3d.network import PanopticModel2D, backbone_preset

    def make() -> PanopticModel2D:
        torch.manual_seed(0)
        backbone = backbone_preset("tiny", patch_embed="dinov2_vitl14_reg",
                                   patch_embed_options=dict(img_size=32, patch_size=8, embed_dim=96, depth=1,
                                                            num_heads=4, num_register_tokens=2),
                                   camera_head=True, depth_head=True, dpt_features=16,
                                   dpt_out_channels=(8, 16, 32, 32), pyramid="dpt")
        return PanopticModel2D(backbone=backbone, conv_dim=32, mask_dim=32, depth_dim=32, enc_layers=1, nheads=4,
                               transformer_dim_feedforward=64, hidden_dim=32, num_queries=8, dim_feedforward=64,
                               dec_layers=2, depth_bins=8, reduced_size=(32, 24))

    return make
