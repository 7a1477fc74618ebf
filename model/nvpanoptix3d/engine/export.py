"""ONNX export of both stages, checked with onnx.checker and compared with onnxruntime.

2D model: ``images`` (B, 3, H, W) in [0, 1] -> pred_logits, pred_masks, pred_depth, pred_mp_occ,
mask_features, query_features. 3D model: padded sparse voxels — ``voxel_coords`` (max_voxels, 3) int64,
``voxel_features`` (max_voxels, C) with zero rows as padding, ``query_features`` (1, Q, D) ->
occupancy logits, geometry and per-query 3D mask logits on the full grid. The host lifts 2D outputs to
voxels (``lift_to_voxels``), keeping at most max_voxels by a deterministic rule.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

OUT_2D = ["pred_logits", "pred_masks", "pred_depth", "pred_mp_occ", "mask_features", "query_features"]
OUT_3D = ["occupancy", "geometry", "masks_3d"]


class Export2D(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor):
        out = self.model(images)
        return tuple(out[k] for k in OUT_2D)


class Export3D(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.completion = model.completion
        self.dims = model.reprojection.dims

    def forward(self, voxel_coords: torch.Tensor, voxel_features: torch.Tensor, query_features: torch.Tensor):
        x, y, z = self.dims
        lin = (voxel_coords[:, 0] * y + voxel_coords[:, 1]) * z + voxel_coords[:, 2]
        c = voxel_features.shape[1]
        dense = torch.zeros(c, x * y * z, dtype=voxel_features.dtype)
        dense = dense.scatter_add(1, lin[None].expand(c, -1), voxel_features.t())
        out = self.completion(dense.reshape(1, c, x, y, z), query_features)
        return out["pred_occupancy"][-1], out["pred_geometry"], out["pred_masks_3d"][-1]


def lift_to_voxels(volume: torch.Tensor, max_voxels: int, distance_channel: int = -1) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Padded (coords, features) of the non-zero voxels of one lifted volume (C, X, Y, Z).

    More than ``max_voxels`` non-empty voxels: keep those closest to the predicted surface (smallest
    normalised distance channel), ties broken by linear index; returns how many were dropped.
    """
    c = volume.shape[0]
    flat = volume.reshape(c, -1)
    nz = (flat.abs().sum(0) > 0).nonzero().flatten()
    dropped = 0
    if nz.numel() > max_voxels:
        dist = flat[distance_channel, nz]
        order = np.lexsort((nz.numpy(), dist.numpy()))[:max_voxels]
        dropped = nz.numel() - max_voxels
        nz = torch.sort(nz[torch.from_numpy(order)]).values
    _, y, z = volume.shape[1:]
    coords = torch.zeros(max_voxels, 3, dtype=torch.long)
    feats = torch.zeros(max_voxels, c, dtype=volume.dtype)
    n = nz.numel()
    coords[:n] = torch.stack([nz // (y * z), (nz // z) % y, nz % z], dim=1)
    feats[:n] = flat[:, nz].t()
    return coords, feats, dropped


def _export(module: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], opset: int,
            dynamic: dict | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), input_names=inputs, output_names=outputs, opset_version=opset,
                          dynamic_axes=dynamic, dynamo=False)


def _compare(path: Path, feeds: dict[str, np.ndarray], expected: list[torch.Tensor], names: list[str]) -> dict:
    import onnx  # noqa: PLC0415
    import onnxruntime as ort  # noqa: PLC0415

    onnx.checker.check_model(onnx.load(str(path)))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(names, feeds)
    return {n: float(np.max(np.abs(g - e.detach().numpy()))) if g.size else 0.0 for n, g, e in zip(names, got, expected)}


def export_onnx(model, *, height: int, width: int, path_2d: Path, path_3d: Path | None, opset: int, max_voxels: int,
                batch_size: int, intrinsic: torch.Tensor, frustum: torch.Tensor) -> dict:
    """Export both stages; returns per-output max |onnxruntime - PyTorch| and the dropped voxel count."""
    model.eval()
    b = 1 if batch_size in (-1, 0) else batch_size
    torch.manual_seed(0)
    images = torch.rand(b, 3, height, width)
    wrap2 = Export2D(model).eval()
    with torch.no_grad():
        ref2 = wrap2(images)
    dyn = {"images": {0: "batch"}, **{n: {0: "batch"} for n in OUT_2D}} if batch_size == -1 else None
    _export(wrap2, (images,), path_2d, ["images"], OUT_2D, opset, dyn)
    report = {"onnx_2d": str(path_2d), "max_abs_diff_2d": _compare(path_2d, {"images": images.numpy()}, list(ref2), OUT_2D)}
    if path_3d is None:
        return report
    with torch.no_grad():
        out = dict(zip(OUT_2D, ref2))
        out["pred_depth"] = out["pred_depth"][:1]
        from nvpanoptix3d.network.frustum3d.model import semantic_probabilities  # noqa: PLC0415

        sem = semantic_probabilities(out["pred_logits"][:1], out["pred_masks"][:1])
        vol = model.reprojection(features=model.projector(out["mask_features"][:1]), semantic=sem,
                                 depth=out["pred_depth"], mp_occ=out["pred_mp_occ"][:1], intrinsic=intrinsic[None],
                                 image_size=(width, height), frustum=frustum[None])[0]
        coords, feats, dropped = lift_to_voxels(vol, max_voxels)
        queries = out["query_features"][:1]
        wrap3 = Export3D(model).eval()
        ref3 = wrap3(coords, feats, queries)
    _export(wrap3, (coords, feats, queries), path_3d, ["voxel_coords", "voxel_features", "query_features"], OUT_3D,
            opset, None)
    report.update({"onnx_3d": str(path_3d), "max_voxels": max_voxels, "voxels_dropped": dropped,
                   "max_abs_diff_3d": _compare(path_3d, {"voxel_coords": coords.numpy(), "voxel_features": feats.numpy(),
                                                         "query_features": queries.numpy()}, list(ref3), OUT_3D)})
    return report
