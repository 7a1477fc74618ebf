"""The full two-stage NVPanoptix3D network: the 2D stage plus lifting and 3D completion.

State-dict layout: 2D keys as in the 2D stage (``backbone.*``, ``sem_seg_head.*``); 3D keys under
``projector.*`` and ``completion.*`` (``reprojection`` has no parameters), so the 3D-only keys are
recognisable by substring as in the official checkpoints.
"""

from __future__ import annotations

import torch
from torch import nn

from nvpanoptix3d.network.frustum3d.completion import FrustumCompletion
from nvpanoptix3d.network.frustum3d.lifting import FrustumLifting
from nvpanoptix3d.network.model_2d import PanopticModel2D

THREE_D_KEYS = ("reprojection", "completion", "projector", "ol.")


def is_3d_key(key: str) -> bool:
    return any(part in key for part in THREE_D_KEYS)


def semantic_probabilities(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Per-pixel class probabilities (B, C, h, w) from query class scores and mask probabilities."""
    cls = logits.softmax(-1)[..., :-1]
    sem = torch.einsum("bqc,bqhw->bchw", cls, masks.sigmoid())
    return sem / sem.sum(1, keepdim=True).clamp(min=1e-6)


class NVPanoptix3D(PanopticModel2D):
    def __init__(self, *, grid_dims: int = 256, voxel_size: float = 0.03, depth_min: float = 0.4,
                 depth_max: float = 6.0, truncation: float = 3.0, lift_channels: int = 16, unet_features: int = 16,
                 freeze_2d: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        mask_dim = self.sem_seg_head.predictor.mask_embed.layers[-1].out_features
        hidden = self.sem_seg_head.predictor.decoder_norm.normalized_shape[0]
        self.projector = nn.Conv2d(mask_dim, lift_channels, 1)
        self.reprojection = FrustumLifting(grid_dims=grid_dims, voxel_size=voxel_size, depth_min=depth_min,
                                           depth_max=depth_max, truncation=truncation)
        in_ch = lift_channels + self.reprojection.extra_channels(self.num_classes)
        self.completion = FrustumCompletion(in_channels=in_ch, features=unet_features, query_dim=hidden,
                                            truncation=truncation)
        self.freeze_2d = freeze_2d

    def parameters_2d(self):
        return (p for n, p in self.named_parameters() if not is_3d_key(n))

    def forward_3d(self, out2d: dict, intrinsic: torch.Tensor, frustum: torch.Tensor,
                   image_size: tuple[int, int]) -> dict:
        sem = semantic_probabilities(out2d["pred_logits"], out2d["pred_masks"])
        vol = self.reprojection(features=self.projector(out2d["mask_features"]), semantic=sem,
                                depth=out2d["pred_depth"], mp_occ=out2d["pred_mp_occ"], intrinsic=intrinsic,
                                image_size=image_size, frustum=frustum)
        return self.completion(vol, out2d["query_features"])

    def forward(self, images: torch.Tensor, intrinsic: torch.Tensor | None = None,
                frustum: torch.Tensor | None = None) -> dict:
        """images (B,3,H,W) in [0,1]; intrinsic (B,4,4) for (W,H); frustum (B,X,Y,Z) bool. Without intrinsic
        and frustum only the 2D stage runs."""
        if intrinsic is None or frustum is None:
            return super().forward(images)
        if self.freeze_2d:
            with torch.no_grad():
                out = super().forward(images)
        else:
            out = super().forward(images)
        out.update(self.forward_3d(out, intrinsic, frustum, (images.shape[-1], images.shape[-2])))
        return out
