"""TensorRT engines from the exported ONNX files (FP32 or FP16), when TensorRT and a CUDA GPU are present."""

from __future__ import annotations

from pathlib import Path


class TensorRTUnavailable(RuntimeError):
    pass


def build_engine(onnx_path: Path, engine_path: Path, *, data_type: str, workspace_mib: int,
                 timing_cache: str = "", verbose: bool = False) -> Path:
    try:
        import tensorrt as trt  # noqa: PLC0415
    except ImportError:
        raise TensorRTUnavailable("TensorRT is not installed: install the `trt` extra "
                                  "(pip install 'tao-skill-bank[trt]') on a machine with an NVIDIA GPU") from None
    import torch  # noqa: PLC0415

    if not torch.cuda.is_available():
        raise TensorRTUnavailable("gen_trt_engine needs an NVIDIA GPU with CUDA; none is visible to this process")
    if data_type not in ("FP32", "FP16"):
        raise ValueError(f"gen_trt_engine.tensorrt.data_type must be FP32 or FP16, got {data_type}")
    logger = trt.Logger(trt.Logger.VERBOSE if verbose else trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mib << 20)
    if data_type == "FP16":
        config.set_flag(trt.BuilderFlag.FP16)
    cache = None
    if timing_cache:
        data = Path(timing_cache).read_bytes() if Path(timing_cache).exists() else b""
        cache = config.create_timing_cache(data)
        config.set_timing_cache(cache, ignore_mismatch=False)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT failed to build an engine from {onnx_path}")
    engine_path.parent.mkdir(parents=True, exist_ok=True)
    engine_path.write_bytes(bytes(serialized))
    if cache is not None:
        Path(timing_cache).write_bytes(bytes(cache.serialize()))
    return engine_path
