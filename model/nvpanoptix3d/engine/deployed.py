"""Evaluate and inference on the exported network: ONNX models (onnxruntime) or TensorRT engines.

:class:`DeployedModel` is called like the PyTorch model (``model(images, intrinsic, frustum)``) and returns
the same output dict, so evaluation, post-processing and the inference writers do not change. The 2D
model runs on the whole batch (or in chunks of its exported batch size); the host lifts its outputs (the
model's parameter-free ``FrustumLifter``, built from the spec) and pads the voxels to the 3D model's
``max_voxels`` rows; the 3D model runs once per image.

Runners: :class:`OnnxRunner` (onnxruntime; CUDA provider when the device is a GPU and the provider exists)
and :class:`TrtRunner` (TensorRT >= 10 name-based I/O on CUDA tensors; needs the ``trt`` extra and a GPU).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F

from nvpanoptix3d.engine.errors import EngineError
from nvpanoptix3d.engine.export import OUTPUT_KEYS_2D, OUTPUTS_3D, inputs_3d

log = logging.getLogger("nvpanoptix3d")
ENGINE_FILES = ("model_2d.engine", "model_3d.engine")


class Runner(Protocol):
    input_shapes: dict[str, tuple[int | str, ...]]
    output_shapes: dict[str, tuple[int | str, ...]]
    output_names: list[str]

    def __call__(self, feeds: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]: ...


class OnnxRunner:
    """One ONNX model in an onnxruntime session; tensors in, CPU tensors out."""

    def __init__(self, path: Path, device: torch.device) -> None:
        import onnxruntime as ort  # noqa: PLC0415

        providers = ["CPUExecutionProvider"]
        if device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": device.index or 0}))
        try:
            self.session = ort.InferenceSession(str(path), providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
            raise EngineError(f"onnxruntime cannot load {path}: {str(exc).splitlines()[0][:300]}") from None
        self.path = path
        self.input_shapes = {i.name: tuple(i.shape) for i in self.session.get_inputs()}
        self.output_shapes = {o.name: tuple(o.shape) for o in self.session.get_outputs()}
        self.output_names = list(self.output_shapes)

    def __call__(self, feeds: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        arrays = {n: feeds[n].detach().cpu().numpy() for n in self.input_shapes}
        return {n: torch.from_numpy(np.asarray(v)) for n, v in zip(self.output_names, self.session.run(None, arrays))}


class TrtRunner:
    """One serialized TensorRT engine, run on CUDA tensors with the name-based I/O API of TensorRT >= 10."""

    def __init__(self, path: Path, device: torch.device) -> None:
        from nvpanoptix3d.engine.trt import require_tensorrt  # noqa: PLC0415

        trt = require_tensorrt("running a TensorRT engine")
        if device.type != "cuda":
            raise EngineError("TensorRT engines run on a GPU; this run was placed on the CPU")
        self.trt, self.device, self.path = trt, device, path
        logger = trt.Logger(trt.Logger.WARNING)
        self.engine = trt.Runtime(logger).deserialize_cuda_engine(path.read_bytes())
        if self.engine is None:
            raise EngineError(f"TensorRT cannot deserialize {path} (built by another TensorRT version or GPU?); "
                              "rebuild it with gen_trt_engine on this machine")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        is_input = {n: self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT for n in names}
        self.input_shapes = {n: tuple(self.engine.get_tensor_shape(n)) for n in names if is_input[n]}
        self.output_shapes = {n: tuple(self.engine.get_tensor_shape(n)) for n in names if not is_input[n]}
        self.output_names = list(self.output_shapes)

    def _dtype(self, name: str) -> torch.dtype:
        return torch.from_numpy(np.empty(0, dtype=self.trt.nptype(self.engine.get_tensor_dtype(name)))).dtype

    def __call__(self, feeds: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        keep = []
        for name in self.input_shapes:
            t = feeds[name].to(self.device, self._dtype(name)).contiguous()
            keep.append(t)
            self.context.set_input_shape(name, tuple(t.shape))
            self.context.set_tensor_address(name, t.data_ptr())
        outputs = {}
        for name in self.output_names:
            out = torch.empty(tuple(self.context.get_tensor_shape(name)), dtype=self._dtype(name), device=self.device)
            self.context.set_tensor_address(name, out.data_ptr())
            outputs[name] = out
        stream = torch.cuda.current_stream(self.device)
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise EngineError(f"TensorRT failed to run {self.path}")
        stream.synchronize()
        return outputs


class DeployedModel:
    """The exported 2D (and 3D) models behind the PyTorch model's call signature and output dict."""

    def __init__(self, runner_2d: Runner, runner_3d: Runner | None, lifter: torch.nn.Module | None) -> None:
        self.runner_2d, self.runner_3d, self.lifter = runner_2d, runner_3d, lifter
        self.device = torch.device("cpu")
        self._warned_resize = False
        self.batch_dim = runner_2d.input_shapes["batch_inputs"][0]
        self.max_voxels = int(runner_3d.input_shapes["voxel_coords"][0]) if runner_3d else 0
        # a use_multi_scale 3D model also takes the stride-2, 4, 8 voxels (export.MS_INPUTS_3D)
        self.multi_scale = bool(runner_3d) and "ms_coords_0" in runner_3d.input_shapes

    def to(self, device: torch.device) -> "DeployedModel":
        self.device = device
        return self

    def eval(self) -> "DeployedModel":
        return self

    def _run_2d(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """The 2D model on the batch: whole with a dynamic batch axis, else in chunks of the exported batch
        size (the last one padded with blank images, whose outputs are dropped)."""
        if not isinstance(self.batch_dim, int) or self.batch_dim <= 0:
            chunks = [images]
        else:
            chunks = list(images.split(self.batch_dim))
        outs = []
        for chunk in chunks:
            n = chunk.shape[0]
            if isinstance(self.batch_dim, int) and n < self.batch_dim:
                chunk = torch.cat([chunk, chunk.new_zeros(self.batch_dim - n, *chunk.shape[1:])])
            res = self.runner_2d({"batch_inputs": chunk * 255.0})
            outs.append({k: v[:n] for k, v in res.items()})
        return {OUTPUT_KEYS_2D[n]: torch.cat([o[n].float().cpu() for o in outs]) for n in outs[0]}

    def _fit_to_export_size(self, images: torch.Tensor, intrinsic: torch.Tensor | None
                            ) -> tuple[torch.Tensor, torch.Tensor | None, tuple[int, int]]:
        """Images resized to the 2D model's fixed input size (bilinear) and intrinsics rescaled with them, as
        a deployment runtime resizes to its engine; the camera frustum does not change. Also the input's
        (H, W), at which the depth is returned."""
        native = (images.shape[-2], images.shape[-1])
        expected = tuple(self.runner_2d.input_shapes["batch_inputs"][2:])
        if not all(isinstance(d, int) for d in expected) or native == expected:
            return images, intrinsic, native
        if not self._warned_resize:
            log.warning("the 2D model was exported for %dx%d images and the data is %dx%d: resizing (intrinsics "
                        "rescaled); export with export.input_width/height = dataset.target_size to avoid it",
                        expected[1], expected[0], native[1], native[0])
            self._warned_resize = True
        images = F.interpolate(images, size=expected, mode="bilinear", align_corners=False)
        if intrinsic is not None:
            from nvpanoptix3d.geometry import scale_intrinsic  # noqa: PLC0415

            intrinsic = scale_intrinsic(intrinsic, native[::-1], expected[::-1])
        return images, intrinsic, native

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, intrinsic: torch.Tensor | None = None,
                 frustum: torch.Tensor | None = None) -> dict[str, Any]:
        """images (B, 3, H, W) in [0, 1]; with intrinsic and frustum also the 3D outputs (as NVPanoptix3D)."""
        images, intrinsic, native = self._fit_to_export_size(images.float().cpu(), intrinsic)
        out = self._run_2d(images)
        lifting_inputs = dict(out)
        if tuple(out["pred_depth"].shape[-2:]) != native:  # depth at the input's size, as the PyTorch model
            out["pred_depth"] = F.interpolate(out["pred_depth"], size=native, mode="bilinear", align_corners=False)
        if intrinsic is None or frustum is None:
            return out
        if self.runner_3d is None or self.lifter is None:
            raise EngineError("the 3D stage needs the 3D model (model_3d.engine / onnx_file_3d) besides the 2D one")
        if "encoder_features" not in lifting_inputs:
            raise EngineError("the 2D model has no encoder_features output: it was exported from a 2D-stage "
                              "checkpoint; export the 2D and 3D models from the same 3D-stage checkpoint")
        size = (images.shape[-1], images.shape[-2])
        per_image = []
        for i in range(images.shape[0]):
            out2d = {k: v[i:i + 1] for k, v in lifting_inputs.items()}
            feeds = inputs_3d(self.lifter, out2d, intrinsic[i:i + 1].float().cpu(), frustum[i:i + 1].cpu(), size,
                              self.max_voxels, multi_scale=self.multi_scale)
            res = self.runner_3d(feeds)
            per_image.append([res[n].float().cpu() for n in OUTPUTS_3D])
        levels = [torch.cat([p[j] for p in per_image]) for j in range(len(per_image[0]))]
        out.update({"pred_occupancy": levels[0:3], "pred_masks_3d": levels[3:6], "pred_geometry": levels[6]})
        return out


