"""The full two-stage NVPanoptix3D network: the 2D stage plus lifting and 3D completion.

State-dict layout: 2D keys as in the 2D stage (``backbone.*``, ``sem_seg_head.*``); 3D keys under
``projector.*`` and ``completion.*`` (``reprojection`` has no parameters), so the 3D-only keys are
recognisable by their top-level module name.

``backend`` picks the 3D implementation: ``dense`` (a U-Net over the whole grid), ``sparse`` (pure
PyTorch sparse convolutions over the lifted voxels) or ``spconv`` (CUDA). Every backend returns the same
dense output dict, so the criterion, post-processing and metrics do not depend on it.
"""

from __future__ import annotations

import torch
from torch import nn

from nvpanoptix3d.network.frustum3d.completion import FrustumCompletion
from nvpanoptix3d.network.frustum3d.lifting import FrustumLifting
from nvpanoptix3d.network.model_2d import PanopticModel2D

THREE_D_MODULES = ("projector", "completion", "reprojection", "ol")
WRAPPER_PREFIXES = ("model.", "module.", "_orig_mod.")


def strip_wrapper_prefixes(key: str) -> str:
    """Drop Lightning / DDP / torch.compile prefixes (``model.``, ``module.``, ``_orig_mod.``), repeatedly."""
    changed = True
    while changed:
        changed = False
        for pre in WRAPPER_PREFIXES:
            if key.startswith(pre):
                key, changed = key[len(pre):], True
    return key


def is_3d_key(key: str) -> bool:
    """True for parameters of the 3D stage: the top-level module (after wrapper prefixes) is one of
    THREE_D_MODULES. A substring test would also catch the 2D ``sem_seg_head.depth_projector``."""
    return strip_wrapper_prefixes(key).split(".", 1)[0] in THREE_D_MODULES


def semantic_probabilities(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Per-pixel class probabilities (B, C, h, w) from query class scores and mask probabilities."""
    cls = logits.softmax(-1)[..., :-1]
    sem = torch.einsum("bqc,bqhw->bchw", cls, masks.sigmoid())
    return sem / sem.sum(1, keepdim=True).clamp(min=1e-6)


class NVPanoptix3D(PanopticModel2D):
    def __init__(self, *, grid_dims: int = 256, voxel_size: float = 0.03, depth_min: float = 0.4,
                 depth_max: float = 6.0, truncation: float = 3.0, lift_channels: int = 16, unet_features: int = 16,
                 freeze_2d: bool = True, backend: str = "dense", max_voxels: int = 700000, **kwargs) -> None:
        super().__init__(**kwargs)
        mask_dim = self.sem_seg_head.predictor.mask_embed.layers[-1].out_features
        hidden = self.sem_seg_head.predictor.decoder_norm.normalized_shape[0]
        self.projector = nn.Conv2d(mask_dim, lift_channels, 1)
        self.backend, self.truncation = backend, truncation
        lift_kw = dict(grid_dims=grid_dims, voxel_size=voxel_size, depth_min=depth_min, depth_max=depth_max,
                       truncation=truncation)
        if backend == "dense":
            self.reprojection = FrustumLifting(**lift_kw)
        elif backend in ("sparse", "spconv"):
            from nvpanoptix3d.network.frustum3d.sparse_lifting import SparseFrustumLifting  # noqa: PLC0415

            self.reprojection = SparseFrustumLifting(**lift_kw, max_voxels=max_voxels)
        else:
            raise ValueError(f"unknown 3D backend {backend!r}; choose dense, sparse or spconv")
        in_ch = lift_channels + self.reprojection.extra_channels(self.num_classes)
        if backend == "dense":
            self.completion = FrustumCompletion(in_channels=in_ch, features=unet_features, query_dim=hidden,
                                                truncation=truncation)
        else:
            from nvpanoptix3d.network.frustum3d.sparse_completion import SparseFrustumCompletion  # noqa: PLC0415

            self.completion = SparseFrustumCompletion(in_channels=in_ch, features=unet_features, query_dim=hidden,
                                                      truncation=truncation, backend=backend, max_voxels=max_voxels)
        self.freeze_2d = freeze_2d

    def parameters_2d(self):
        return (p for n, p in self.named_parameters() if not is_3d_key(n))

    def forward_3d(self, out2d: dict, intrinsic: torch.Tensor, frustum: torch.Tensor,
                   image_size: tuple[int, int], occupancy: list | None = None, sparse_outputs: bool = False) -> dict:
        sem = semantic_probabilities(out2d["pred_logits"], out2d["pred_masks"])
        vol = self.reprojection(features=self.projector(out2d["mask_features"]), semantic=sem,
                                depth=out2d["pred_depth"], mp_occ=out2d["pred_mp_occ"], intrinsic=intrinsic,
                                image_size=image_size, frustum=frustum)
        if self.backend == "dense":
            return self.completion(vol, out2d["query_features"])
        from nvpanoptix3d.network.frustum3d.sparse_completion import densify  # noqa: PLC0415

        out = self.completion(vol, out2d["query_features"], frustum, occupancy)
        return {"sparse_3d": out} if sparse_outputs else densify(out, self.truncation)

    def densify_3d(self, outputs: dict, masks: str = "dense") -> dict:
        """The dense 3D outputs of a ``sparse_outputs=True`` call (unchanged outputs otherwise); with
        ``masks="sparse"`` the per-query masks stay SparseTensors (what evaluation and inference need)."""
        if "sparse_3d" not in outputs:
            return outputs
        from nvpanoptix3d.network.frustum3d.sparse_completion import densify  # noqa: PLC0415

        rest = {k: v for k, v in outputs.items() if k != "sparse_3d"}
        return {**rest, **densify(outputs["sparse_3d"], self.truncation, masks=masks)}

    def forward(self, images: torch.Tensor, intrinsic: torch.Tensor | None = None,
                frustum: torch.Tensor | None = None, occupancy: list | None = None,
                sparse_outputs: bool = False) -> dict:
        """images (B,3,H,W) in [0,1]; intrinsic (B,4,4) for (W,H); frustum (B,X,Y,Z) bool. Without intrinsic
        and frustum only the 2D stage runs. ``occupancy`` (the batch's per-sample occupancy targets, fine ->
        coarse) lets the sparse backends keep target voxels while training; the dense backend ignores it.
        ``sparse_outputs``: the sparse backends return their voxels under ``sparse_3d`` instead of dense
        volumes (the criterion takes either; :meth:`densify_3d` converts)."""
        if intrinsic is None or frustum is None:
            return super().forward(images)
        if self.freeze_2d:
            with torch.no_grad():
                out = super().forward(images)
        else:
            out = super().forward(images)
        out.update(self.forward_3d(out, intrinsic, frustum, (images.shape[-1], images.shape[-2]), occupancy,
                                   sparse_outputs))
        return out
