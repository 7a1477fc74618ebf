"""Lightning plumbing: encrypted atomic checkpoint I/O, periodic named checkpoints, plain log lines."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from lightning_fabric.plugins import CheckpointIO

from nvpanoptix3d.engine.checkpoint_io import load_checkpoint, save_checkpoint, update_latest

log = logging.getLogger("nvpanoptix3d")

CHECKPOINT_NAME = "model_epoch_{epoch:03d}_step_{step:05d}.pth"


class SecureCheckpointIO(CheckpointIO):
    """Lightning CheckpointIO writing atomically (temp file + os.replace) and, with a key, AES-GCM encrypted."""

    def __init__(self, key: str | None = None) -> None:
        self._key = key

    def __repr__(self) -> str:  # never show the key
        return f"SecureCheckpointIO(encrypted={bool(self._key)})"

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        save_checkpoint(checkpoint, path, key=self._key)

    def load_checkpoint(self, path: Any, map_location: Any = None, weights_only: bool | None = None) -> dict[str, Any]:
        return load_checkpoint(path, key=self._key, what="resume checkpoint")

    def remove_checkpoint(self, path: Any) -> None:
        Path(path).unlink(missing_ok=True)


class PeriodicCheckpoint(pl.Callback):
    """Writes ``model_epoch_{epoch:03d}_step_{step:05d}.pth`` every ``interval`` epochs or steps, then points
    ``latest.pth`` at it. Epoch-unit checkpoints are written at the end of the epoch, after validation,
    so their epoch/step equal those of the status.json entry of that validation."""

    def __init__(self, results_dir: str | Path, *, interval: int, unit: str) -> None:
        if unit not in ("epoch", "step"):
            raise ValueError(f"checkpoint_interval_unit must be epoch or step, got {unit!r}")
        self.results_dir = Path(results_dir)
        self.interval, self.unit = max(1, int(interval)), unit
        self.last_path: Path | None = None
        self.last_step: int | None = None

    def _save(self, trainer: pl.Trainer, batches_done: int, epoch_end: bool = False) -> None:
        if self.last_step == trainer.global_step:
            return
        loader = trainer.train_dataloader
        if hasattr(loader, "note_progress"):
            loader.note_progress(trainer.current_epoch, batches_done)
        path = self.results_dir / CHECKPOINT_NAME.format(epoch=trainer.current_epoch, step=trainer.global_step)
        module = trainer.lightning_module
        module.saving_at_epoch_end = epoch_end
        try:
            trainer.save_checkpoint(path, weights_only=False)
        finally:
            module.saving_at_epoch_end = False
        if trainer.is_global_zero:
            update_latest(self.results_dir, path)
            log.info("saved checkpoint %s", path.name)
        self.last_path, self.last_step = path, trainer.global_step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.unit == "step" and trainer.global_step > 0 and trainer.global_step % self.interval == 0:
            self._save(trainer, batch_idx + 1)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if self.unit == "epoch" and (trainer.current_epoch + 1) % self.interval == 0:
            self._save(trainer, trainer.num_training_batches, epoch_end=True)

    def on_train_end(self, trainer, pl_module) -> None:
        # The final weights are always saved (a run stopped by max_steps between two intervals included).
        if trainer.global_step > 0 and self.last_step != trainer.global_step:
            # on_train_end runs after the last epoch's end-of-epoch bookkeeping, which already counted that
            # epoch (also when max_steps stopped it early): the last step belongs to current_epoch - 1.
            done = trainer.fit_loop.epoch_loop.batch_progress.current.processed
            epoch = max(trainer.current_epoch - 1, 0)
            loader = trainer.train_dataloader
            if hasattr(loader, "note_progress"):
                loader.note_progress(epoch, done)
            path = self.results_dir / CHECKPOINT_NAME.format(epoch=epoch, step=trainer.global_step)
            trainer.save_checkpoint(path, weights_only=False)
            if trainer.is_global_zero:
                update_latest(self.results_dir, path)
                log.info("saved final checkpoint %s", path.name)
            self.last_path, self.last_step = path, trainer.global_step


class LogLines(pl.Callback):
    """Plain progress lines (for logs and non-TTY consoles): every ``every`` steps and at each epoch end."""

    def __init__(self, every: int = 10) -> None:
        self.every = max(1, every)
        self._t0 = time.monotonic()

    def _line(self, trainer: pl.Trainer, prefix: str) -> str:
        m = {k: float(v) for k, v in trainer.progress_bar_metrics.items() if k in ("train_loss", "lr", "val_loss")}
        total = trainer.max_steps if trainer.max_steps and trainer.max_steps > 0 else "?"
        parts = [f"{prefix} epoch {trainer.current_epoch + 1}/{trainer.max_epochs}",
                 f"step {trainer.global_step}/{total}"]
        parts += [f"{k} {v:.4g}" for k, v in m.items()]
        parts.append(f"{time.monotonic() - self._t0:.1f}s")
        return " | ".join(parts)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.is_global_zero and trainer.global_step % self.every == 0:
            log.info(self._line(trainer, "train"))

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if trainer.is_global_zero:
            log.info(self._line(trainer, "end of"))
