"""Lightning plumbing: encrypted atomic checkpoint I/O, periodic named checkpoints, plain log lines and
machine-readable progress for the runner."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from lightning_fabric.plugins import CheckpointIO

from nvpanoptix3d.engine.checkpoint_io import load_checkpoint, save_checkpoint, update_latest
from nvpanoptix3d.engine.progress import PROGRESS_ENV, PROGRESS_PREFIX, emit_progress  # noqa: F401 - re-exported

log = logging.getLogger("nvpanoptix3d")

CHECKPOINT_NAME = "model_epoch_{epoch:03d}_step_{step:05d}.pth"


class SecureCheckpointIO(CheckpointIO):
    """Lightning CheckpointIO writing atomically (temp file + os.replace) and, with a key, AES-GCM encrypted."""

    def __init__(self, key: str | None = None) -> None:
        self._key = key
        self._prepared: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:  # never show the key
        return f"SecureCheckpointIO(encrypted={bool(self._key)})"

    def provide(self, path: Any, checkpoint: dict[str, Any]) -> None:
        """The next load of ``path`` returns ``checkpoint`` (a resume file translated in memory: a TAO
        checkpoint made into ours, without writing a second copy of its weights)."""
        self._prepared[str(Path(path).resolve())] = checkpoint

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        save_checkpoint(checkpoint, path, key=self._key)

    def load_checkpoint(self, path: Any, map_location: Any = None, weights_only: bool | None = None) -> dict[str, Any]:
        prepared = self._prepared.pop(str(Path(path).resolve()), None)
        if prepared is not None:
            return prepared
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


def step_totals(trainer: pl.Trainer) -> tuple[int, int]:
    """(total optimiser steps, total epochs) this run really makes: epochs x steps per epoch, or
    ``max_steps`` when that ends first (Lightning's ``estimated_stepping_batches``)."""
    total = int(trainer.estimated_stepping_batches)
    per_epoch = max(int(trainer.num_training_batches), 1) if trainer.num_training_batches != float("inf") else 0
    epochs = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else 0
    if per_epoch:
        epochs = min(epochs, -(-total // per_epoch)) if epochs else -(-total // per_epoch)
    return total, epochs


class LogLines(pl.Callback):
    """Plain progress lines (for logs and non-TTY consoles): every ``every`` steps and at each epoch end."""

    def __init__(self, every: int = 10) -> None:
        self.every = max(1, every)
        self._t0 = time.monotonic()
        self._totals: tuple[int, int] | None = None

    def on_train_start(self, trainer, pl_module) -> None:
        self._totals = step_totals(trainer)

    def _line(self, trainer: pl.Trainer, prefix: str) -> str:
        m = {k: float(v) for k, v in trainer.progress_bar_metrics.items() if k in ("train_loss", "lr", "val_loss")}
        total, epochs = self._totals or step_totals(trainer)
        parts = [f"{prefix} epoch {min(trainer.current_epoch + 1, max(epochs, 1))}/{epochs}",
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




class ProgressReporter(pl.Callback):
    """One JSON line ``TAO_PROGRESS {...}`` on stderr at most every ``interval_s`` seconds (and at each epoch
    end and at the end), global rank 0 only: ``{"phase": "train", "epoch", "epochs", "step", "total",
    "loss", "lr", "elapsed_s", "eta_s", "steps_per_s"}``. ``total`` is the real number of steps of the run
    (:func:`step_totals`); ETA comes from the steps made by this process (a resumed run starts its clock
    at the resumed step)."""

    def __init__(self, interval_s: float = 1.0, stream: Any = None) -> None:
        self.interval_s = interval_s
        self.stream = stream
        self._t0 = self._last = 0.0
        self._step0 = 0
        self._totals = (0, 0)

    def on_train_start(self, trainer, pl_module) -> None:
        self._t0 = time.monotonic()
        self._last = 0.0
        self._step0 = trainer.global_step
        self._totals = step_totals(trainer)
        self._emit(trainer, force=True)

    def _emit(self, trainer: pl.Trainer, *, force: bool = False, phase: str = "train") -> None:
        if not trainer.is_global_zero:
            return
        now = time.monotonic()
        if not force and now - self._last < self.interval_s:
            return
        self._last = now
        total, epochs = self._totals
        step, elapsed = trainer.global_step, now - self._t0
        made = step - self._step0
        rate = made / elapsed if elapsed > 0 and made > 0 else None
        m = trainer.callback_metrics
        doc = {"phase": phase, "epoch": min(trainer.current_epoch + 1, max(epochs, 1)), "epochs": epochs,
               "step": step, "total": total, "loss": _number(m.get("train_loss")), "lr": _number(m.get("lr")),
               "val_loss": _number(m.get("val_loss")), "elapsed_s": round(elapsed, 2),
               "eta_s": round((total - step) / rate, 1) if rate else None,
               "steps_per_s": round(rate, 4) if rate else None}
        emit_progress(doc, self.stream)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._emit(trainer)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._emit(trainer, force=True)

    def on_validation_start(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self._emit(trainer, force=True, phase="validate")

    def on_train_end(self, trainer, pl_module) -> None:
        self._emit(trainer, force=True, phase="done")


def _number(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value.item() if hasattr(value, "item") else value)
    return round(v, 6) if math.isfinite(v) else None
