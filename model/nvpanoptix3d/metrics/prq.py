"""Panoptic reconstruction quality (PRQ, RSQ, RRQ) of Dahnert et al., "Panoptic 3D Scene Reconstruction
From a Single RGB Image" (NeurIPS 2021), computed as NVIDIA TAO 7.0.1 computes it (equal to Uni-3D's and
Dahnert's code); docs/metrics.md states every rule and where the references differ.

Per sample, ground truth and prediction are dicts ``{segment_id: (mask, class)}``; a mask is a boolean
volume or, as ``segments_from_volumes`` returns it, the sorted flat voxel indices of one. Every segment
counts, also one that is empty: an empty ground-truth segment is a false negative, an empty prediction a
false positive. A predicted segment matches a ground-truth segment of the same class when their voxel IoU
is > 0.25 (strict), ground truth in order, the first unmatched prediction wins. Per class over the split:
PRQ = ΣIoU / (TP + FP/2 + FN/2), RSQ = ΣIoU / TP, RRQ = TP / (TP + FP/2 + FN/2); averages are over the
classes with ground truth. We report fractions in [0, 1] (TAO and the papers print them x100).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

MATCH_IOU = 0.25
#: Stuff classes of TAO's 3D ground truth: wall and floor for 3D-FRONT (ceiling is neither thing nor stuff
#: there), wall, floor and ceiling for Matterport3D.
STUFF_3D = {"front3d": (10, 11), "matterport": (10, 11, 12)}


@dataclass
class _ClassStats:
    iou: float = 0.0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    n: int = 0


def stuff_classes_3d(dataset_name: str, num_thing_classes: int = 9, num_classes: int = 13) -> tuple[int, ...]:
    """TAO's stuff classes of the 3D ground truth for a dataset family, for any class count: the classes after
    the things, without the last one (ceiling) except for Matterport3D."""
    stuff = list(range(num_thing_classes + 1, num_classes))
    if dataset_name != "matterport" and stuff:
        stuff = stuff[:-1]
    return tuple(stuff)


def _flat_indices(mask: Any) -> np.ndarray:
    """Sorted flat voxel indices of a mask given as a boolean volume or as indices already."""
    if isinstance(mask, torch.Tensor):
        mask = mask.detach().cpu().numpy()
    mask = np.asarray(mask)
    if mask.dtype == bool:
        return np.flatnonzero(mask)
    return mask.astype(np.int64, copy=False).reshape(-1)


def _scratch_size(*segment_sets: list[np.ndarray]) -> int:
    top = [int(s[-1]) for group in segment_sets for s in group if s.size]
    return max(top) + 1 if top else 1


@dataclass
class PanopticReconstructionQuality:
    """Accumulates per-class statistics over a split; ``compute()`` gives PRQ/RSQ/RRQ per class and averaged."""

    thing_classes: set[int] = field(default_factory=lambda: set(range(1, 10)))
    ignore_classes: set[int] = field(default_factory=lambda: {0})
    stats: dict[int, _ClassStats] = field(default_factory=dict)

    def reset(self) -> None:
        self.stats.clear()

    def update(self, gt: dict[int, tuple[Any, int]], pred: dict[int, tuple[Any, int]]) -> None:
        """Match one sample's segments (TAO's order: ground truth in dict order, first free prediction > 0.25)."""
        classes = {int(c) for _, c in gt.values()} | {int(c) for _, c in pred.values()}
        for cls in sorted(classes - self.ignore_classes):
            g = [_flat_indices(m) for m, c in gt.values() if c == cls]
            p = [_flat_indices(m) for m, c in pred.values() if c == cls]
            st = self.stats.setdefault(cls, _ClassStats())
            st.n += len(g)
            if not g or not p:
                st.fn += len(g)
                st.fp += len(p)
                continue
            # one scratch volume marks a ground-truth segment; each prediction counts its hits in O(size)
            scratch = np.zeros(_scratch_size(g, p), dtype=bool)
            matched: set[int] = set()
            for gi in g:
                scratch[gi] = True
                hit = None
                for j, pj in enumerate(p):
                    if j in matched:
                        continue
                    inter = int(np.count_nonzero(scratch[pj]))
                    union = gi.size + pj.size - inter
                    if union and inter / union > MATCH_IOU:
                        hit = (j, inter / union)
                        break
                scratch[gi] = False
                if hit is None:
                    st.fn += 1
                else:
                    matched.add(hit[0])
                    st.tp += 1
                    st.iou += float(hit[1])
            st.fp += len(p) - len(matched)

    def compute(self) -> dict:
        per_class = {}
        for cls, st in sorted(self.stats.items()):
            if st.n == 0:
                continue
            denom = st.tp + 0.5 * st.fp + 0.5 * st.fn
            per_class[cls] = {
                "PRQ": st.iou / denom if denom else 0.0,
                "RSQ": st.iou / st.tp if st.tp else 0.0,
                "RRQ": st.tp / denom if denom else 0.0,
                "TP": st.tp, "FP": st.fp, "FN": st.fn, "N": st.n,
            }

        def mean(key: str, subset=None) -> float:
            vals = [v[key] for c, v in per_class.items() if subset is None or c in subset]
            return float(np.mean(vals)) if vals else 0.0

        stuff = set(per_class) - self.thing_classes
        return {"PRQ": mean("PRQ"), "RSQ": mean("RSQ"), "RRQ": mean("RRQ"),
                "PRQ_th": mean("PRQ", self.thing_classes), "PRQ_st": mean("PRQ", stuff), "per_class": per_class}

    def table(self, names: dict[int, str] | None = None) -> str:
        result = self.compute()
        lines = [f"{'class':<12}{'PRQ':>8}{'RSQ':>8}{'RRQ':>8}{'N':>6}"]
        for cls, v in result["per_class"].items():
            name = (names or {}).get(cls, str(cls))
            lines.append(f"{name:<12}{v['PRQ']:8.3f}{v['RSQ']:8.3f}{v['RRQ']:8.3f}{v['N']:6d}")
        lines.append(f"{'mean':<12}{result['PRQ']:8.3f}{result['RSQ']:8.3f}{result['RRQ']:8.3f}")
        return "\n".join(lines)


def panoptic_from_labels_3d(semantic: np.ndarray, instance: np.ndarray,
                            stuff_classes: tuple[int, ...] = STUFF_3D["front3d"]) -> tuple[np.ndarray, dict[int, int]]:
    """Ground-truth panoptic ids from semantic + instance volumes, by TAO's rules.

    Every non-zero instance id is one segment over all its voxels (whatever their semantic label); its class
    is the most frequent label among its voxels that are neither 0 nor stuff (ties: the smaller label), and an
    instance without such a voxel has no class and is not a segment. Then every stuff class present becomes
    one segment over all its voxels, taking them from instances. Stuff ids are 1.., thing ids follow.
    """
    sem = np.asarray(semantic).reshape(-1)
    ins = np.asarray(instance).reshape(-1)
    pan = np.zeros(sem.shape, dtype=np.int64)
    sem_of: dict[int, int] = {}
    first_thing = len(stuff_classes) + 1
    nz = np.flatnonzero(ins)
    if nz.size:
        ids, inverse = np.unique(ins[nz], return_inverse=True)
        pan[nz] = first_thing + inverse
        labels = sem[nz]
        keep = ~np.isin(labels, (0, *stuff_classes))
        if keep.any():
            n_lab = int(labels[keep].max()) + 1
            votes = np.bincount(inverse[keep] * n_lab + labels[keep].astype(np.int64),
                                minlength=len(ids) * n_lab).reshape(len(ids), n_lab)
            for k in np.flatnonzero(votes.any(axis=1)):
                sem_of[first_thing + int(k)] = int(votes[k].argmax())
    for idx, cls in enumerate(stuff_classes):
        region = sem == cls
        if region.any():
            pan[region] = idx + 1
            sem_of[idx + 1] = int(cls)
    return pan.reshape(np.shape(semantic)), sem_of


def _frustum_at(frustum: np.ndarray | torch.Tensor, f: int) -> torch.Tensor:
    """The frustum mask at the evaluation grid (nearest resize, as TAO), as a bool tensor."""
    t = frustum if isinstance(frustum, torch.Tensor) else torch.from_numpy(np.asarray(frustum))
    if f > 1:
        size = [n // f for n in t.shape]
        t = F.interpolate(t.float()[None, None], size=size, mode="nearest")[0, 0]
    return t if t.dtype == torch.bool else t != 0


def _thicken_np(m: np.ndarray) -> np.ndarray:
    """``_thicken`` on a NumPy crop, separably: along each axis a voxel also sets the next two."""
    for axis in range(3):
        out = m.copy()
        src = np.moveaxis(m, axis, 0)
        dst = np.moveaxis(out, axis, 0)
        dst[1:] |= src[:-1]
        dst[2:] |= src[:-2]
        m = out
    return m


def _thicken(grid: torch.Tensor) -> torch.Tensor:
    """The references' 27-voxel thickening: an occupied voxel v sets v + {0, 1, 2}^3 (an offset cube, not the
    centred 3x3x3 one), cut at the far border; separable boolean ORs along each axis."""
    m = grid.bool()
    for axis in range(3):
        out = m.clone()
        n = m.shape[axis]
        for step in (1, 2):
            if n > step:
                out.narrow(axis, step, n - step).logical_or_(m.narrow(axis, 0, n - step))
        m = out
    return m


def _pool(grid: torch.Tensor, f: int) -> torch.Tensor:
    """TAO's downsampling of a surface mask: max-pool with kernel f + 1, stride f, padding 1."""
    return F.max_pool3d(grid[None, None].float(), kernel_size=f + 1, stride=f, padding=1)[0, 0] > 0


