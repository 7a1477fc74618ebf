"""The ``train`` action: build the stage's network, data and Lightning Trainer, then fit.

Stage 2D when ``dataset.enable_3d`` is false, stage 3D otherwise (2D weights from ``train.checkpoint_2d``,
3D weights from ``train.checkpoint_3d``, both optional). ``train.resume_training_checkpoint_path`` (a file,
or a results folder holding ``latest.pth``) continues the run exactly: weights, optimiser, schedule,
epoch, step, data order and RNG. A checkpoint of NVIDIA's TAO trainer resumes too (``engine.resume_tao``):
weights, epoch and step, and the optimiser and schedule when their structure is ours (a WARNING otherwise).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from nvpanoptix3d.engine import build
from nvpanoptix3d.engine.checkpoint_io import (THREE_D_MODULES, is_3d_param, load_checkpoint, load_weights,
                                               report_load, resolve_checkpoint, strip_wrapper_prefixes)
from nvpanoptix3d.engine.architecture import check_architecture
from nvpanoptix3d.engine.errors import CheckpointError, EngineError
from nvpanoptix3d.engine.evaluation import Evaluator, format_table, settings_from_spec
from nvpanoptix3d.engine.resume_tao import check_resumable, is_foreign, translate_tao_checkpoint
from nvpanoptix3d.engine.runtime import (encryption_key, global_rank, plan_devices, precision_setup, quiet_lightning,
                                         redacted_config)
from nvpanoptix3d.engine.status import StatusFile

log = logging.getLogger("nvpanoptix3d")


def optim_settings(spec: Any):
    from nvpanoptix3d.engine.lit_module import OptimSettings  # noqa: PLC0415

    t, o = spec.train, spec.train.optim
    return OptimSettings(lr=o.lr, backbone_multiplier=o.backbone_multiplier, momentum=o.momentum,
                         weight_decay=o.weight_decay, lr_scheduler=o.lr_scheduler, milestones=tuple(o.milestones),
                         gamma=o.gamma, max_steps=o.max_steps, warmup_iters=o.warmup_iters,
                         warmup_factor=o.warmup_factor, clip_grad_norm=t.clip_grad_norm,
                         clip_grad_norm_type=t.clip_grad_norm_type, clip_grad_type=t.clip_grad_type,
                         freeze=tuple(t.freeze))


BACKBONE_PARTS = ("aggregator", "camera_head", "depth_head", "dpt2pixeldecoder")


def backbone_state(state: dict[str, Any]) -> dict[str, Any]:
    """The backbone tensors of a VGGT checkpoint (``aggregator.*``, ``camera_head.*``, ``depth_head.*``,
    ``dpt2pixeldecoder.*``) or of a TAO one (``model.backbone.aggregator.*``, ...), re-rooted at the backbone
    (wrapper prefixes such as ``module.`` dropped first). Keys of other VGGT heads (``point_head``,
    ``track_head``) and of the 2D head (``sem_seg_head.depth_head``) are left out."""
    out = {}
    for k, v in state.items():
        parts = strip_wrapper_prefixes(k).split(".")
        for i, part in enumerate(parts):
            if part in BACKBONE_PARTS and (i == 0 or parts[i - 1] == "backbone"):
                out[".".join(parts[i:])] = v
                break
    return out


def _load_pretrained_backbone(model, path: str) -> None:
    """``model.backbone.pretrained_model_path``: every backbone part the file holds must be complete; the
    parts it lacks (a public VGGT file has no ``dpt2pixeldecoder``) keep their initialisation, as in
    NVIDIA's code; the file's other tensors (VGGT's ``point_head``/``track_head``, ...) are listed."""
    ck = load_checkpoint(path, key=None, what="model.backbone.pretrained_model_path")
    state = backbone_state(ck["state_dict"])
    source = f"model.backbone.pretrained_model_path {path}"
    if state:  # a VGGT (or TAO) checkpoint: load every backbone part it holds
        present = {k.split(".", 1)[0] for k in state}
        rep = load_weights(model.backbone, state, source=source, select=lambda k: k.split(".", 1)[0] in present)
        absent = [p for p in BACKBONE_PARTS if p not in present and getattr(model.backbone, p, None) is not None]
        if absent:
            log.warning("pretrained backbone %s holds no %s: those parts keep their initialisation", path,
                        ", ".join(absent))
        outside = [strip_wrapper_prefixes(k) for k in ck["state_dict"] if not backbone_state({k: None})]
        rep["unexpected"] = [f"backbone.{k}" for k in rep["unexpected"]] + outside
    else:  # a bare aggregator state dict (patch_embed.*, frame_blocks.*, ...)
        rep = load_weights(model.backbone.aggregator, ck["state_dict"], source=source)
    report_load("backbone", path, rep)


def initialise_weights(model, spec: Any, stage: str, key: str | None) -> None:
    """Pretrained backbone, then ``train.checkpoint_2d`` (2D keys) and ``train.checkpoint_3d`` (3D keys).

    NVIDIA's stage rules: a 2D checkpoint (either stage's file) initialises everything except the 3D
    modules (``projector``, ``completion``; :func:`is_3d_param`), a 3D checkpoint only the 3D modules. Every
    tensor of the part being initialised must be in the file (else CheckpointError naming them); tensors
    of the file that the model does not use are listed in the log."""
    if spec.model.backbone.pretrained_model_path:
        _load_pretrained_backbone(model, spec.model.backbone.pretrained_model_path)
    if spec.train.checkpoint_2d:
        ck = load_checkpoint(spec.train.checkpoint_2d, key=key, what="train.checkpoint_2d")
        check_architecture(ck, spec, part="2d", what="train.checkpoint_2d", path=spec.train.checkpoint_2d)
        rep = load_weights(model, ck["state_dict"], source=f"train.checkpoint_2d {spec.train.checkpoint_2d}",
                           select=lambda k: not is_3d_param(k))
        report_load("2D stage", spec.train.checkpoint_2d, rep, other_stage=is_3d_param)
    elif stage == "3d":
        log.warning("train.checkpoint_2d is empty: the 3D stage trains on an untrained (frozen) 2D stage; set it "
                    "to a 2D-stage checkpoint (a 3D-stage file works too: its 2D tensors are used)")
    if spec.train.checkpoint_3d:
        if stage != "3d":
            raise EngineError("train.checkpoint_3d is set but dataset.enable_3d is false (the 2D stage has no 3D "
                              "weights); clear it or enable the 3D stage")
        ck = load_checkpoint(spec.train.checkpoint_3d, key=key, what="train.checkpoint_3d")
        if not any(is_3d_param(k) for k in ck["state_dict"]):
            raise CheckpointError(f"train.checkpoint_3d {spec.train.checkpoint_3d} holds no 3D-stage tensors "
                                  f"({', '.join(m + '.*' for m in THREE_D_MODULES)}): it is a 2D-stage checkpoint; "
                                  "pass it as train.checkpoint_2d")
        check_architecture(ck, spec, part="3d", what="train.checkpoint_3d", path=spec.train.checkpoint_3d)
        rep = load_weights(model, ck["state_dict"], source=f"train.checkpoint_3d {spec.train.checkpoint_3d}",
                           select=is_3d_param)
        report_load("3D stage", spec.train.checkpoint_3d, rep, other_stage=lambda k: not is_3d_param(k))


def build_trainer(spec: Any, results_dir: Path, *, key: str | None, extra_callbacks: list | None = None):
    from pytorch_lightning.callbacks import TQDMProgressBar  # noqa: PLC0415

    from nvpanoptix3d.engine.callbacks import (PROGRESS_ENV, LogLines, PeriodicCheckpoint,  # noqa: PLC0415
                                               ProgressReporter, SecureCheckpointIO)
    from nvpanoptix3d.engine.loggers import build_loggers  # noqa: PLC0415

    quiet_lightning()
    t = spec.train
    torch.backends.cudnn.benchmark = t.cudnn.benchmark
    torch.backends.cudnn.deterministic = t.cudnn.deterministic
    plan = plan_devices(t)
    precision, plugins = precision_setup(t.precision, plan.accelerator)
    plugins.append(SecureCheckpointIO(key))
    plugins.extend(plan.plugins)  # the launcher's Lightning cluster environment (torchrun, SLURM, Kubeflow, ...)
    tty = sys.stderr.isatty()
    callbacks = [PeriodicCheckpoint(results_dir, interval=t.checkpoint_interval, unit=t.checkpoint_interval_unit),
                 LogLines(every=1 if t.is_dry_run else 10)]
    if tty:
        callbacks.append(TQDMProgressBar(refresh_rate=1))
    if os.environ.get(PROGRESS_ENV) == "1":  # set by `tao-skill run`, which draws the progress itself
        callbacks.append(ProgressReporter())
    callbacks += extra_callbacks or []
    kw: dict[str, Any] = dict(
        accelerator=plan.accelerator, devices=plan.devices, num_nodes=plan.num_nodes, strategy=plan.strategy,
        max_epochs=1 if t.is_dry_run else t.num_epochs, max_steps=1 if t.is_dry_run else t.optim.max_steps,
        check_val_every_n_epoch=t.validation_interval, num_sanity_val_steps=0,
        logger=build_loggers(spec, results_dir), log_every_n_steps=1,
        enable_checkpointing=False, enable_progress_bar=tty, enable_model_summary=False, callbacks=callbacks,
        plugins=plugins, use_distributed_sampler=False, default_root_dir=str(results_dir),
        benchmark=t.cudnn.benchmark, deterministic=False, gradient_clip_val=None,
        limit_train_batches=1 if t.is_dry_run else (t.iters_per_epoch if t.iters_per_epoch > 0 else None),
        limit_val_batches=1 if t.is_dry_run else None,
    )
    if precision is not None:
        kw["precision"] = precision
    log.info("devices: %s; precision %s", plan.describe(), t.precision)
    return pl.Trainer(**kw), plan


class _DistributedSetup(pl.Callback):
    """Hands rank and world size to the loaders and status file once Lightning has launched the processes."""

    def __init__(self, train_loader, val_loader, status: StatusFile) -> None:
        self.loaders, self.status = (train_loader, val_loader), status

    def setup(self, trainer, pl_module, stage: str) -> None:
        for loader in self.loaders:
            loader.rank, loader.world_size = trainer.global_rank, trainer.world_size
        self.status.enabled = trainer.is_global_zero
        self.status.write()


def _checkpoint_io(trainer: pl.Trainer) -> Any:
    """The trainer's SecureCheckpointIO (Lightning may wrap the plugin)."""
    from nvpanoptix3d.engine.callbacks import SecureCheckpointIO  # noqa: PLC0415

    io = trainer.strategy.checkpoint_io
    while not isinstance(io, SecureCheckpointIO) and getattr(io, "checkpoint_io", None) is not None:
        io = io.checkpoint_io
    if not isinstance(io, SecureCheckpointIO):
        raise EngineError(f"the trainer's checkpoint I/O is {type(io).__name__}, expected SecureCheckpointIO")
    return io


def run_train(spec: Any, results_dir: Path) -> dict[str, Any]:

    from nvpanoptix3d.engine.data import ShardedEpochLoader, ShardedEvalLoader, split_dataset  # noqa: PLC0415
    from nvpanoptix3d.engine.lit_module import PanoptixModule  # noqa: PLC0415
    from nvpanoptix3d.engine.loggers import monitor_callbacks  # noqa: PLC0415

    t = spec.train
    stage = "3d" if build.is_3d(spec) else "2d"
    key = encryption_key(spec)
    resume, foreign = None, None
    if t.resume_training_checkpoint_path:
        resume = resolve_checkpoint(t.resume_training_checkpoint_path, "train.resume_training_checkpoint_path")
        ck = load_checkpoint(resume, key=key, what="train.resume_training_checkpoint_path")
        resume_step = int(ck.get("global_step", 0))
        if is_foreign(ck):  # NVIDIA's TAO trainer wrote it: translated once the module and trainer exist
            check_resumable(ck, stage, f"train.resume_training_checkpoint_path {resume}")
            foreign = ck
        elif ck.get("stage") not in (None, stage):
            raise EngineError(f"train.resume_training_checkpoint_path {resume} is a {ck['stage']} checkpoint but "
                              f"dataset.enable_3d selects the {stage} stage")
        elif "loops" not in ck or "optimizer_states" not in ck:
            raise EngineError(f"train.resume_training_checkpoint_path {resume} holds weights only (no optimiser or "
                              "loop state); use it as train.checkpoint_2d / checkpoint_3d instead")
        else:
            check_architecture(ck, spec, part=stage, what="train.resume_training_checkpoint_path", path=resume)
        del ck
    if t.seed >= 0:
        pl.seed_everything(t.seed, workers=True, verbose=False)

    model = build.build_model(spec, stage=stage)
    crit2d, crit3d = build.build_criteria(spec, stage=stage)
    if resume is None:
        initialise_weights(model, spec, stage, key)
    evaluator = Evaluator(settings_from_spec(spec, stage))
    module = PanoptixModule(model=model, criterion_2d=crit2d, criterion_3d=crit3d, stage=stage,
                            optim=optim_settings(spec), evaluator=evaluator, seed=t.seed, config=redacted_config(spec))
    train_ds = split_dataset(spec, "train")
    val_ds = split_dataset(spec, "val")
    ds = spec.dataset
    pin = ds.pin_memory and torch.cuda.is_available()
    train_loader = ShardedEpochLoader(train_ds, batch_size=ds.train.batch_size, shuffle=True, seed=max(t.seed, 0),
                                      num_workers=ds.train.num_workers, pin_memory=pin)
    val_loader = ShardedEvalLoader(val_ds, batch_size=ds.val.batch_size, num_workers=ds.val.num_workers,
                                   pin_memory=pin)

    monitor = spec.train.optim.monitor_name
    if monitor == "PRQ" or (monitor in ("RSQ", "RRQ") and stage == "2d"):
        monitor = "PRQ" if stage == "3d" else "PQ"  # the 2D stage has no 3D KPIs
    status = StatusFile(results_dir, action="train", metric=monitor,
                        direction="minimize" if monitor.endswith("_loss") else "maximize",
                        enabled=global_rank() == 0)  # rank 0 writes status.json, also for errors before setup
    if resume is not None:
        previous = None
        try:
            previous = json.loads((results_dir / "status.json").read_text())
        except (OSError, ValueError):
            pass
        status.resume_from(previous, up_to_step=resume_step)

    def on_result(epoch: int, step: int, result: dict, losses: dict) -> None:
        train_loss = module.trainer.callback_metrics.get("train_loss", float("nan"))
        status.add_entry(epoch=epoch, step=step, kpi=dict(result["kpi"], val_loss=losses.get("loss", float("nan")),
                                                          train_loss=train_loss),
                         loss=losses, per_class=result["per_class"])
        log.info("validation epoch %d step %d:\n%s", epoch, step, format_table(result))

    module.hooks.on_validation_result = on_result

    trainer, plan = build_trainer(spec, results_dir, key=key,
                                  extra_callbacks=[_DistributedSetup(train_loader, val_loader, status),
                                                   *monitor_callbacks(len(train_loader))])
    log.info("train %s stage: %d train / %d val samples, batch %d, monitor %s", stage, len(train_ds), len(val_ds),
             ds.train.batch_size, monitor)
    if foreign is not None:
        prepared = translate_tao_checkpoint(foreign, module, trainer.fit_loop.state_dict(),
                                            loader_seed=train_loader.seed,
                                            source=f"train.resume_training_checkpoint_path {resume}")
        foreign = None
        _checkpoint_io(trainer).provide(resume, prepared)
        del prepared
    try:
        trainer.fit(module, train_dataloaders=train_loader, val_dataloaders=val_loader,
                    ckpt_path=str(resume) if resume is not None else None)
    except BaseException as exc:
        status.finish("failed", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300])
        raise
    status.finish("done")
    return {"stage": stage, "global_step": trainer.global_step, "epoch": trainer.current_epoch,
            "best": status.data["best"], "module": module, "trainer": trainer}
