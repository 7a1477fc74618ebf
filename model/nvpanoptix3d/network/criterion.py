"""2D losses: Hungarian matching (scipy) on class + point-sampled mask BCE/dice costs, then classification
with a no-object weight, mask BCE and dice on sampled points, depth L1 and multi-plane occupancy BCE, with
deep supervision on every decoder layer (suffix ``_i``). Structure after Mask2Former's SetCriterion.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from torch import nn


def _point_sample(x: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """x (N, 1, H, W), coords (N, P, 2) in [0, 1] (x, y) -> (N, P)."""
    return F.grid_sample(x, coords[:, :, None] * 2 - 1, align_corners=False)[..., 0][:, 0]


def _dice(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    p = pred.sigmoid()
    return 1 - (2 * (p * target).sum(-1) + 1) / (p.sum(-1) + target.sum(-1) + 1)


@torch.no_grad()
def hungarian_match(logits: torch.Tensor, masks: torch.Tensor, targets: list[dict], *, class_weight: float,
                    mask_weight: float, dice_weight: float, num_points: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per image (query indices, target indices) minimising class + mask BCE + dice cost."""
    out = []
    for b, tgt in enumerate(targets):
        labels, tmasks = tgt["labels"], tgt["masks"]
        if labels.numel() == 0:
            out.append((torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long)))
            continue
        prob = logits[b].softmax(-1)
        cost_class = -prob[:, labels]
        coords = torch.rand(1, num_points, 2, device=masks.device)
        pm = _point_sample(masks[b][:, None], coords.expand(masks.shape[1], -1, -1))
        tm = _point_sample(tmasks[:, None].float(), coords.expand(tmasks.shape[0], -1, -1))
        pos = F.binary_cross_entropy_with_logits(pm, torch.ones_like(pm), reduction="none")
        neg = F.binary_cross_entropy_with_logits(pm, torch.zeros_like(pm), reduction="none")
        cost_mask = (pos @ tm.T + neg @ (1 - tm).T) / num_points
        p = pm.sigmoid()
        cost_dice = 1 - (2 * p @ tm.T + 1) / (p.sum(-1)[:, None] + tm.sum(-1)[None] + 1)
        cost = class_weight * cost_class + mask_weight * cost_mask + dice_weight * cost_dice
        q, t = linear_sum_assignment(cost.float().cpu().numpy())
        out.append((torch.as_tensor(q, dtype=torch.long), torch.as_tensor(t, dtype=torch.long)))
    return out