def segments_from_volumes(panoptic: Any, semantic_of: dict[int, int], geometry: Any, frustum: Any,
                          iso_value: float, downsample: int = 1, *,
                          device: str | torch.device | None = None) -> dict[int, tuple[np.ndarray, int]]:
    """Evaluation segments as TAO builds them: the voxels of each panoptic id with ``|geometry| < iso_value``,
    max-pooled when ``downsample`` > 1, thickened by the offset 27-voxel cube, cut to the (nearest-resized)
    frustum. Every id of ``semantic_of`` gets a segment, an empty one included.

    Returns ``{id: (sorted flat voxel indices in the evaluation grid, class)}``. The NumPy path works on
    each segment's bounding box (same result as the whole grid, a fraction of the cost); with a ``device``
    (or CUDA tensors as input) the whole-grid torch path runs there instead.
    """
    f = max(int(downsample), 1)
    on_torch = device is not None or (isinstance(panoptic, torch.Tensor) and panoptic.is_cuda)
    if on_torch:
        return _segments_torch(panoptic, semantic_of, geometry, frustum, iso_value, f, device)
    pan = np.asarray(panoptic)
    shape = pan.shape
    if f == 1 and not isinstance(frustum, torch.Tensor):
        small = np.asarray(frustum)
        small = small if small.dtype == bool else small != 0
    else:
        small = _frustum_at(frustum, f).numpy()
    n_out = small.shape
    wanted = np.fromiter(semantic_of, dtype=np.int64, count=len(semantic_of))
    flat_pan = pan.reshape(-1)
    # labelled voxels first (a small share of the grid), then the surface test on those only
    candidates = np.flatnonzero(flat_pan != 0) if 0 not in semantic_of else np.arange(flat_pan.size)
    labels = flat_pan[candidates]
    keep = np.isin(labels, wanted)
    candidates, labels = candidates[keep], labels[keep]
    near = np.abs(np.asarray(geometry).reshape(-1)[candidates]) < iso_value
    surface, labels = candidates[near], labels[near]
    # label ranks fit 16 bits in practice, where NumPy's stable sort is a radix sort
    ranks = np.searchsorted(np.sort(wanted), labels)
    order = np.argsort(ranks.astype(np.uint16) if len(wanted) < 2 ** 16 else ranks, kind="stable")
    surface, labels = surface[order], labels[order]
    bounds = np.searchsorted(labels, wanted), np.searchsorted(labels, wanted, side="right")
    out: dict[int, tuple[np.ndarray, int]] = {}
    for k, (seg_id, cls) in enumerate(semantic_of.items()):
        voxels = surface[bounds[0][k]:bounds[1][k]]
        if voxels.size == 0:
            out[seg_id] = (np.zeros(0, dtype=np.int64), cls)
            continue
        coords = np.unravel_index(voxels, shape)
        c_lo = np.array([int(c.min()) for c in coords])
        c_hi = np.array([int(c.max()) for c in coords])
        # pooled output voxel o covers input [o*f - 1, o*f + f - 1]; thickening then reaches o + 2
        lo_out = np.maximum((c_lo + 1 - f) // f, 0) if f > 1 else c_lo
        hi_out = np.minimum(c_hi // f + 1 + (1 if f > 1 else 0), n_out)
        end = np.minimum(hi_out + 2, n_out)
        ext = tuple(int(v) for v in end - lo_out)
        grown = np.zeros(ext, dtype=bool)
        if f > 1:
            box = hi_out - lo_out
            lo_in = lo_out * f - 1
            box_in = box * f + 1
            crop = np.zeros(box_in, dtype=bool)
            local = [c - int(o) for c, o in zip(coords, lo_in)]
            inside = np.logical_and.reduce([(c >= 0) & (c < n) for c, n in zip(local, box_in)])
            crop[tuple(c[inside] for c in local)] = True
            # kernel f+1, stride f, no padding: the crop already starts one voxel before lo_out*f
            pooled = F.max_pool3d(torch.from_numpy(crop).float()[None, None], kernel_size=f + 1, stride=f)[0, 0]
            grown[:box[0], :box[1], :box[2]] = pooled.numpy() > 0
        else:
            grown[tuple(c - int(o) for c, o in zip(coords, lo_out))] = True
        thick = _thicken_np(grown)
        sl = tuple(slice(int(a), int(b)) for a, b in zip(lo_out, end))
        thick &= small[sl]
        local = np.nonzero(thick)
        flat = np.ravel_multi_index(tuple(ax + int(a) for ax, a in zip(local, lo_out)), n_out)
        out[seg_id] = (flat.astype(np.int64), cls)
    return out


def _segments_torch(panoptic: Any, semantic_of: dict[int, int], geometry: Any, frustum: Any, iso_value: float,
                    f: int, device: str | torch.device | None) -> dict[int, tuple[np.ndarray, int]]:
    """Whole-grid torch version of ``segments_from_volumes`` (same result), for GPUs."""
    dev = torch.device(device) if device is not None else torch.as_tensor(panoptic).device
    pan = torch.as_tensor(panoptic).to(dev)
    surface = torch.as_tensor(geometry).to(dev).abs() < iso_value
    small = _frustum_at(torch.as_tensor(frustum).to(dev), f)
    out: dict[int, tuple[np.ndarray, int]] = {}
    for seg_id, cls in semantic_of.items():
        m = (pan == seg_id) & surface
        if f > 1:
            m = _pool(m, f)
        m = _thicken(m) & small
        out[seg_id] = (torch.flatten(m).nonzero()[:, 0].cpu().numpy(), cls)
    return out


def to_volume(indices: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A boolean volume from a segment's flat voxel indices (for tests and pictures)."""
    vol = np.zeros(int(np.prod(shape)), dtype=bool)
    vol[indices] = True
    return vol.reshape(shape)
