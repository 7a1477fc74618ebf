"""Lightning Trainer from the spec: devices, nodes, strategy, precision, clipping, checkpoints, resume."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from nvpanoptix3d.engine.checkpoint_io import SecureCheckpointIO

PRECISION = {"fp32": "32-true", "fp16": "16-mixed", "bf16": "bf16-mixed"}


def checkpoint_name(epoch: int, step: int) -> str:
    return f"model_epoch_{epoch:03d}_step_{step:05d}.pth"


class PeriodicCheckpoint(pl.Callback):
    """Writes model_epoch_EEE_step_SSSSS.pth every `checkpoint_interval` epochs (or steps) and a `latest` pointer."""

    def __init__(self, results_dir: Path, interval: int, unit: str) -> None:
        self.dir, self.interval, self.unit = Path(results_dir), interval, unit

    def _save(self, trainer: pl.Trainer, epoch: int) -> None:
        path = self.dir / checkpoint_name(epoch, trainer.global_step)
        trainer.save_checkpoint(path)
        if trainer.is_global_zero:
            tmp = self.dir / ".latest.tmp"
            tmp.write_text(path.name + "\n")
            os.replace(tmp, self.dir / "latest")

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.unit == "step" and trainer.global_step % self.interval == 0:
            self._save(trainer, trainer.current_epoch)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if self.unit == "epoch" and (trainer.current_epoch + 1) % self.interval == 0:
            self._save(trainer, trainer.current_epoch)


def latest_checkpoint(results_dir: Path) -> Path | None:
    pointer = Path(results_dir) / "latest"
    if pointer.exists():
        path = Path(results_dir) / pointer.read_text().strip()
        if path.exists():
            return path
    found = sorted(Path(results_dir).glob("model_epoch_*_step_*.pth"))
    return found[-1] if found else None


def _strategy(spec: Any, accelerator: str, devices: int):
    train = spec.train
    if devices * train.num_nodes <= 1:
        return "auto"
    if train.distributed_strategy == "fsdp":
        from pytorch_lightning.strategies import FSDPStrategy  # noqa: PLC0415

        return FSDPStrategy(activation_checkpointing_policy=None, cpu_offload=False)
    from pytorch_lightning.strategies import DDPStrategy  # noqa: PLC0415

    # Activation checkpointing recomputes the graph; unused-parameter search is only needed without it.
    return DDPStrategy(find_unused_parameters=not train.activation_checkpoint,
                       process_group_backend="gloo" if accelerator == "cpu" else "nccl")


def build_trainer(spec: Any, results_dir: Path, key: str | None, *, callbacks: list | None = None) -> pl.Trainer:
    train = spec.train
    env_gpus = os.environ.get("NUM_GPU_PER_NODE")
    devices = int(env_gpus) if env_gpus else train.num_gpus
    if torch.cuda.is_available():
        accelerator = "gpu"
        device_arg: Any = list(train.gpu_ids)[:devices] if len(train.gpu_ids) >= devices else devices
    else:
        accelerator, device_arg = "cpu", devices
    precision = PRECISION[train.precision]
    if accelerator == "cpu" and precision == "16-mixed":
        raise RuntimeError("train.precision fp16 needs a CUDA GPU (torch has no fp16 autocast training on CPU); "
                           "use bf16 or fp32 on CPU")
    if train.seed >= 0:
        pl.seed_everything(train.seed, workers=True, verbose=False)
    val_every = train.validation_interval
    return pl.Trainer(
        accelerator=accelerator, devices=device_arg, num_nodes=train.num_nodes,
        strategy=_strategy(spec, accelerator, devices), precision=precision,
        max_epochs=train.num_epochs, max_steps=train.optim.max_steps,
        limit_train_batches=train.iters_per_epoch if train.iters_per_epoch > 0 else 1.0,
        check_val_every_n_epoch=val_every, num_sanity_val_steps=0,
        gradient_clip_val=train.clip_grad_norm if train.clip_grad_norm > 0 and train.clip_grad_type != "value" else None,
        gradient_clip_algorithm="value" if train.clip_grad_type == "value" else "norm",
        enable_checkpointing=False, logger=False, default_root_dir=str(results_dir),
        enable_progress_bar=sys.stderr.isatty(), enable_model_summary=False,
        plugins=[SecureCheckpointIO(key)], callbacks=[PeriodicCheckpoint(results_dir, train.checkpoint_interval,
                                                                           train.checkpoint_interval_unit),
                                                      *(callbacks or [])],
        fast_dev_run=bool(train.is_dry_run), use_distributed_sampler=True, deterministic=False,
        log_every_n_steps=1,
    )
