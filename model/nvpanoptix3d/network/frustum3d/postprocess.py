"""Dense 3D panoptic volumes from the network outputs of one image, computed as NVIDIA's
``NVPanoptix3DModel.panoptic_3d_inference`` does.

:func:`panoptic_3d_inference` works on NVIDIA's inputs (dense geometry, query class logits, per-query mask
logits at the sparse voxels); :func:`panoptic_3d` is the engine's entry point: it derives those inputs from
our outputs (dense volumes or SparseTensor masks) and adds the instance volume and segment table.
"""

from __future__ import annotations

import torch


def panoptic_3d_inference(geometry: torch.Tensor, mask_cls: torch.Tensor, coords: torch.Tensor,
                          mask_logits: torch.Tensor, *, num_thing_classes: int = 9,
                          object_mask_threshold: float = 0.4, surface_band: float = 1.5,
                          merge_things: bool = False) -> dict:
    """geometry (X, Y, Z) dense distances (truncation where no voxel); mask_cls (Q, C+1) logits (last = no
    object); coords (N, 3) voxel indices of the mask support; mask_logits (N, Q) per-query logits there.

    A query is kept if its class is not no-object and not 0 and its softmax score > threshold. Mask probs
    are sigmoid at the support and 0 elsewhere; each voxel's owner is the kept query with the highest
    score x prob (0 = the first kept query where all are 0); a query's segment is where it owns and its
    prob >= 0.5. Stuff queries of one class share a segment (``merge_things``, our semantic mode: things
    too). Surface voxels (|geometry| <= surface_band) still void go to their owner's segment, if it has one.

    Returns {"panoptic": (X, Y, Z) int32 ids, "semantic": (X, Y, Z) int32 classes, "mapping": {id: class}
    in id order, "segments": [{id, category_id, isthing, score}]}. Rows with duplicated coordinates are
    not supported (one of them wins)."""
    shape = tuple(geometry.shape)
    device = geometry.device
    panoptic = torch.zeros(shape, dtype=torch.int32, device=device)
    out = {"panoptic": panoptic, "semantic": torch.zeros_like(panoptic), "mapping": {}, "segments": []}
    num_classes = mask_cls.shape[-1] - 1
    scores, labels = mask_cls.softmax(-1).max(-1)
    keep = ((labels != num_classes) & (labels != 0) & (scores > object_mask_threshold)).nonzero().flatten()
    coords = coords.to(device=device, dtype=torch.long)
    inside = ((coords >= 0) & (coords < torch.tensor(shape, device=device))).all(1)
    coords, mask_logits = coords[inside], mask_logits.to(device)[inside]
    if coords.shape[0] == 0 or keep.numel() == 0:
        return out
    probs = mask_logits[:, keep].sigmoid()                    # (N, K)
    best = (scores[keep][None] * probs).argmax(1)             # (N,) owner among the kept queries
    on = probs.gather(1, best[:, None])[:, 0] >= 0.5          # owner's own mask
    x, y, z = coords.unbind(1)
    row_ids = torch.zeros(coords.shape[0], dtype=torch.int32, device=device)
    seg_of_k = torch.zeros(keep.numel(), dtype=torch.int32, device=device)
    merged: dict[int, int] = {}
    for k, q in enumerate(keep.tolist()):
        rows = on & (best == k)
        if not bool(rows.any()):
            continue
        cls = int(labels[q])
        isthing = 1 <= cls <= num_thing_classes
        if (not isthing or merge_things) and cls in merged:
            sid = merged[cls]
        else:
            sid = len(out["segments"]) + 1
            out["segments"].append({"id": sid, "category_id": cls, "isthing": bool(isthing),
                                    "score": float(scores[q])})
            out["mapping"][sid] = cls
            if not isthing or merge_things:
                merged[cls] = sid
        row_ids[rows] = sid
        seg_of_k[k] = sid
    panoptic[x, y, z] = row_ids
    # the owner's segment per voxel; voxels without support have all-zero probs: owner = first kept query
    owner_seg = torch.full(shape, int(seg_of_k[0]), dtype=torch.int32, device=device)
    owner_seg[x, y, z] = seg_of_k[best]
    fill = (geometry.abs() <= surface_band) & (panoptic == 0)
    panoptic = torch.where(fill, owner_seg, panoptic)
    class_of = torch.zeros(len(out["segments"]) + 1, dtype=torch.int32, device=device)
    for sid, cls in out["mapping"].items():
        class_of[sid] = cls
    out["panoptic"], out["semantic"] = panoptic, class_of[panoptic.long()]
    return out


def _support(masks, index: int, occ: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(coords (N, 3), logits (N, Q)) of image ``index``'s per-query masks at its occupied voxels (NVIDIA's
    masks live on the final sparse level, the voxels that carry geometry). ``masks``: dense (B, Q, X, Y, Z)
    logits or a SparseTensor of (N, Q) rows."""
    if isinstance(masks, torch.Tensor):
        coords = occ.nonzero()
        x, y, z = coords.unbind(1)
        return coords, masks[index][:, x, y, z].T
    rows = (masks.coords[:, 0] == index).nonzero().flatten()
    coords = masks.coords[rows, 1:].long()
    occ = occ.to(coords.device)
    x, y, z = coords.unbind(1)
    hit = occ[x, y, z]
    return coords[hit], masks.feats[rows][hit]


def panoptic_3d(outputs: dict, index: int, *, frustum: torch.Tensor, num_thing_classes: int,
                object_mask_threshold: float, truncation: float, mode: str = "panoptic",
                surface_band: float = 1.5) -> dict:
    """Returns geometry (X,Y,Z) float (truncation where free), occupancy bool, panoptic/semantic/instance
    int volumes and segments [{id, category_id, isthing, score}], by :func:`panoptic_3d_inference` on the
    occupied voxels. The finest ``pred_masks_3d`` may be a SparseTensor.

    ``mode``: "panoptic" (NVIDIA's), "semantic" (thing queries of a class merge too), "instance" (only thing
    segments are kept)."""
    occ = (outputs["pred_occupancy"][-1][index].sigmoid() > 0.5) & frustum
    raw = outputs["pred_geometry"][index]
    geometry = torch.where(occ, raw, torch.full_like(raw, truncation))
    coords, logits = _support(outputs["pred_masks_3d"][-1], index, occ)
    dev = geometry.device
    r = panoptic_3d_inference(geometry, outputs["pred_logits"][index].to(dev), coords.to(dev), logits.to(dev),
                              num_thing_classes=num_thing_classes, object_mask_threshold=object_mask_threshold,
                              surface_band=surface_band, merge_things=mode == "semantic")
    panoptic, semantic, segments = r["panoptic"].cpu(), r["semantic"].long().cpu(), r["segments"]
    thing_ids = torch.tensor([s["id"] for s in segments if s["isthing"]] or [-1], dtype=torch.int32)
    instance = panoptic.masked_fill(~torch.isin(panoptic, thing_ids), 0)
    if mode == "instance":
        panoptic = instance
        semantic = semantic.masked_fill(instance == 0, 0)
        segments = [s for s in segments if s["isthing"]]
    return {"geometry": geometry, "occupancy": occ, "panoptic": panoptic, "semantic": semantic, "instance": instance,
            "segments": segments}


__all__ = ["panoptic_3d", "panoptic_3d_inference"]
