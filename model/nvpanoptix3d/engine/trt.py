"""The ``gen_trt_engine`` action: TensorRT engines from the 2D and 3D ONNX models (FP32 or FP16).

Needs the ``tensorrt`` Python package (the ``trt`` extra) and an NVIDIA GPU; without either the action
fails with a message naming what is missing. Engines are written atomically to
``<gen_trt_engine.trt_engine>/model_2d.engine`` and ``model_3d.engine`` (the folder ``inference.trt_engine``
and ``evaluate.trt_engine`` refer to). A timing cache file is read and updated when
``gen_trt_engine.timing_cache`` is set. INT8 is not offered, as in NVIDIA's documentation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nvpanoptix3d.engine.errors import EngineError
from nvpanoptix3d.engine.fsutil import atomic_write_bytes, atomic_write_json

log = logging.getLogger("nvpanoptix3d")
INSTALL_HINT = "install it with `pip install 'tao-skill-bank[trt]'` (or NVIDIA's tensorrt wheel) on a machine with an NVIDIA GPU"


@dataclass(frozen=True)
class BuildSettings:
    data_type: str = "FP32"
    workspace_mib: int = 1024
    min_batch: int = 1
    opt_batch: int = 1
    max_batch: int = 1
    timing_cache: str = ""
    layers_precision: tuple[str, ...] = ()
    verbose: bool = False


def require_tensorrt(action: str = "gen_trt_engine"):
    """The tensorrt module, after checking that a CUDA GPU is usable; EngineError naming the missing part."""
    try:
        import tensorrt as trt  # noqa: PLC0415
    except ImportError:
        raise EngineError(f"{action} needs TensorRT but the `tensorrt` package is not installed; "
                          f"{INSTALL_HINT}") from None
    import torch  # noqa: PLC0415

    if not torch.cuda.is_available():
        raise EngineError(f"{action} needs an NVIDIA GPU but none is available (torch.cuda.is_available() "
                          "is False); run it on a GPU machine")
    return trt


def _parse_layer_precisions(items: tuple[str, ...], trt) -> dict[str, Any]:
    types = {"fp32": trt.float32, "fp16": trt.float16}
    out = {}
    for item in items:
        name, _, prec = item.rpartition(":")
        if not name or prec.lower() not in types:
            raise EngineError(f"gen_trt_engine.tensorrt.layers_precision entry {item!r} must be `layer_name:fp32` "
                              "or `layer_name:fp16`")
        out[name] = types[prec.lower()]
    return out


def build_engine(onnx_path: Path, engine_path: Path, settings: BuildSettings) -> dict[str, Any]:
    """Parse ``onnx_path``, build a serialized engine with ``settings`` and write it to ``engine_path``."""
    trt = require_tensorrt()
    logger = trt.Logger(trt.Logger.VERBOSE if settings.verbose else trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH"):  # implicit in TensorRT >= 10
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EngineError(f"TensorRT cannot parse {onnx_path}: {errors[:400]}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(settings.workspace_mib) << 20)
    if settings.data_type == "FP16":
        if not builder.platform_has_fast_fp16:
            log.warning("this GPU has no fast FP16; the FP16 engine may be slow")
        config.set_flag(trt.BuilderFlag.FP16)
    elif settings.data_type != "FP32":
        raise EngineError(f"gen_trt_engine.tensorrt.data_type must be FP32 or FP16, got {settings.data_type!r}")
    precisions = _parse_layer_precisions(settings.layers_precision, trt)
    if precisions:
        found = set()
        for i in range(network.num_layers):
            layer = network.get_layer(i)
            if layer.name in precisions:
                layer.precision = precisions[layer.name]
                found.add(layer.name)
        missing = set(precisions) - found
        if missing:
            raise EngineError(f"gen_trt_engine.tensorrt.layers_precision names unknown layers: {sorted(missing)}")
        config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
    profile = None
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        shape = tuple(tensor.shape)
        if any(d < 0 for d in shape[1:]):
            raise EngineError(f"{onnx_path}: input {tensor.name} has dynamic non-batch dimensions {shape}; "
                              "export with fixed input_width/input_height")
        if shape and shape[0] < 0:
            profile = profile or builder.create_optimization_profile()
            dims = [(b, *shape[1:]) for b in (settings.min_batch, settings.opt_batch, settings.max_batch)]
            profile.set_shape(tensor.name, *dims)
    if profile is not None:
        config.add_optimization_profile(profile)
    cache_path = Path(settings.timing_cache) if settings.timing_cache else None
    if cache_path is not None:
        blob = cache_path.read_bytes() if cache_path.exists() else b""
        config.set_timing_cache(config.create_timing_cache(blob), ignore_mismatch=False)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EngineError(f"TensorRT failed to build an engine from {onnx_path} (see the log above)")
    atomic_write_bytes(engine_path, bytes(serialized))
    if cache_path is not None:
        atomic_write_bytes(cache_path, bytes(config.get_timing_cache().serialize()))
    log.info("wrote %s engine %s (%.1f MiB)", settings.data_type, engine_path, engine_path.stat().st_size / 2**20)
    return {"onnx": str(onnx_path), "engine": str(engine_path), "data_type": settings.data_type,
            "tensorrt": getattr(trt, "__version__", "?")}


def run_gen_trt_engine(spec: Any, results_dir: Path) -> dict[str, Any]:
    g = spec.gen_trt_engine
    t = g.tensorrt
    jobs: list[tuple[str, Path]] = []
    if not g.onnx_file:
        raise EngineError("gen_trt_engine.onnx_file is empty: set it to the 2D ONNX model written by export")
    for key, value, name in (("gen_trt_engine.onnx_file", g.onnx_file, "model_2d.engine"),
                             ("gen_trt_engine.onnx_file_3d", g.onnx_file_3d, "model_3d.engine")):
        if value:
            if not Path(value).is_file():
                raise EngineError(f"{key} {value} does not exist")
            jobs.append((value, Path(name)))
    out_dir = Path(g.trt_engine) if g.trt_engine else results_dir / "engines"
    if out_dir.exists() and not out_dir.is_dir():
        raise EngineError(f"gen_trt_engine.trt_engine {out_dir} is a file; it must be a folder for the engines")
    min_b, opt_b, max_b = t.min_batch_size, t.opt_batch_size, t.max_batch_size
    if g.batch_size > 0:
        min_b = opt_b = max_b = g.batch_size
    if not min_b <= opt_b <= max_b:
        raise EngineError(f"gen_trt_engine.tensorrt batch sizes must satisfy min <= opt <= max, got "
                          f"{min_b}, {opt_b}, {max_b}")
    settings = BuildSettings(data_type=t.data_type, workspace_mib=t.workspace_size, min_batch=min_b, opt_batch=opt_b,
                             max_batch=max_b, timing_cache=g.timing_cache, layers_precision=tuple(t.layers_precision),
                             verbose=g.verbose)
    from nvpanoptix3d.engine.trt_compat import report_tensorrt_problems  # noqa: PLC0415

    for onnx, _ in jobs:  # said before the TensorRT check, so a CPU machine learns it too
        try:
            report_tensorrt_problems(onnx, log)
        except Exception as exc:  # protobuf / onnx raise their own types for a file that is not a model
            raise EngineError(f"{onnx} is not a readable ONNX model ({type(exc).__name__}); use a file written by "
                              "the export action") from None
    require_tensorrt()
    out_dir.mkdir(parents=True, exist_ok=True)
    built = [build_engine(Path(onnx), out_dir / name, settings) for onnx, name in jobs]
    atomic_write_json(out_dir / "engines.json", {"engines": built})
    return {"engines": built, "out_dir": str(out_dir)}
