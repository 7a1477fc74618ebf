"""2D panoptic post-processing of the query outputs, computed as NVIDIA's ``model_2d.Postprocessor`` does.

Three layers: :func:`panoptic_inference_2d` (one image whose masks are already at the output size: confident
queries, pixel ownership, overlap test, stuff merging, void recovery, per-class probability planes, depth
clamp), :func:`resize_to_input` (masks / depth from model resolution to the padded input size, then
:func:`crop_to` the unpadded size), and :class:`Postprocessor` (a batch, NVIDIA's ``forward`` contract).
:func:`panoptic_2d` is the engine's per-image entry point on top of them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def crop_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(..., H_pad, W_pad) -> (..., H, W): the top-left unpadded part (the model saw right/bottom padding);
    resized bilinearly only if the crop does not have that size (NVIDIA's ``sem_seg_postprocess``)."""
    x = x[..., :size[0], :size[1]]
    if tuple(x.shape[-2:]) != tuple(size):
        lead = x.shape[:-2]
        x = F.interpolate(x.reshape(1, -1, *x.shape[-2:]), size=tuple(size), mode="bilinear",
                          align_corners=False).reshape(*lead, *size)
    return x


def resize_to_input(x: torch.Tensor, orig_shape: tuple[int, int], pad_shape: tuple[int, int],
                    output_scale: float = 1.0) -> torch.Tensor:
    """(B, C, h, w) -> (B, C, H, W): bilinear (align_corners=False) to the padded input size times
    ``output_scale`` (truncated to ints, as NVIDIA does), then :func:`crop_to` the unpadded size."""
    pad = (int(pad_shape[-2] * output_scale), int(pad_shape[-1] * output_scale))
    out = (int(orig_shape[0] * output_scale), int(orig_shape[1] * output_scale))
    return crop_to(F.interpolate(x, size=pad, mode="bilinear", align_corners=False), out)


def panoptic_inference_2d(mask_cls: torch.Tensor, mask_logits: torch.Tensor, depth: torch.Tensor | None = None, *,
                          num_thing_classes: int = 9, object_mask_threshold: float = 0.4,
                          overlap_threshold: float = 0.5, depth_scale: float = 25.0,
                          merge_things: bool = False) -> dict:
    """One image. mask_cls (Q, C+1) logits (last = no object); mask_logits (Q, H, W) at the output size;
    depth (1, H, W) or None.

    Returns {"panoptic": (H, W) int32 ids (0 void), "segments": [{id, isthing, category_id, score}] in
    creation order, "sem_seg": (C, H, W) prob of each pixel's owning query in its class plane, "depth":
    (H, W) clamped to [0, depth_scale] (unclamped when no query is kept: NVIDIA returns early), "semantic":
    (H, W) int64 class of each pixel's segment, "keep": kept query indices, "segment_of_query": {q: id}}.

    Things are classes 1..num_thing_classes (class 0 is stuff). ``merge_things`` (our semantic mode, not
    NVIDIA's) merges thing queries of one class into one segment as stuff queries always are.
    """
    num_classes = mask_cls.shape[-1] - 1
    scores, labels = mask_cls.softmax(-1).max(-1)
    probs = mask_logits.sigmoid()
    keep = ((labels != num_classes) & (scores > object_mask_threshold)).nonzero().flatten()
    h, w = probs.shape[-2:]
    panoptic = torch.zeros((h, w), dtype=torch.int32, device=probs.device)
    sem_seg = torch.zeros((num_classes, h, w), dtype=torch.float32, device=probs.device)
    result = {"panoptic": panoptic, "segments": [], "sem_seg": sem_seg, "keep": keep, "segment_of_query": {},
              "depth": None if depth is None else depth[0]}
    if keep.numel() == 0:
        result["semantic"] = torch.zeros((h, w), dtype=torch.int64, device=probs.device)
        return result
    masks = probs[keep]
    prob = scores[keep].view(-1, 1, 1) * masks
    owner = prob.argmax(0)
    segments, seg_of_query = result["segments"], result["segment_of_query"]
    merged: dict[int, int] = {}   # class -> segment id of merged (stuff) classes
    stuff: list[int] = []         # kept positions of stuff queries that made it (void recovery candidates)
    for k, q in enumerate(keep.tolist()):
        cls = int(labels[q])
        isthing = 1 <= cls <= num_thing_classes
        owned = owner == k
        on = masks[k] >= 0.5
        region = owned & on
        owned_area, mask_area = int(owned.sum()), int(on.sum())
        if owned_area == 0 or mask_area == 0 or not bool(region.any()):
            continue
        if owned_area / mask_area < overlap_threshold:
            continue
        if not isthing:
            stuff.append(k)
        if (not isthing or merge_things) and cls in merged:
            sid = merged[cls]
        else:
            sid = len(segments) + 1
            segments.append({"id": sid, "isthing": bool(isthing), "category_id": cls, "score": float(scores[q])})
            if not isthing or merge_things:
                merged[cls] = sid
        panoptic[region] = sid
        sem_seg[cls][region] = prob[k][region]
        seg_of_query[q] = sid
    if stuff:
        # every pixel still void goes to the stuff query with the highest prob there
        cand = torch.tensor(stuff, dtype=torch.long, device=probs.device)
        best = cand[prob[cand].argmax(0)]
        void = panoptic == 0
        for k in stuff:
            cls = int(labels[keep[k]])
            region = void & (best == k)
            panoptic[region] = merged[cls]
            sem_seg[cls][region] = prob[k][region]
    class_of = torch.zeros(len(segments) + 1, dtype=torch.int64, device=probs.device)
    for s in segments:
        class_of[s["id"]] = s["category_id"]
    result["semantic"] = class_of[panoptic.long()]
    if depth is not None:
        result["depth"] = depth[0].clamp(min=0, max=depth_scale)
    return result