def _lifting_for(runner_3d: Runner, spec: Any) -> torch.nn.Module:
    """The model's parameter-free lifting (the spec's grid, sizes and thresholds), checked against the grid the
    3D model was exported for."""
    from nvpanoptix3d.engine.build import model_kwargs_3d  # noqa: PLC0415
    from nvpanoptix3d.network.frustum3d.lifter import FrustumLifter  # noqa: PLC0415

    kw = model_kwargs_3d(spec)
    lifter = FrustumLifter(grid_dims=kw["grid_dims"], voxel_size=kw["voxel_size"], depth_min=kw["depth_min"],
                           depth_max=kw["depth_max"], truncation=kw["truncation"],
                           reduced_size=tuple(kw["reduced_size"]), size_divisibility=kw["size_divisibility"],
                           num_thing_classes=kw["num_thing_classes"],
                           object_mask_threshold=kw["object_mask_threshold"],
                           overlap_threshold=kw["overlap_threshold"], depth_scale=kw["depth_scale"],
                           max_voxels=kw["max_voxels"])
    d = kw["grid_dims"]
    dims = tuple(runner_3d.output_shapes.get("geometry", (1, d, d, d))[1:])
    if dims != (d, d, d):
        raise EngineError(f"the 3D model was exported for a {dims} grid but the spec gives {(d, d, d)}; "
                          "use the spec the model was exported with (model.frustum3d.grid_dimensions)")
    return lifter.eval()


