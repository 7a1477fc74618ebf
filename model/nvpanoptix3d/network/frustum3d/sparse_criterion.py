"""The 3D losses of :class:`SetCriterion3D` computed on the sparse backend's voxels, without densifying.

The sparse decoder's dense outputs are a constant at every absent voxel (occupancy and mask logit
``ABSENT_LOGIT``, geometry ``truncation``), so each dense loss splits into a sum over the whole grid with the
prediction held at that constant (targets and weights only: no gradient, no per-query volume) plus, at
the active voxels, the difference between the real prediction's term and the constant's. The result is
the dense criterion's value on :func:`densify`'s outputs (tested to float64 precision), while the
prediction side costs O(active voxels x queries) instead of O(grid x queries).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nvpanoptix3d.network.frustum3d.criterion import _down
from nvpanoptix3d.network.frustum3d.sparse import SparseTensor
from nvpanoptix3d.network.frustum3d.sparse.conv import accumulation_dtype
from nvpanoptix3d.network.frustum3d.densify import ABSENT_LOGIT


def _at(volume: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Values of a (B, X, Y, Z) volume at (N, 4) batch-first coordinates."""
    b, x, y, z = coords.unbind(1)
    return volume[b, x, y, z]


def _wide(t: torch.Tensor) -> torch.Tensor:
    """fp16/bf16 (autocast) predictions in fp32 for the losses; fp32/fp64 unchanged."""
    return t.to(accumulation_dtype(t.dtype))


def _bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none")


def _absent_bce(target: torch.Tensor) -> torch.Tensor:
    """BCE of the absent-voxel logit against ``target`` (any shape)."""
    return _bce(torch.full_like(target, ABSENT_LOGIT), target)


def sparse_3d_losses(outputs: dict[str, list[SparseTensor] | SparseTensor], batch: dict,
                     indices: list[tuple[torch.Tensor, torch.Tensor]], *, completion_weights: tuple[float, ...],
                     surface_weight: float, panoptic_weight: float, truncation: float) -> dict[str, torch.Tensor]:
    """The losses of :meth:`SetCriterion3D.forward` for the raw sparse outputs (``occupancy`` and ``masks_3d``
    per level, coarse -> fine, and full-resolution ``geometry``)."""
    frustum = batch["frustum_mask"].float()
    weighting = batch["weighting"]
    occ_targets = list(zip(*batch["occupancy"]))  # per level (fine -> coarse), per sample
    losses: dict[str, torch.Tensor] = {}
    levels = outputs["occupancy"]
    for lvl, (pred, w_level) in enumerate(zip(levels, completion_weights)):
        size = pred.spatial_shape
        target = torch.stack(occ_targets[len(levels) - 1 - lvl]).to(pred.feats.device).to(_wide(pred.feats).dtype)
        weight = _down(weighting, size, "avg") * _down(frustum, size, "max")
        t_act, w_act = _at(target, pred.coords), _at(weight, pred.coords)
        logits = _wide(pred.feats[:, 0])
        total = (_absent_bce(target) * weight).sum() + ((_bce(logits, t_act) - _absent_bce(t_act)) * w_act).sum()
        losses[f"loss_occupancy_{lvl}"] = w_level * total / weight.sum().clamp(min=1)

    geo = outputs["geometry"]
    fine = levels[-1]
    if not torch.equal(geo.coords, fine.coords):
        raise ValueError("sparse geometry and finest occupancy must share their voxels")
    geo_t = batch["geometry"].clamp(0, truncation)
    base = weighting * frustum
    surface = geo_t < truncation
    g_t, b_act, s_act = _at(geo_t, geo.coords), _at(base, geo.coords), _at(surface, geo.coords)
    near_act = s_act | (_wide(fine.feats[:, 0].detach()).sigmoid() > 0.5)  # absent voxels: never "near"
    num = ((truncation - geo_t).abs() * base * surface).sum() \
        + ((_wide(geo.feats[:, 0]) - g_t).abs() * b_act * near_act - (truncation - g_t).abs() * b_act * s_act).sum()
    den = (base * surface).sum() + (b_act * (near_act & ~s_act)).sum()
    losses["loss_geometry"] = surface_weight * num / den.clamp(min=1)

    for lvl, pred in enumerate(outputs["masks_3d"]):
        size = pred.spatial_shape
        total, count = _wide(pred.feats).sum() * 0, 0
        for b, (qi, ti) in enumerate(indices):
            if qi.numel() == 0:
                continue
            masks = batch["gt_masks_3d"][b][ti].to(pred.feats.device, _wide(pred.feats).dtype)
            tgt = _down(masks, size, "max")  # (n, X, Y, Z)
            m = _down(frustum[b:b + 1], size, "max")[0]
            rows = (pred.coords[:, 0] == b).nonzero().flatten()
            x, y, z = pred.coords[rows, 1:].unbind(1)
            t_act, m_act = tgt[:, x, y, z], m[x, y, z]  # (n, N_b), (N_b,)
            logits = _wide(pred.feats[rows][:, qi].T)  # (n, N_b)
            summed = (_absent_bce(tgt) * m).sum() + ((_bce(logits, t_act) - _absent_bce(t_act)) * m_act).sum()
            total = total + summed / m.sum().clamp(min=1)
            count += qi.numel()
        losses[f"loss_panoptic_{lvl}"] = panoptic_weight * total / max(count, 1)
    losses["loss_3d"] = sum(losses.values())
    return losses


__all__ = ["sparse_3d_losses"]
