"""Dense volumes from the completion's sparse outputs (the contract the criterion, post-processing and metrics
read): absent voxels get ABSENT_LOGIT (occupancy, masks) and the truncation distance (geometry)."""

from __future__ import annotations

ABSENT_LOGIT = -12.0  # occupancy / mask logit of voxels that were pruned or never active


def densify(out: dict, truncation: float, *, masks: str = "dense") -> dict[str, list]:
    """``out``: {"occupancy": [SparseTensor (N, 1)] coarse -> fine, "masks_3d": [SparseTensor (N, Q)],
    "geometry": SparseTensor (N, 1)} -> ``pred_occupancy`` [(B, D_l^3)], ``pred_masks_3d`` [(B, Q, D_l^3)],
    ``pred_geometry`` (B, D^3). ``masks="sparse"`` leaves the per-query masks as SparseTensors ((N, Q) rows;
    post-processing reads them directly): densified they are queries x grid."""
    occ = [t.dense(ABSENT_LOGIT)[:, 0] for t in out["occupancy"]]
    masks = [t.dense(ABSENT_LOGIT) for t in out["masks_3d"]] if masks == "dense" else list(out["masks_3d"])
    geometry = out["geometry"].dense(truncation)[:, 0]
    return {"pred_occupancy": occ, "pred_masks_3d": masks, "pred_geometry": geometry}
