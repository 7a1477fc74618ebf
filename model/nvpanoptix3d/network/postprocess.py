"""2D panoptic / instance / semantic inference from query outputs (Mask2Former-style merging)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def panoptic_2d(logits: torch.Tensor, masks: torch.Tensor, *, size: tuple[int, int], num_thing_classes: int,
                object_mask_threshold: float, overlap_threshold: float, mode: str = "panoptic") -> dict:
    """One image: logits (Q, C+1), masks (Q, h, w) -> {"panoptic": (H,W) int ids, "segments": [...],
    "semantic": (H,W) class ids, "keep": kept query indices, "segment_of_query": {q: id}}.

    Stuff queries of the same class merge into one segment; things stay separate; in semantic mode all
    queries of a class merge.
    """
    scores, labels = logits.softmax(-1).max(-1)
    no_object = logits.shape[-1] - 1
    keep = (labels != no_object) & (scores > object_mask_threshold)
    prob_masks = F.interpolate(masks[None], size=size, mode="bilinear", align_corners=False)[0].sigmoid()
    h, w = size
    panoptic = torch.zeros((h, w), dtype=torch.int32)
    semantic = torch.zeros((h, w), dtype=torch.int64)
    segments = []
    seg_of_query: dict[int, int] = {}
    idx = keep.nonzero().flatten()
    if idx.numel() == 0:
        return {"panoptic": panoptic, "semantic": semantic, "segments": segments, "keep": idx, "segment_of_query": {}}
    cur = scores[idx, None, None] * prob_masks[idx]
    owner = cur.argmax(0)
    merged: dict[int, int] = {}
    next_id = 1
    for k, q in enumerate(idx.tolist()):
        cls = int(labels[q])
        area_all = (prob_masks[q] >= 0.5).sum().item()
        mask = (owner == k) & (prob_masks[q] >= 0.5)
        area = mask.sum().item()
        if area_all == 0 or area == 0 or area / area_all < overlap_threshold:
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
        panoptic[mask] = sid
        semantic[mask] = cls
        seg_of_query[q] = sid
    if mode == "instance":
        things = {s["id"] for s in segments if s["isthing"]}
        panoptic[~torch.isin(panoptic, torch.tensor(sorted(things) or [-1], dtype=torch.int32))] = 0
        segments = [s for s in segments if s["isthing"]]
    return {"panoptic": panoptic, "semantic": semantic, "segments": segments, "keep": idx,
            "segment_of_query": seg_of_query}
