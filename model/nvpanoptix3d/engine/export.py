"""The ``export`` action: the 2D stage and the 3D completion stage as two ONNX models.

2D model (``export.onnx_file_2d``): input ``batch_inputs`` (B, 3, H, W) float RGB in 0..255 (as NVIDIA's
export; the graph pads, divides by 255 and resizes for VGGT), outputs ``pred_logits`` (B, Q, C+1),
``pred_masks`` (B, Q, H/2, W/2) logits, ``pred_depths`` (B, 1, H, W) metres, ``pred_depths_half``
(B, 1, H/2, W/2), ``occupancy_preds`` (B, bins, h, w) logits, ``mask_features``, ``depth_features``,
``segm_decoder_out`` (B, Q, D) (the query features the 3D stage needs) and, for a 3D checkpoint,
``encoder_features`` (B, Cm + Cd, ...) = [mask features | the 3D stage's projector on the depth features]
(NVIDIA's 2D export also carries the projector); with ``use_multi_scale`` also ``enc_features_{0,1,2}``
(the pixel-decoder levels, coarse -> fine, that the host projects into the multi-scale voxels).

3D model (``export.onnx_file_3d``, 3D checkpoints only): NVIDIA's completion network on the lifted voxels,
padded so that an engine has static input shapes. Inputs ``voxel_coords`` (max_voxels, 3) int64 grid
indices, ``voxel_features`` (max_voxels, Cin) float, ``num_voxels`` (1,) int64 (rows beyond it are padding),
``frustum_mask`` (1, X, Y, Z) uint8 and ``segm_decoder_out`` (1, Q, D); outputs ``occupancy_{0,1,2}``
(coarse -> fine) logits, ``masks_3d_{0,1,2}`` (1, Q, ...) logits and ``geometry`` (1, X, Y, Z). The host lifts
the 2D outputs (the parameter-free ``FrustumLifter``) and packs the voxels (:func:`inputs_3d`). Both backends
export the same graph: the completion's weights run as masked dense convolutions (``DenseFrustumDecoder``,
equal to the sparse execution), so consumers do not depend on the backend. With ``use_multi_scale`` the 3D
model also takes the stride-2, 4, 8 voxels: ``ms_coords_{i}`` (max_voxels, 3) int64 indices of the grids D/2,
D/4, D/8, ``ms_features_{i}`` (max_voxels, Cms), ``ms_num_voxels_{i}`` (1,). A dense volume holds the voxels
inside its grid only: multi-scale voxels outside it (NVIDIA does not bound them) are left out and counted in
a warning.

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
from nvpanoptix3d.engine.trt_compat import report_tensorrt_problems

log = logging.getLogger("nvpanoptix3d")
TOLERANCE = 1e-3
OUTPUTS_2D = ("pred_logits", "pred_masks", "pred_depths", "pred_depths_half", "occupancy_preds", "mask_features",
              "depth_features", "segm_decoder_out")
# ONNX output name -> key of the PyTorch model's output dict
OUTPUT_KEYS_2D = {"pred_logits": "pred_logits", "pred_masks": "pred_masks", "pred_depths": "pred_depth",
                  "pred_depths_half": "pred_depth_half", "occupancy_preds": "pred_mp_occ",
                  "mask_features": "mask_features", "depth_features": "depth_features",
                  "segm_decoder_out": "query_features", "encoder_features": "encoder_features"}
OUTPUTS_3D = ("occupancy_0", "occupancy_1", "occupancy_2", "masks_3d_0", "masks_3d_1", "masks_3d_2", "geometry")
MS_LEVELS = 3  # use_multi_scale: strides 2, 4, 8
MS_OUTPUTS_2D = tuple(f"enc_features_{i}" for i in range(MS_LEVELS))
OUTPUT_KEYS_2D.update({n: n for n in MS_OUTPUTS_2D})
MS_INPUTS_3D = tuple(f"ms_{kind}_{i}" for i in range(MS_LEVELS) for kind in ("coords", "features", "num_voxels"))


def uses_multi_scale(model: nn.Module) -> bool:
    """True for a 3D model with NVIDIA's ``use_multi_scale`` voxels."""
    return bool(getattr(getattr(model, "completion", None), "use_multi_scale", False))


def flat_3d_outputs(out: dict) -> tuple[torch.Tensor, ...]:
    """Dense 3D outputs in the order of OUTPUTS_3D."""
    return (*out["pred_occupancy"], *out["pred_masks_3d"], out["pred_geometry"])