class Postprocessor(nn.Module):
    """NVIDIA's 2D post-processing of a batch (``model_2d.Postprocessor``, panoptic mode); no parameters."""

    def __init__(self, *, num_thing_classes: int = 9, object_mask_threshold: float = 0.4,
                 overlap_threshold: float = 0.5, depth_scale: float = 25.0) -> None:
        super().__init__()
        self.num_thing_classes = num_thing_classes
        self.object_mask_threshold = object_mask_threshold
        self.overlap_threshold = overlap_threshold
        self.depth_scale = depth_scale

    def forward(self, outputs: dict, orig_shape: tuple[int, int], orig_pad_shape: tuple[int, int],
                output_scale: float = 1.0) -> list[dict]:
        """outputs: pred_logits (B, Q, C+1), pred_masks (B, Q, h, w), pred_depths_pad or pred_depths
        (B, 1, h', w'). Like NVIDIA, writes the depth resized to the padded size into
        ``outputs["pred_depths_pad"]`` (B, 1, H_pad, W_pad) (scaled by ``output_scale``).

        Returns per image {"panoptic_seg": ((H, W) int32 ids, [{id, isthing, category_id}]), "depth": (H, W),
        "sem_seg": (C, H, W)} with (H, W) = orig_shape x output_scale."""
        depth = outputs.get("pred_depths_pad")
        if depth is None:
            depth = outputs.get("pred_depths")
        if depth is None:
            raise KeyError("outputs need pred_depths_pad or pred_depths for the depth post-processing")
        pad_h, pad_w = int(orig_pad_shape[-2] * output_scale), int(orig_pad_shape[-1] * output_scale)
        masks = F.interpolate(outputs["pred_masks"], size=(pad_h, pad_w), mode="bilinear", align_corners=False)
        depth = F.interpolate(depth, size=(pad_h, pad_w), mode="bilinear", align_corners=False)
        outputs["pred_depths_pad"] = depth
        out = (int(orig_shape[0] * output_scale), int(orig_shape[1] * output_scale))
        results = []
        for logits, m, d in zip(outputs["pred_logits"], masks, depth):
            m, d = crop_to(m, out), crop_to(d, out)
            r = panoptic_inference_2d(logits.to(m), m, d, num_thing_classes=self.num_thing_classes,
                                      object_mask_threshold=self.object_mask_threshold,
                                      overlap_threshold=self.overlap_threshold, depth_scale=self.depth_scale)
            info = [{k: s[k] for k in ("id", "isthing", "category_id")} for s in r["segments"]]
            results.append({"panoptic_seg": (r["panoptic"], info), "depth": r["depth"], "sem_seg": r["sem_seg"]})
        return results


def panoptic_2d(logits: torch.Tensor, masks: torch.Tensor, *, size: tuple[int, int], num_thing_classes: int,
                object_mask_threshold: float, overlap_threshold: float, mode: str = "panoptic",
                pad_size: tuple[int, int] | None = None, depth: torch.Tensor | None = None,
                depth_scale: float = 25.0) -> dict:
    """One image for the engine: logits (Q, C+1), masks (Q, h, w) at model resolution, optional depth
    (1, h', w'). Masks (and depth) are resized to ``pad_size`` (the padded input the model saw; default
    ``size``, i.e. no padding) and cropped to ``size`` = (H, W), then merged by
    :func:`panoptic_inference_2d` (keys documented there; "depth" is None without a depth input).

    ``mode``: "panoptic" (NVIDIA's), "semantic" (thing queries of a class merge too), "instance" (only
    thing segments are kept; other pixels become void)."""
    pad = tuple(pad_size) if pad_size is not None else tuple(size)
    m = resize_to_input(masks[None], size, pad)[0]
    d = resize_to_input(depth[None], size, pad)[0] if depth is not None else None
    r = panoptic_inference_2d(logits.to(m), m, d, num_thing_classes=num_thing_classes,
                              object_mask_threshold=object_mask_threshold, overlap_threshold=overlap_threshold,
                              depth_scale=depth_scale, merge_things=mode == "semantic")
    if mode == "instance":
        things = [s["id"] for s in r["segments"] if s["isthing"]]
        drop = ~torch.isin(r["panoptic"], torch.tensor(things or [-1], dtype=torch.int32, device=m.device))
        r["panoptic"] = r["panoptic"].masked_fill(drop, 0)
        r["semantic"] = r["semantic"].masked_fill(drop, 0)
        r["segments"] = [s for s in r["segments"] if s["isthing"]]
        r["segment_of_query"] = {q: i for q, i in r["segment_of_query"].items() if i in things}
    return r


__all__ = ["Postprocessor", "crop_to", "panoptic_2d", "panoptic_inference_2d", "resize_to_input"]
