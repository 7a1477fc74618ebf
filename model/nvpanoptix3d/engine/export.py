"""The ``export`` action: the 2D stage and the 3D completion stage as two ONNX models.

2D model (``export.onnx_file_2d``): input ``batch_inputs`` (B, 3, H, W) float RGB in 0..255 (as NVIDIA's
export), outputs ``pred_logits`` (B, Q, C+1), ``pred_masks`` (B, Q, H/4, W/4), ``pred_depths``
(B, 1, H, W) metres, ``occupancy_preds`` (B, bins, h, w) logits, ``mask_features``, ``depth_features``,
``segm_decoder_out`` (B, Q, D) (the query features the 3D stage needs) and, for a 3D checkpoint,
``projected_features`` (B, Cp, H/4, W/4) (the 3D stage's projector applied to the mask features).

3D model (``export.onnx_file_3d``, 3D checkpoints only): the lifted frustum features as padded sparse
voxels, so that an engine has static shapes. Inputs ``voxel_coords`` (max_voxels, 3) int64 grid indices,
``voxel_features`` (max_voxels, Cin) float, ``num_voxels`` (1,) int64 (rows beyond it are padding) and
``segm_decoder_out`` (1, Q, D); outputs ``occupancy_{0,1,2}`` (coarse -> fine) logits, ``masks_3d_{0,1,2}``
(1, Q, ...) logits and ``geometry`` (1, X, Y, Z) voxels. The host lifts the 2D outputs
(:func:`lift_for_export`) and packs the non-zero voxels (:func:`pack_voxels`).

Both files are checked with ``onnx.checker`` and run with onnxruntime on the export inputs; outputs must
match PyTorch within ``TOLERANCE`` (max |diff| / max(|PyTorch|, 1)), else the action fails.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nvpanoptix3d.engine.errors import EngineError
from nvpanoptix3d.engine.predict import load_trained_model
from nvpanoptix3d.engine.runtime import encryption_key

log = logging.getLogger("nvpanoptix3d")
TOLERANCE = 1e-3
OUTPUTS_2D = ("pred_logits", "pred_masks", "pred_depths", "occupancy_preds", "mask_features", "depth_features",
              "segm_decoder_out")
OUTPUTS_3D = ("occupancy_0", "occupancy_1", "occupancy_2", "masks_3d_0", "masks_3d_1", "masks_3d_2", "geometry")


class Export2D(nn.Module):
    """The 2D stage with 0..255 input and a flat tuple of outputs."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.with_projector = hasattr(model, "projector")

    def forward(self, batch_inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """batch_inputs (B, 3, H, W) RGB in [0, 255] -> the tensors named in OUTPUTS_2D (+ projected_features)."""
        out = self.model(batch_inputs / 255.0)  # the full model runs only its 2D stage without intrinsics
        res = (out["pred_logits"], out["pred_masks"], out["pred_depth"], out["pred_mp_occ"], out["mask_features"],
               out["depth_features"], out["query_features"])
        if self.with_projector:
            res = res + (self.model.projector(out["mask_features"]),)
        return res


class Export3D(nn.Module):
    """Completion from padded sparse voxels: scatter into the dense grid, then the completion U-Net."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.completion = model.completion
        self.dims = tuple(int(d) for d in model.reprojection.dims)

    def forward(self, voxel_coords: torch.Tensor, voxel_features: torch.Tensor, num_voxels: torch.Tensor,
                queries: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """voxel_coords (N, 3) int64, voxel_features (N, C), num_voxels (1,) int64, queries (1, Q, D)."""
        x, y, z = self.dims
        n, c = voxel_features.shape
        valid = torch.arange(n, device=voxel_coords.device) < num_voxels
        flat = voxel_coords[:, 0] * (y * z) + voxel_coords[:, 1] * z + voxel_coords[:, 2]
        flat = torch.where(valid, flat, torch.full_like(flat, x * y * z))  # padding rows land in a spare row
        # Zeros derived from an input, so the exporter cannot fold a (X*Y*Z, C) constant into the file.
        dense = (voxel_features[:1] * 0).expand(x * y * z + 1, c)
        dense = dense.index_put((flat,), voxel_features)
        volume = dense[: x * y * z].reshape(1, x, y, z, c).permute(0, 4, 1, 2, 3)
        out = self.completion(volume, queries)
        return (*out["pred_occupancy"], *out["pred_masks_3d"], out["pred_geometry"])


@torch.no_grad()
def lift_for_export(model: nn.Module, out2d: dict[str, torch.Tensor], intrinsic: torch.Tensor,
                    frustum: torch.Tensor, image_size: tuple[int, int]) -> torch.Tensor:
    """The lifted volume (B, Cin, X, Y, Z) the 3D ONNX model consumes (host-side part of the 3D stage)."""
    from nvpanoptix3d.network.frustum3d.model import semantic_probabilities  # noqa: PLC0415

    sem = semantic_probabilities(out2d["pred_logits"], out2d["pred_masks"])
    feats = out2d.get("projected_features")
    if feats is None:
        feats = model.projector(out2d["mask_features"])
    return model.reprojection(features=feats, semantic=sem, depth=out2d["pred_depth"], mp_occ=out2d["pred_mp_occ"],
                              intrinsic=intrinsic, image_size=image_size, frustum=frustum)


def pack_voxels(volume: torch.Tensor, max_voxels: int,
                frustum_voxels: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Non-zero voxels of one lifted volume (1, C, X, Y, Z) padded to ``max_voxels`` rows.

    Every voxel of the camera frustum that sees a valid depth is non-empty, so ``max_voxels`` should be at
    least the frustum's voxel count (``frustum_voxels``, named in the error)."""
    vol = volume[0]
    nz = vol.abs().amax(0) > 0
    coords = nz.nonzero()
    n = coords.shape[0]
    if n > max_voxels:
        hint = f" to at least {frustum_voxels} (the voxels of the camera frustum)" if frustum_voxels else ""
        raise EngineError(f"the lifted volume has {n} non-empty voxels, more than export.max_voxels={max_voxels}; "
                          f"raise export.max_voxels{hint}")
    feats = vol[:, coords[:, 0], coords[:, 1], coords[:, 2]].T
    pc = torch.zeros(max_voxels, 3, dtype=torch.int64)
    pf = torch.zeros(max_voxels, vol.shape[0], dtype=vol.dtype)
    pc[:n], pf[:n] = coords, feats
    return pc, pf, torch.tensor([n], dtype=torch.int64)


def _export(module: nn.Module, args: tuple, path: Path, *, input_names: list[str], output_names: list[str],
            dynamic_axes: dict | None, opset: int, verbose: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fastpath = torch.backends.mha.get_fastpath_enabled()
    # The fused nn.TransformerEncoderLayer kernel (taken under no_grad) has no ONNX symbolic.
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with warnings.catch_warnings():
            if not verbose:
                warnings.simplefilter("ignore", torch.jit.TracerWarning)
                warnings.filterwarnings("ignore", message=".*instance_norm.*")
            torch.onnx.export(module, args, str(tmp), input_names=input_names, output_names=output_names,
                              dynamic_axes=dynamic_axes, opset_version=opset, do_constant_folding=True,
                              verbose=verbose, dynamo=False)
        tmp.replace(path)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
        tmp.unlink(missing_ok=True)


def check_onnx(path: Path, feeds: dict[str, np.ndarray], expected: list[np.ndarray], names: list[str]) -> dict[str, float]:
    """onnx.checker + onnxruntime run; returns max relative |diff| per output, raises above TOLERANCE."""
    import onnx  # noqa: PLC0415
    import onnxruntime as ort  # noqa: PLC0415

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except onnx.checker.ValidationError as exc:
        raise EngineError(f"{path} fails onnx.checker: {str(exc).splitlines()[0]}") from None
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(names, feeds)
    diffs = {}
    for name, g, e in zip(names, got, expected):
        if g.shape != e.shape:
            raise EngineError(f"{path}: output {name} has shape {g.shape} in onnxruntime, {e.shape} in PyTorch")
        diffs[name] = float(np.abs(g - e).max() / max(1.0, float(np.abs(e).max()))) if e.size else 0.0
    worst = max(diffs, key=diffs.get)
    if diffs[worst] > TOLERANCE:
        raise EngineError(f"{path}: onnxruntime output {worst} differs from PyTorch by {diffs[worst]:.2e} "
                          f"(relative), above the tolerance {TOLERANCE:g}")
    return diffs


def _to_np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def run_export(spec: Any, results_dir: Path) -> dict[str, Any]:
    ex = spec.export
    model, stage, meta = load_trained_model(spec, ex.checkpoint, key=encryption_key(spec), what="export.checkpoint")
    model = model.float().eval()
    path_2d = Path(ex.onnx_file_2d or ex.onnx_file or results_dir / "model_2d.onnx")
    bsz = 1 if ex.batch_size <= 0 else ex.batch_size
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(bsz, 3, ex.input_height, ex.input_width, generator=gen) * 255.0
    wrapper2d = Export2D(model).eval()
    names2d = list(OUTPUTS_2D) + (["projected_features"] if wrapper2d.with_projector else [])
    dyn = {n: {0: "batch"} for n in ["batch_inputs", *names2d]} if ex.batch_size <= 0 else None
    with torch.no_grad():
        ref2d = wrapper2d(images)
    log.info("exporting the 2D stage (%dx%d, batch %s, opset %d) to %s", ex.input_width, ex.input_height,
             "dynamic" if dyn else bsz, ex.opset_version, path_2d)
    _export(wrapper2d, (images,), path_2d, input_names=["batch_inputs"], output_names=names2d, dynamic_axes=dyn,
            opset=ex.opset_version, verbose=ex.verbose)
    diffs2d = check_onnx(path_2d, {"batch_inputs": _to_np(images)}, [_to_np(t) for t in ref2d], names2d)
    log.info("2D ONNX checked: onnxruntime vs PyTorch max relative difference %.2e (tolerance %g)",
             max(diffs2d.values()), TOLERANCE)
    result: dict[str, Any] = {"onnx_file_2d": str(path_2d), "diffs_2d": diffs2d, "stage": stage}
    if stage != "3d":
        if ex.onnx_file_3d:
            log.warning("export.onnx_file_3d is set but %s is a 2D-stage checkpoint: no 3D model exported",
                        meta["path"])
        return result
    if getattr(spec.model.frustum3d, "backend", "dense") != "dense":
        raise EngineError(f"3D ONNX export supports model.frustum3d.backend=dense only (this spec uses "
                          f"{spec.model.frustum3d.backend!r}); the 2D model was written to {path_2d}")
    path_3d = Path(ex.onnx_file_3d or results_dir / "model_3d.onnx")
    from nvpanoptix3d.geometry import FRONT3D_INTRINSIC, FrustumGrid, scale_intrinsic  # noqa: PLC0415

    ds = spec.dataset
    size = (ex.input_width, ex.input_height)
    k = torch.from_numpy(scale_intrinsic(FRONT3D_INTRINSIC, (320, 240), size)).float()[None]
    grid = FrustumGrid.cube(spec.model.frustum3d.grid_dimensions, spec.model.projection.voxel_size, ds.depth_min,
                            ds.depth_max)
    frustum = torch.from_numpy(grid.frustum_mask(k[0].numpy(), size))[None]
    out2d = dict(zip(["pred_logits", "pred_masks", "pred_depth", "pred_mp_occ", "mask_features", "depth_features",
                      "query_features", "projected_features"], [t[:1] for t in ref2d]))
    volume = lift_for_export(model, out2d, k, frustum, size)
    coords, feats, count = pack_voxels(volume, ex.max_voxels, int(frustum.sum()))
    queries = out2d["query_features"]
    wrapper3d = Export3D(model).eval()
    with torch.no_grad():
        ref3d = wrapper3d(coords, feats, count, queries)
        dense = model.completion(volume, queries)
    direct = [*dense["pred_occupancy"], *dense["pred_masks_3d"], dense["pred_geometry"]]
    pack_err = max(float((a - b).abs().max()) for a, b in zip(ref3d, direct))
    if pack_err > 1e-4:
        raise EngineError(f"internal check failed: the padded-voxel 3D path differs from the dense one by {pack_err:.2e}")
    log.info("exporting the 3D stage (grid %s, max_voxels %d, %d voxels in the check input) to %s", grid.dims,
             ex.max_voxels, int(count), path_3d)
    in3d = ["voxel_coords", "voxel_features", "num_voxels", "segm_decoder_out"]
    _export(wrapper3d, (coords, feats, count, queries), path_3d, input_names=in3d, output_names=list(OUTPUTS_3D),
            dynamic_axes=None, opset=ex.opset_version, verbose=ex.verbose)
    diffs3d = check_onnx(path_3d, dict(zip(in3d, map(_to_np, (coords, feats, count, queries)))),
                         [_to_np(t) for t in ref3d], list(OUTPUTS_3D))
    log.info("3D ONNX checked: onnxruntime vs PyTorch max relative difference %.2e (tolerance %g)",
             max(diffs3d.values()), TOLERANCE)
    result.update({"onnx_file_3d": str(path_3d), "diffs_3d": diffs3d})
    return result