class Export2D(nn.Module):
    """The 2D stage with 0..255 input and a flat tuple of outputs."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.with_projector = hasattr(model, "projector")
        self.multi_scale = uses_multi_scale(model)

    @property
    def output_names(self) -> list[str]:
        return [*OUTPUTS_2D, *(["encoder_features"] if self.with_projector else []),
                *(MS_OUTPUTS_2D if self.multi_scale else ())]

    def forward(self, batch_inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """batch_inputs (B, 3, H, W) RGB in [0, 255] -> the tensors of :attr:`output_names`."""
        out = self.model(batch_inputs / 255.0)  # the full model runs only its 2D stage without intrinsics
        res = tuple(out[OUTPUT_KEYS_2D[n]] for n in OUTPUTS_2D)
        if self.with_projector:
            res = res + (self.model.encoder_features(out),)
        if self.multi_scale:
            res = res + tuple(out["enc_features"])
        return res


def _scatter(coords: torch.Tensor, feats: torch.Tensor, count: torch.Tensor, d: int
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded rows (N, 3) / (N, C) with ``count`` valid ones -> (volume (1, C, d, d, d), active (1, d, d, d))."""
    n, c = feats.shape
    valid = torch.arange(n, device=coords.device) < count
    flat = coords[:, 0] * (d * d) + coords[:, 1] * d + coords[:, 2]
    flat = torch.where(valid, flat, torch.full_like(flat, d * d * d))  # padding rows land in a spare row
    # Zeros derived from an input, so the exporter cannot fold a (D^3, C) constant into the file.
    dense = (feats[:1] * 0).expand(d * d * d + 1, c)
    dense = dense.index_put((flat,), feats)
    volume = dense[: d * d * d].reshape(1, d, d, d, c).permute(0, 4, 1, 2, 3)
    ones = valid.to(feats.dtype)[:, None]
    active = (ones[:1] * 0).expand(d * d * d + 1, 1).index_put((flat,), ones)[: d * d * d]
    return volume, active.reshape(1, d, d, d) > 0


