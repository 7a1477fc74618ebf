"""Lightning loggers of a training run: TensorBoard event files, a CSV of every logged value, Weights & Biases.

Layout under ``<results_dir>/logs/`` (one ``version_N`` folder per process that trained into the folder, so a
resumed run keeps the earlier history)::

    logs/tensorboard/version_N/events.out.tfevents.*   (``tensorboard --logdir <results_dir>/logs``)
    logs/csv/version_N/metrics.csv                     (one row per logged step, one column per value)

Logged values: ``train_loss`` and each loss term (``train/<term>``) every step, the learning rate of every
parameter group (``lr/<group>``: ``lr/head``, ``lr/backbone_no_decay``, ...; Lightning's LearningRateMonitor), ``train/samples_per_sec`` and
``train/batches_per_sec`` (Lightning's ThroughputMonitor), and ``val_loss`` plus the KPIs at each validation.
Lightning's loggers write on global rank 0 only.

``wandb``: Lightning's WandbLogger when ``wandb.enable`` is true and the ``wandb`` package is installed
(``pip install 'tao-skill-bank[wandb]'``); the run is offline (files in ``<results_dir>/wandb``, upload later
with ``wandb sync``) unless ``WANDB_API_KEY`` is set or ``WANDB_MODE`` says otherwise.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import Any, Mapping

log = logging.getLogger("nvpanoptix3d")

LOGS_DIR = "logs"


def wandb_settings(wandb: Any, results_dir: Path, env: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """Keyword arguments of Lightning's WandbLogger for the spec's ``wandb`` section, or None when disabled.

    Offline unless the environment holds the user's key (``WANDB_API_KEY``) or an explicit ``WANDB_MODE``;
    the key itself is never read into the arguments (wandb takes it from the environment)."""
    if not wandb.enable:
        return None
    env = os.environ if env is None else env
    mode = env.get("WANDB_MODE") or ("online" if env.get("WANDB_API_KEY") else "offline")
    kw: dict[str, Any] = {"project": wandb.project or None, "name": wandb.name or None,
                          "save_dir": str(results_dir), "offline": mode == "offline", "log_model": False,
                          "tags": list(wandb.tags), "save_code": bool(wandb.save_code),
                          "sync_tensorboard": bool(wandb.sync_tensorboard), "mode": mode}
    if wandb.reinit:  # only when asked: newer wandb warns about the boolean form
        kw["reinit"] = True
    if wandb.entity:
        kw["entity"] = wandb.entity
    if wandb.group:
        kw["group"] = wandb.group
    if wandb.run_id:
        kw["id"], kw["resume"] = wandb.run_id, "allow"
    return kw


def build_loggers(spec: Any, results_dir: Path) -> list[Any]:
    """TensorBoard + CSV loggers (always), plus W&B per the spec (see the module docstring)."""
    from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger  # noqa: PLC0415

    logs = Path(results_dir) / LOGS_DIR
    loggers: list[Any] = [TensorBoardLogger(str(logs), name="tensorboard", default_hp_metric=False),
                          CSVLogger(str(logs), name="csv", flush_logs_every_n_steps=10)]
    kw = wandb_settings(spec.wandb, Path(results_dir))
    if kw is not None:
        if importlib.util.find_spec("wandb") is None:
            log.info("wandb.enable is true but the wandb package is not installed: no W&B run "
                     "(pip install wandb, or set wandb.enable=false to silence this)")
        else:
            from pytorch_lightning.loggers import WandbLogger  # noqa: PLC0415

            loggers.append(WandbLogger(**kw))
            log.info("W&B run %s (%s) in %s", kw.get("name"), kw["mode"], results_dir / "wandb")
    return loggers


def monitor_callbacks(steps_per_epoch: int) -> list[Any]:
    """LearningRateMonitor (every group, every step) and ThroughputMonitor (rolling over a few steps)."""
    from pytorch_lightning.callbacks import LearningRateMonitor, ThroughputMonitor  # noqa: PLC0415

    window = max(2, min(20, int(steps_per_epoch)))
    return [LearningRateMonitor(logging_interval="step"),
            ThroughputMonitor(batch_size_fn=_batch_size, window_size=window)]


def _batch_size(batch: Any) -> int:
    image = batch["image"] if isinstance(batch, Mapping) else batch[0]
    return int(image.shape[0])


def log_dirs(results_dir: Path) -> dict[str, Path | None]:
    """The newest ``version_N`` folders of the TensorBoard and CSV logs (None where there is none)."""
    out: dict[str, Path | None] = {}
    for name in ("tensorboard", "csv"):
        root = Path(results_dir) / LOGS_DIR / name
        versions = sorted((p for p in root.glob("version_*") if p.name[8:].isdigit()), key=lambda p: int(p.name[8:]))
        out[name] = versions[-1] if versions else None
    return out
