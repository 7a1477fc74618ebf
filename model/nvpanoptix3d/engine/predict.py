"""Loading a trained network for evaluate / inference / export, and running it on a batch."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nvpanoptix3d.engine import build
from nvpanoptix3d.engine.architecture import check_architecture
from nvpanoptix3d.engine.checkpoint_io import is_3d_param, load_checkpoint, load_weights, report_load
from nvpanoptix3d.engine.errors import CheckpointError, EngineError
from nvpanoptix3d.network.frustum3d.sparse.tensor import SparseTensor

log = logging.getLogger("nvpanoptix3d")


def pick_device(on_cpu: bool = False, gpu_id: int = 0) -> torch.device:
    if not on_cpu and torch.cuda.is_available():
        if gpu_id >= torch.cuda.device_count():
            raise EngineError(f"GPU {gpu_id} does not exist ({torch.cuda.device_count()} visible)")
        return torch.device("cuda", gpu_id)
    return torch.device("cpu")


def _count(value: Any) -> int:
    """An epoch / step entry of a checkpoint as an int (0 when absent or not a number)."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def load_trained_model(spec: Any, checkpoint: str, *, key: str | None, what: str,
                       stage: str | None = None) -> tuple[nn.Module, str, dict[str, Any]]:
    """(model in eval mode on the CPU, stage, checkpoint metadata) from a checkpoint.

    The checkpoint's stage is its ``stage`` entry (our files) or, for NVIDIA's files (TAO Lightning, the
    released 3D checkpoint, raw state dicts), whether it holds 3D-stage tensors. The model's stage is
    ``stage`` when given (evaluate follows ``dataset.enable_3d``), else the checkpoint's. A 2D-stage
    checkpoint cannot serve the 3D stage (its 3D part would be untrained); a 3D one serves the 2D stage
    with its 2D tensors. Every tensor of the model must be in the file (CheckpointError naming the missing
    ones); the file's tensors the model does not use are listed in the log.
    """
    if not checkpoint:
        raise CheckpointError(f"{what} is empty: set it to a model_epoch_*_step_*.pth file from a train job")
    ck = load_checkpoint(checkpoint, key=key, what=what)
    has_3d = any(is_3d_param(k) for k in ck["state_dict"])
    ck_stage = ck.get("stage") or ("3d" if has_3d else "2d")
    wanted = stage or ck_stage
    if wanted == "3d" and (ck_stage != "3d" or not has_3d):
        raise CheckpointError(f"{what} {checkpoint} is a 2D-stage checkpoint (no projector.* / completion.* "
                              "tensors) but dataset.enable_3d is true; train the 3D stage first or set "
                              "dataset.enable_3d=false")
    check_architecture(ck, spec, part=wanted, what=what, path=checkpoint)
    model = build.build_model(spec, stage=wanted)
    report = load_weights(model, ck["state_dict"], source=f"{what} {checkpoint}",
                          select=None if wanted == "3d" else (lambda k: not is_3d_param(k)))
    report_load(f"{wanted.upper()} model", checkpoint, report, other_stage=None if wanted == "3d" else is_3d_param)
    model.eval()
    meta = {"stage": wanted, "epoch": _count(ck.get("epoch")), "step": _count(ck.get("global_step")),
            "path": str(Path(checkpoint))}
    log.info("loaded %s-stage weights from %s (epoch %d, step %d)", wanted, checkpoint, meta["epoch"], meta["step"])
    return model, wanted, meta


def load_for_prediction(spec: Any, section: str, *, stage: str | None = None) -> tuple[Any, str, dict[str, Any],
                                                                                  torch.device]:
    """(model, stage, metadata, device) for evaluate / inference: the TensorRT engines of
    ``<section>.trt_engine``, else the ONNX models of ``<section>.onnx_file_2d``/``_3d``, else the PyTorch
    checkpoint ``<section>.checkpoint``. ``stage`` None: the checkpoint's own, or "3d" when a 3D model is given."""
    from nvpanoptix3d.engine.runtime import encryption_key  # noqa: PLC0415

    cfg = getattr(spec, section)
    device = pick_device(gpu_id=cfg.gpu_ids[0] if cfg.gpu_ids else 0)
    if cfg.trt_engine or cfg.onnx_file_2d:
        from nvpanoptix3d.engine.deployed import load_deployed  # noqa: PLC0415

        model, meta = load_deployed(spec, section, stage=stage, device=device)
        return model, meta["stage"], meta, device
    if not cfg.checkpoint:
        raise CheckpointError(f"{section}.checkpoint is empty: set it to a model_epoch_*_step_*.pth file from a train "
                              f"job, or run exported models with {section}.onnx_file_2d (export) or "
                              f"{section}.trt_engine (gen_trt_engine)")
    model, stage, meta = load_trained_model(spec, cfg.checkpoint, key=encryption_key(spec),
                                            what=f"{section}.checkpoint", stage=stage)
    model.to(device)
    return model, stage, meta, device


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}


@torch.no_grad()
def run_model(model: nn.Module, stage: str, batch: dict[str, Any]) -> dict[str, Any]:
    """The model's outputs for evaluation / inference. The sparse backends keep their per-query 3D masks
    sparse (post-processing reads them as they are; densified they would be queries x grid)."""
    if stage == "3d":
        if hasattr(model, "densify_3d"):  # NVPanoptix3D (the dense backend ignores sparse_outputs)
            out = model(batch["image"], batch["intrinsic"], batch["frustum_mask"], sparse_outputs=True)
            return model.densify_3d(out, masks="sparse")
        return model(batch["image"], batch["intrinsic"], batch["frustum_mask"])
    return model(batch["image"])


def to_cpu_float(value: Any) -> Any:
    """Tensors (and SparseTensors, lists of either) as float32 on the CPU; anything else unchanged."""
    if isinstance(value, list):
        return [to_cpu_float(v) for v in value]
    if isinstance(value, torch.Tensor):
        return value.float().cpu()
    if isinstance(value, SparseTensor):
        return value.to_cpu_float()
    return value
