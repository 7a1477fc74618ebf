"""Dense 3D panoptic volumes from the network outputs of one image."""

from __future__ import annotations

import torch


def _mask_owner(masks, index: int, keep: torch.Tensor, scores: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """(X, Y, Z) index into ``keep`` of the query with the highest score x mask probability per voxel.

    ``masks``: dense (B, Q, X, Y, Z) logits, or a SparseTensor of (N, Q) logits (the sparse backends) whose
    absent voxels get -1; those are never occupied, so they are never assigned either way."""
    if isinstance(masks, torch.Tensor):
        return (scores[:, None, None, None] * masks[index][keep].sigmoid()).argmax(0)
    rows = (masks.coords[:, 0] == index).nonzero().flatten()
    best = (scores[None] * masks.feats[rows][:, keep].sigmoid()).argmax(1)
    owner = torch.full(shape, -1, dtype=torch.long, device=masks.feats.device)
    x, y, z = masks.coords[rows, 1:].unbind(1)
    owner[x, y, z] = best
    return owner


def panoptic_3d(outputs: dict, index: int, *, frustum: torch.Tensor, num_thing_classes: int,
                object_mask_threshold: float, truncation: float, mode: str = "panoptic",
                surface_band: float = 1.5) -> dict:
    """Returns geometry (X,Y,Z) float (truncation where free), occupancy bool, panoptic/semantic/instance
    int volumes and segments [{id, category_id, isthing, score}]. The finest ``pred_masks_3d`` may be a
    SparseTensor (see :func:`_mask_owner`)."""
    occ = (outputs["pred_occupancy"][-1][index].sigmoid() > 0.5) & frustum
    geometry = torch.where(occ, outputs["pred_geometry"][index], torch.full_like(outputs["pred_geometry"][index],
                                                                                 truncation))
    logits = outputs["pred_logits"][index]
    scores, labels = logits.softmax(-1).max(-1)
    no_object = logits.shape[-1] - 1
    keep = ((labels != no_object) & (labels != 0) & (scores > object_mask_threshold)).nonzero().flatten()
    shape = occ.shape
    panoptic = torch.zeros(shape, dtype=torch.int32)
    semantic = torch.zeros(shape, dtype=torch.int64)
    segments = []
    if keep.numel():
        owner = _mask_owner(outputs["pred_masks_3d"][-1], index, keep, scores[keep], shape)
        assigned = occ & (geometry <= surface_band)
        merged: dict[int, int] = {}
        next_id = 1
        for k, q in enumerate(keep.tolist()):
            cls = int(labels[q])
            region = assigned & (owner == k)
            if not region.any():
                continue
            isthing = cls <= num_thing_classes
            merge = (not isthing) or mode == "semantic"
            if merge and cls in merged:
                sid = merged[cls]
            else:
                sid = next_id
                next_id += 1
                segments.append({"id": sid, "category_id": cls, "isthing": bool(isthing), "score": float(scores[q])})
                if merge:
                    merged[cls] = sid
            panoptic[region] = sid
            semantic[region] = cls
    instance = panoptic.clone()
    thing_ids = torch.tensor([s["id"] for s in segments if s["isthing"]] or [-1], dtype=torch.int32)
    instance[~torch.isin(instance, thing_ids)] = 0
    if mode == "instance":
        panoptic = instance
        segments = [s for s in segments if s["isthing"]]
    return {"geometry": geometry, "occupancy": occ, "panoptic": panoptic, "semantic": semantic, "instance": instance,
            "segments": segments}
