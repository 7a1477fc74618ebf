"""Sections of the non-train actions: evaluate, inference, export, gen_trt_engine."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nvpanoptix3d.config.fields import SpecSection, tao_field


class ExportedModelSource(SpecSection):
    """Exported models that evaluate and inference run instead of the checkpoint (see engine/deployed.py)."""

    trt_engine: str = tao_field(
        "", "TensorRT engine folder (model_2d.engine, model_3d.engine from gen_trt_engine) to use instead of the "
        "checkpoint.", path="folder", nullable=True)
    onnx_file_2d: str = tao_field("", "(ours) 2D ONNX model from export, run with onnxruntime instead of the "
                                  "checkpoint.", path="file")
    onnx_file_3d: str = tao_field("", "(ours) 3D ONNX model from export (for the 3D outputs, with onnx_file_2d).",
                                  path="file")


class EvaluateConfig(ExportedModelSource):
    num_gpus: int = tao_field(1, "GPUs for evaluation.", popular=True, ge=1)
    gpu_ids: list[int] = tao_field([0], "GPU indices.", popular=True, automl="disabled", min_length=1)
    num_nodes: int = tao_field(1, "Machines.", popular=True, ge=1)
    checkpoint: str = tao_field("", "Checkpoint to evaluate.", path="file")
    results_dir: str = tao_field("", "Overrides the top-level results_dir.", nullable=True)
    batch_size: int = tao_field(-1, "Batch size; -1 uses dataset.<split>.batch_size.", ge=-1)
    split: Literal["val", "test"] = tao_field("val", "(ours) Split to evaluate: dataset.val or dataset.test.")


class InferenceConfig(ExportedModelSource):
    num_gpus: int = tao_field(1, "GPUs for inference.", popular=True, ge=1)
    gpu_ids: list[int] = tao_field([0], "GPU indices.", popular=True, automl="disabled", min_length=1)
    num_nodes: int = tao_field(1, "Machines.", popular=True, ge=1)
    checkpoint: str = tao_field("", "Checkpoint to run.", path="file")
    results_dir: str = tao_field("", "Overrides the top-level results_dir.", nullable=True)
    batch_size: int = tao_field(-1, "Batch size; -1 means 1.", ge=-1)
    mode: Literal["semantic", "instance", "panoptic"] = tao_field("panoptic", "Output mode.", popular=True)
    images_dir: str = tao_field(
        "", "Folder of RGB images (nested folders scanned) or an images archive (.tar.gz, .zip) extracted first.",
        path="folder",
    )


class ExportConfig(SpecSection):
    results_dir: str = tao_field("", "Overrides the top-level results_dir.", nullable=True)
    gpu_id: int = tao_field(0, "GPU used for export.", ge=0)
    checkpoint: str = tao_field("", "Checkpoint to export.", path="file")
    onnx_file: str = tao_field("", "Legacy single ONNX path; used for the 2D model when onnx_file_2d is empty.")
    on_cpu: bool = tao_field(False, "Export on the CPU.")
    input_channel: Literal[3] = tao_field(3, "Input channels (RGB).")
    input_width: int = tao_field(960, "Input width of the 2D model.", ge=32)
    input_height: int = tao_field(544, "Input height of the 2D model.", ge=32)
    opset_version: int = tao_field(17, "ONNX opset.", ge=13, le=21)
    batch_size: int = tao_field(-1, "Static batch size; -1 exports a dynamic batch axis.", ge=-1)
    verbose: bool = tao_field(False, "Verbose export logs.")
    format: Literal["onnx"] = tao_field("onnx", "Export format.")
    onnx_file_2d: str = tao_field("", "Output path of the 2D-stage ONNX model.")
    onnx_file_3d: str = tao_field("", "Output path of the 3D-stage ONNX model.")
    max_voxels: int = tao_field(700000, "Voxel capacity of the 3D model's padded input tensors.", ge=1)


class TensorRTConfig(SpecSection):
    data_type: Literal["FP32", "FP16"] = tao_field("FP32", "Engine precision (FP32 or FP16).")
    workspace_size: int = tao_field(1024, "Builder workspace in MiB.", ge=1)
    min_batch_size: int = tao_field(1, "Minimum batch of the optimisation profile.", ge=1)
    opt_batch_size: int = tao_field(1, "Optimal batch of the optimisation profile.", ge=1)
    max_batch_size: int = tao_field(1, "Maximum batch of the optimisation profile.", ge=1)
    layers_precision: list[str] = tao_field([], "Per-layer precision overrides `layer_name:fp32`.", automl="disabled",
                                         nullable=True)


class GenTrtEngineConfig(SpecSection):
    results_dir: str = tao_field("", "Overrides the top-level results_dir.", nullable=True)
    gpu_id: int = tao_field(0, "GPU that builds the engines.", ge=0)
    onnx_file: str = tao_field("", "2D-stage ONNX model.", path="file")
    onnx_file_3d: str = tao_field("", "(ours) 3D-stage ONNX model; empty builds only the 2D engine.", path="file")
    trt_engine: str = tao_field("", "Output folder of the engines (model_2d.engine, model_3d.engine).", nullable=True)
    timing_cache: str = tao_field("", "TensorRT timing cache file reused across builds.", nullable=True)
    batch_size: int = tao_field(-1, "Batch size; -1 uses the tensorrt profile.", ge=-1)
    verbose: bool = tao_field(False, "Verbose builder logs.")
    tensorrt: TensorRTConfig = Field(default_factory=TensorRTConfig)