def load_deployed(spec: Any, section: str, *, stage: str | None, device: torch.device) -> tuple[DeployedModel, dict]:
    """The deployed model named by ``<section>.trt_engine`` (folder of model_2d.engine / model_3d.engine) or
    ``<section>.onnx_file_2d`` / ``onnx_file_3d``, and the metadata evaluate / inference record (with the
    stage: ``stage`` if given, else "3d" when a 3D model is there)."""
    cfg = getattr(spec, section)
    if cfg.trt_engine:
        folder = Path(cfg.trt_engine).expanduser()
        paths = [folder / name for name in ENGINE_FILES]
        if not paths[0].is_file():
            raise EngineError(f"{section}.trt_engine {folder} has no {ENGINE_FILES[0]}: point it at the "
                              "gen_trt_engine.trt_engine folder")
        make, what = TrtRunner, f"{section}.trt_engine"
    else:
        paths = [Path(cfg.onnx_file_2d).expanduser(), Path(cfg.onnx_file_3d).expanduser() if cfg.onnx_file_3d else None]
        for key, p in zip(("onnx_file_2d", "onnx_file_3d"), paths):
            if p is not None and not p.is_file():
                raise EngineError(f"{section}.{key} {p} does not exist: use a file written by the export action")
        make, what = OnnxRunner, f"{section}.onnx_file_2d"
    runner_2d = make(paths[0], device)
    runner_3d = None
    if stage is None:
        stage = "3d" if paths[1] is not None and paths[1].is_file() else "2d"
    if stage == "3d":
        if paths[1] is None or not paths[1].is_file():
            need = f"{section}.trt_engine/{ENGINE_FILES[1]}" if cfg.trt_engine else f"{section}.onnx_file_3d"
            raise EngineError(f"dataset.enable_3d is true but {need} is missing: export (and build) the 3D model "
                              "from a 3D-stage checkpoint, or set dataset.enable_3d=false")
        runner_3d = make(paths[1], device)
    model = DeployedModel(runner_2d, runner_3d, _lifting_for(runner_3d, spec) if runner_3d else None).to(device)
    log.info("running the exported %s model(s) with %s: %s", stage, "TensorRT" if cfg.trt_engine else "onnxruntime",
             ", ".join(str(p) for p in paths if p is not None and (stage == "3d" or p == paths[0])))
    return model, {"stage": stage, "epoch": 0, "step": 0, "path": str(paths[0].parent if cfg.trt_engine else paths[0]),
                   "runtime": "tensorrt" if cfg.trt_engine else "onnxruntime", "source": what}


__all__ = ["DeployedModel", "OnnxRunner", "TrtRunner", "load_deployed"]
