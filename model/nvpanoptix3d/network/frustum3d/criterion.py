"""3D losses: occupancy BCE per level (completion_weights, coarse -> fine), geometry L1 (surface_weight)
and per-query 3D mask BCE of the 2D-matched queries at every level (panoptic_weight), all weighted by
the dataset's per-voxel weighting and restricted to the frustum."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _down(x: torch.Tensor, size: tuple[int, ...], kind: str) -> torch.Tensor:
    if tuple(x.shape[-3:]) == tuple(size):
        return x
    x5 = x[:, None] if x.dim() == 4 else x
    out = F.adaptive_max_pool3d(x5, size) if kind == "max" else F.adaptive_avg_pool3d(x5, size)
    return out[:, 0] if x.dim() == 4 else out


class SetCriterion3D(nn.Module):
    def __init__(self, *, completion_weights: tuple[float, float, float] = (50.0, 25.0, 10.0),
                 surface_weight: float = 5.0, panoptic_weight: float = 25.0, truncation: float = 3.0) -> None:
        super().__init__()
        self.completion_weights = tuple(completion_weights)
        self.surface_weight, self.panoptic_weight, self.truncation = surface_weight, panoptic_weight, truncation

    def forward(self, outputs: dict, batch: dict, indices: list[tuple[torch.Tensor, torch.Tensor]]) -> dict:
        """Dense outputs (``pred_occupancy``, ...) or the sparse backend's raw voxels (``sparse_3d``, the model
        called with ``sparse_outputs=True``): the same losses, the latter without densifying."""
        if "sparse_3d" in outputs:
            from nvpanoptix3d.network.frustum3d.sparse_criterion import sparse_3d_losses  # noqa: PLC0415

            return sparse_3d_losses(outputs["sparse_3d"], batch, indices, completion_weights=self.completion_weights,
                                    surface_weight=self.surface_weight, panoptic_weight=self.panoptic_weight,
                                    truncation=self.truncation)
        frustum = batch["frustum_mask"].float()
        weighting = batch["weighting"]
        occ_targets = list(zip(*batch["occupancy"]))  # per level (fine -> coarse), per sample
        losses = {}
        n_levels = len(outputs["pred_occupancy"])
        for lvl, (pred, w_level) in enumerate(zip(outputs["pred_occupancy"], self.completion_weights)):
            size = pred.shape[-3:]
            target = torch.stack(occ_targets[n_levels - 1 - lvl]).to(pred.device)
            mask = _down(frustum, size, "max")
            weight = _down(weighting, size, "avg") * mask
            bce = F.binary_cross_entropy_with_logits(pred, target, reduction="none")
            losses[f"loss_occupancy_{lvl}"] = w_level * (bce * weight).sum() / weight.sum().clamp(min=1)
        geo_t = batch["geometry"].clamp(0, self.truncation)
        near = (geo_t < self.truncation) | (outputs["pred_occupancy"][-1].sigmoid() > 0.5).detach()
        wg = weighting * frustum * near
        losses["loss_geometry"] = self.surface_weight * ((outputs["pred_geometry"] - geo_t).abs() * wg).sum() \
            / wg.sum().clamp(min=1)
        for lvl, pred in enumerate(outputs["pred_masks_3d"]):
            size = pred.shape[-3:]
            total, count = pred.sum() * 0, 0
            for b, (qi, ti) in enumerate(indices):
                if qi.numel() == 0:
                    continue
                tgt = _down(batch["gt_masks_3d"][b][ti].float().to(pred.device), size, "max")
                m = _down(frustum[b:b + 1], size, "max")[0]
                bce = F.binary_cross_entropy_with_logits(pred[b, qi], tgt, reduction="none")
                total = total + (bce * m).sum() / m.sum().clamp(min=1)
                count += qi.numel()
            losses[f"loss_panoptic_{lvl}"] = self.panoptic_weight * total / max(count, 1)
        losses["loss_3d"] = sum(losses.values())
        return losses