class Export3D(nn.Module):
    """Completion from padded voxels: scatter into the grid, then the completion's masked dense execution."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        from nvpanoptix3d.network.completion import DenseFrustumDecoder  # noqa: PLC0415

        comp = model.completion
        if isinstance(comp, DenseFrustumDecoder):
            self.completion = comp
        else:  # the sparse execution's weights in the dense one (same parameters, same numbers)
            self.completion = DenseFrustumDecoder(**comp.constructor_kwargs())
            self.completion.load_state_dict(comp.state_dict())
        self.completion.eval()
        self.grid = int(model.grid_dims)
        self.multi_scale = uses_multi_scale(model)

    def forward(self, voxel_coords: torch.Tensor, voxel_features: torch.Tensor, num_voxels: torch.Tensor,
                frustum_mask: torch.Tensor, queries: torch.Tensor, *multi_scale: torch.Tensor
                ) -> tuple[torch.Tensor, ...]:
        """voxel_coords (N, 3) int64, voxel_features (N, C), num_voxels (1,) int64, frustum_mask (1, D, D, D)
        uint8, queries (1, Q, D); ``use_multi_scale``: (coords, features, count) of each level (MS_INPUTS_3D)."""
        from nvpanoptix3d.network.completion.dense_execution import Masked  # noqa: PLC0415

        volume, active = _scatter(voxel_coords, voxel_features, num_voxels, self.grid)
        ms = None
        if self.multi_scale:
            if len(multi_scale) != len(MS_INPUTS_3D):
                raise ValueError(f"the multi-scale 3D model takes {len(MS_INPUTS_3D)} more inputs, got "
                                 f"{len(multi_scale)}")
            ms = [Masked(*_scatter(*multi_scale[3 * i:3 * i + 3], self.grid // 2 ** (i + 1)))
                  for i in range(MS_LEVELS)]
        return flat_3d_outputs(self.completion(volume, active, queries, frustum_mask > 0, ms_volumes=ms))


def export_3d_wrapper(model: nn.Module) -> nn.Module:
    """The exportable 3D module of ``model`` (the same for every backend)."""
    return Export3D(model).eval()


@torch.no_grad()
def inputs_3d(lifter: nn.Module, out2d: dict[str, torch.Tensor], intrinsic: torch.Tensor, frustum: torch.Tensor,
              image_size: tuple[int, int], max_voxels: int, *, multi_scale: bool = False) -> dict[str, torch.Tensor]:
    """The 3D ONNX model's inputs for one image, by name and in its input order: lift the 2D outputs (host
    side) and pad the voxels to ``max_voxels`` rows; ``multi_scale``: also the multi-scale voxels of each
    level (inside its grid; the others are counted in a warning)."""
    feeds, _ = lift_for_export(lifter, out2d, intrinsic, frustum, image_size, max_voxels, multi_scale=multi_scale)
    return feeds


@torch.no_grad()
def lift_for_export(lifter: nn.Module, out2d: dict[str, torch.Tensor], intrinsic: torch.Tensor,
                    frustum: torch.Tensor, image_size: tuple[int, int], max_voxels: int, *, multi_scale: bool = False
                    ) -> tuple[dict[str, torch.Tensor], tuple[Any, list[Any], list[Any]]]:
    """(:func:`inputs_3d`'s feeds, (the stride-1 voxels, the multi-scale levels as fed: inside their grids, the
    levels as the lifter made them))."""
    from nvpanoptix3d.network.completion.voxel_index import in_grid  # noqa: PLC0415
    from nvpanoptix3d.network.frustum3d.sparse.tensor import SparseTensor  # noqa: PLC0415

    levels: list[Any] = []
    if multi_scale:
        if "enc_features" not in out2d:
            if MS_OUTPUTS_2D[0] not in out2d:
                raise EngineError("the 3D model takes multi-scale voxels but the 2D outputs have no enc_features_0..2: "
                                  "export the 2D and 3D models from the same use_multi_scale checkpoint")
            out2d = {**out2d, "enc_features": [out2d[n] for n in MS_OUTPUTS_2D]}
        voxels, levels = lifter.forward_multi_scale(out2d, out2d["encoder_features"], intrinsic, frustum, image_size)
    else:
        voxels = lifter(out2d, out2d["encoder_features"], intrinsic, frustum, image_size)
    coords, feats, count = pack_sparse(voxels.coords[:, 1:], voxels.feats, max_voxels, int(frustum[:1].sum()))
    feeds = {"voxel_coords": coords, "voxel_features": feats, "num_voxels": count,
             "frustum_mask": frustum[:1].to(torch.uint8), "segm_decoder_out": out2d["query_features"][:1]}
    fed, outside = [], 0
    for i, level in enumerate(levels):  # a dense volume holds its grid only
        inside = in_grid(level.coords, level.spatial_shape)
        outside += int((~inside).sum())
        level = SparseTensor(level.coords[inside], level.feats[inside], level.spatial_shape, level.batch_size,
                             level.stride)
        fed.append(level)
        c, f, n = pack_sparse(level.coords[:, 1:], level.feats, max_voxels)
        feeds.update({f"ms_coords_{i}": c, f"ms_features_{i}": f, f"ms_num_voxels_{i}": n})
    if outside:
        log.warning("%d multi-scale voxels lie outside their level's grid and are left out of the exported 3D "
                    "model's input (NVIDIA's sparse network would use them)", outside)
    return feeds, (voxels, fed, levels if outside else fed)


def pack_sparse(coords: torch.Tensor, feats: torch.Tensor, max_voxels: int,
                frustum_voxels: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(N, 3) voxel coordinates and (N, C) features padded to ``max_voxels`` rows, plus the count (1,)."""
    n = coords.shape[0]
    if n > max_voxels:
        hint = f" (at most the {frustum_voxels} voxels of the camera frustum are lifted)" if frustum_voxels else ""
        raise EngineError(f"the lifted volume has {n} voxels, more than export.max_voxels={max_voxels}; "
                          f"raise export.max_voxels{hint}")
    pc = torch.zeros(max_voxels, 3, dtype=torch.int64)
    pf = torch.zeros(max_voxels, feats.shape[1], dtype=feats.dtype)
    pc[:n], pf[:n] = coords.long(), feats
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