class SetCriterion2D(nn.Module):
    def __init__(self, *, num_classes: int, class_weight: float = 2.0, mask_weight: float = 5.0,
                 dice_weight: float = 5.0, depth_weight: float = 5.0, mp_occ_weight: float = 5.0,
                 no_object_weight: float = 0.1, num_points: int = 12544, oversample_ratio: float = 3.0,
                 importance_sample_ratio: float = 0.75, deep_supervision: bool = True) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.weights = {"loss_ce": class_weight, "loss_mask": mask_weight, "loss_dice": dice_weight,
                        "loss_depth": depth_weight, "loss_mp_occ": mp_occ_weight}
        self.match_kw = dict(class_weight=class_weight, mask_weight=mask_weight, dice_weight=dice_weight,
                             num_points=min(num_points, 4096))
        self.num_points, self.oversample, self.importance = num_points, oversample_ratio, importance_sample_ratio
        self.deep_supervision = deep_supervision
        empty = torch.ones(num_classes + 1)
        empty[-1] = no_object_weight
        self.register_buffer("empty_weight", empty, persistent=False)

    def _sample_points(self, logits: torch.Tensor) -> torch.Tensor:
        """Importance sampling of points where the mask is uncertain (|logit| small), plus uniform points."""
        n = logits.shape[0]
        k = int(self.num_points * self.oversample)
        coords = torch.rand(n, k, 2, device=logits.device)
        unc = -_point_sample(logits[:, None], coords).abs()
        n_imp = int(self.importance * self.num_points)
        idx = unc.topk(n_imp, dim=1).indices
        imp = torch.gather(coords, 1, idx[..., None].expand(-1, -1, 2))
        return torch.cat([imp, torch.rand(n, self.num_points - n_imp, 2, device=logits.device)], dim=1)

    def _layer_losses(self, logits, masks, targets, indices) -> dict[str, torch.Tensor]:
        b, q, _ = logits.shape
        target_classes = torch.full((b, q), self.num_classes, dtype=torch.long, device=logits.device)
        for i, (qi, ti) in enumerate(indices):
            target_classes[i, qi] = targets[i]["labels"][ti].to(logits.device)
        loss_ce = F.cross_entropy(logits.transpose(1, 2), target_classes, self.empty_weight)
        src = torch.cat([masks[i, qi] for i, (qi, _) in enumerate(indices)]) if indices else masks[:0, 0]
        tgt = torch.cat([targets[i]["masks"][ti].float() for i, (_, ti) in enumerate(indices)]).to(masks.device) \
            if indices else masks[:0, 0]
        n_masks = max(src.shape[0], 1)
        if src.shape[0] == 0:
            zero = masks.sum() * 0
            return {"loss_ce": loss_ce, "loss_mask": zero, "loss_dice": zero}
        with torch.no_grad():
            coords = self._sample_points(src)
        ps = _point_sample(src[:, None], coords)
        ts = _point_sample(tgt[:, None], coords)
        loss_mask = F.binary_cross_entropy_with_logits(ps, ts, reduction="none").mean(1).sum() / n_masks
        loss_dice = _dice(ps, ts).sum() / n_masks
        return {"loss_ce": loss_ce, "loss_mask": loss_mask, "loss_dice": loss_dice}

    def forward(self, outputs: dict, targets: list[dict]) -> tuple[dict[str, torch.Tensor], list]:
        """Weighted losses (and their sum as ``loss``) and the final layer's matching indices."""
        tmasks = [dict(t, masks=F.interpolate(t["masks"][None].float(), size=outputs["pred_masks"].shape[-2:],
                                              mode="nearest")[0] > 0.5 if t["masks"].numel() else
                       t["masks"].new_zeros((0, *outputs["pred_masks"].shape[-2:]))) for t in targets]
        indices = hungarian_match(outputs["pred_logits"], outputs["pred_masks"], tmasks, **self.match_kw)
        losses = self._layer_losses(outputs["pred_logits"], outputs["pred_masks"], tmasks, indices)
        if self.deep_supervision:
            for i, aux in enumerate(outputs.get("aux_outputs", [])):
                idx = hungarian_match(aux["pred_logits"], aux["pred_masks"], tmasks, **self.match_kw)
                for k, v in self._layer_losses(aux["pred_logits"], aux["pred_masks"], tmasks, idx).items():
                    losses[f"{k}_{i}"] = v
        depth_t = torch.stack([t["depth"] for t in targets]).to(outputs["pred_depth"].device)
        valid = depth_t > 0
        pred_d = outputs["pred_depth"][:, 0]
        losses["loss_depth"] = (pred_d - depth_t).abs()[valid].mean() if valid.any() else pred_d.sum() * 0
        if "pred_mp_occ" in outputs and all("mp_occ" in t for t in targets):
            occ_t = torch.stack([t["mp_occ"] for t in targets]).to(outputs["pred_mp_occ"].device)
            pred = outputs["pred_mp_occ"]
            if occ_t.shape[-2:] != pred.shape[-2:]:
                occ_t = F.interpolate(occ_t, size=pred.shape[-2:], mode="nearest")
            v = F.interpolate(valid[:, None].float(), size=pred.shape[-2:], mode="nearest") > 0
            bce = F.binary_cross_entropy_with_logits(pred, occ_t, reduction="none")
            losses["loss_mp_occ"] = (bce * v).sum() / (v.sum() * pred.shape[1]).clamp(min=1)
        weighted = {k: v * self.weights[k.rsplit("_", 1)[0] if k[-1].isdigit() else k] for k, v in losses.items()}
        weighted["loss"] = sum(weighted.values())
        return weighted, indices


def targets_from_batch(batch: dict) -> list[dict]:
    """Criterion targets from a collated dataset batch."""
    out = []
    for i in range(batch["image"].shape[0]):
        t = {"labels": batch["gt_classes"][i], "masks": batch["gt_masks"][i], "depth": batch["depth"][i]}
        if "mp_occ" in batch:
            t["mp_occ"] = batch["mp_occ"][i]
        out.append(t)
    return out