def _relative_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| over max(1, max |b|) of the voxels present in ``b`` (absent ones hold ABSENT_LOGIT)."""
    from nvpanoptix3d.network.frustum3d.densify import ABSENT_LOGIT  # noqa: PLC0415

    present = b > ABSENT_LOGIT / 2
    scale = float(b[present].abs().max()) if bool(present.any()) else 0.0
    return float((a - b).abs().max()) / max(1.0, scale)


def _to_np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _check_without_spconv(model: nn.Module) -> None:
    """The exported graph is the masked dense form for every backend; only the export's self-check runs the
    checkpoint's own execution. Without spconv a ``backend=spconv`` model checks on the pure sparse layers
    (the same numbers) instead of failing."""
    from nvpanoptix3d.network.completion import spconv_exec  # noqa: PLC0415

    if getattr(model, "backend", None) == "spconv" and not spconv_exec.available():
        n = spconv_exec.use_executor(model, "sparse")
        log.info("export: spconv is not installed; the self-check runs the %d sparse convolutions of "
                 "backend=spconv on the pure-PyTorch layers (the same numbers)", n)


def run_export(spec: Any, results_dir: Path) -> dict[str, Any]:
    ex = spec.export
    model, stage, meta = load_trained_model(spec, ex.checkpoint, key=encryption_key(spec), what="export.checkpoint")
    model = model.float().eval()
    _check_without_spconv(model)
    path_2d = Path(ex.onnx_file_2d or ex.onnx_file or results_dir / "model_2d.onnx")
    bsz = 1 if ex.batch_size <= 0 else ex.batch_size
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(bsz, 3, ex.input_height, ex.input_width, generator=gen) * 255.0
    wrapper2d = Export2D(model).eval()
    names2d = wrapper2d.output_names
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
    result["tensorrt_problems_2d"] = report_tensorrt_problems(path_2d, log)
    if stage != "3d":
        if ex.onnx_file_3d:
            log.warning("export.onnx_file_3d is set but %s is a 2D-stage checkpoint: no 3D model exported",
                        meta["path"])
        return result
    try:
        wrapper3d = export_3d_wrapper(model)
    except EngineError as exc:
        raise EngineError(f"{exc}; the 2D model was written to {path_2d}") from None
    path_3d = Path(ex.onnx_file_3d or results_dir / "model_3d.onnx")
    from nvpanoptix3d.geometry import FRONT3D_INTRINSIC, FrustumGrid, scale_intrinsic  # noqa: PLC0415

    ds = spec.dataset
    size = (ex.input_width, ex.input_height)
    k = torch.from_numpy(scale_intrinsic(FRONT3D_INTRINSIC, (320, 240), size)).float()[None]
    grid = FrustumGrid.cube(spec.model.frustum3d.grid_dimensions, spec.model.projection.voxel_size, ds.depth_min,
                            ds.depth_max, reduced_size=tuple(ds.reduced_target_size))
    frustum = torch.from_numpy(grid.frustum_mask(k[0].numpy(), size))[None]
    out2d = {OUTPUT_KEYS_2D[n]: t[:1] for n, t in zip(names2d, ref2d)}
    multi_scale = uses_multi_scale(model)
    feeds, (voxels, levels, unbounded) = lift_for_export(model.lifter, out2d, k, frustum, size, ex.max_voxels,
                                                         multi_scale=multi_scale)
    with torch.no_grad():
        ref3d = wrapper3d(*feeds.values())
        # the model's own execution (sparse for the sparse backends) on the same voxels
        direct = flat_3d_outputs(model.complete(voxels, out2d["query_features"], frustum,
                                                ms_features=levels or None))
    pack_err = max(_relative_diff(a, b) for a, b in zip(ref3d, direct))
    if pack_err > 1e-4:
        raise EngineError(f"internal check failed: the padded-voxel 3D path differs from the model's by {pack_err:.2e} "
                          "(relative)")
    if unbounded is not levels:  # what leaving out the voxels outside the grids changes, on the check input
        with torch.no_grad():
            full = flat_3d_outputs(model.complete(voxels, out2d["query_features"], frustum, ms_features=unbounded))
        off = max(_relative_diff(a, b) for a, b in zip(ref3d, full))
        if off > TOLERANCE:
            raise EngineError(
                f"the use_multi_scale 3D model cannot be exported faithfully for this geometry: on the check input "
                f"(3D-FRONT's camera at {size[0]}x{size[1]}) some multi-scale voxels lie outside their level's grid, "
                f"which the exported dense volumes cannot hold, and leaving them out changes the 3D outputs by "
                f"{off:.2e} (relative, tolerance {TOLERANCE:g}); a grid that holds the camera frustum with a margin "
                f"(NVIDIA's model.frustum3d.grid_dimensions 256 at model.projection.voxel_size 0.03) keeps them "
                f"inside. The 2D model was written to {path_2d}")
        log.warning("leaving out the multi-scale voxels outside their grids changes the check input's 3D outputs by "
                    "%.2e (relative), within the tolerance %g", off, TOLERANCE)
    log.info("exporting the 3D stage (backend %s, grid %s, max_voxels %d, %d voxels in the check input) to %s",
             model.backend, grid.dims, ex.max_voxels, int(feeds["num_voxels"]), path_3d)
    in3d = list(feeds)
    _export(wrapper3d, tuple(feeds.values()), path_3d, input_names=in3d, output_names=list(OUTPUTS_3D),
            dynamic_axes=None, opset=ex.opset_version, verbose=ex.verbose)
    diffs3d = check_onnx(path_3d, {n: _to_np(t) for n, t in feeds.items()}, [_to_np(t) for t in ref3d],
                         list(OUTPUTS_3D))
    log.info("3D ONNX checked: onnxruntime vs PyTorch max relative difference %.2e (tolerance %g)",
             max(diffs3d.values()), TOLERANCE)
    result.update({"onnx_file_3d": str(path_3d), "diffs_3d": diffs3d})
    result["tensorrt_problems_3d"] = report_tensorrt_problems(path_3d, log)
    return result
