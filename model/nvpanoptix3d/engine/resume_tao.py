"""Resume training from a checkpoint NVIDIA's TAO trainer wrote (a TAO Lightning ``.pth``), not one of ours.

Such a file holds ``state_dict`` (``model.``-prefixed network tensors and ``criterion.empty_weight``),
``epoch``, ``global_step``, ``optimizer_states``, ``lr_schedulers``, Lightning's ``loops`` and TAO's
``hyper_parameters``/``hparams``/``tao_model``; it has none of our entries (``network``, ``stage``, ``rng``,
our data loader's position). :func:`translate_tao_checkpoint` turns it into the checkpoint our trainer
resumes from:

* weights: every network tensor of the model must be in the file with its shape (else the error names the
  missing ones); tensors the model does not use (the criterion's) are listed in the log;
* position: ``epoch`` and ``global_step`` as written. The file's loop state says whether it was written at
  the end of its epoch (training continues with the next epoch) or inside it (the epoch continues after
  the batches it had trained, in our data order); a file without loop state counts as written at the end
  of its epoch (TAO's per-epoch checkpoints), which the log says;
* optimiser and schedule: kept when their structure is ours - the same number of AdamW parameter groups
  with the same numbers of parameters, every moment tensor the shape of the parameter at its position, and
  a schedule of the same kind. Otherwise a WARNING says the optimiser starts fresh (zero moments) and the
  learning-rate schedule is placed where the spec's schedule is at that epoch/step.
"""

from __future__ import annotations

import copy
import logging
import warnings
from typing import Any

import torch

from nvpanoptix3d.engine.checkpoint_io import NETWORK, is_3d_param, load_weights, report_load, strip_wrapper_prefixes
from nvpanoptix3d.engine.errors import CheckpointError

log = logging.getLogger("nvpanoptix3d")

_ADAMW_STATE = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")


def is_foreign(checkpoint: dict[str, Any]) -> bool:
    """True for a checkpoint our trainer did not write (TAO's, another Lightning trainer's)."""
    return checkpoint.get("network") != NETWORK


def stage_of_foreign(checkpoint: dict[str, Any]) -> str:
    """"3d" when the file holds 3D-stage tensors (or TAO names its model the 3D one), else "2d"."""
    if str(checkpoint.get("tao_model", "")).endswith("3d"):
        return "3d"
    state = checkpoint.get("state_dict") or {}
    return "3d" if any(is_3d_param(strip_wrapper_prefixes(k)) for k in state) else "2d"


def _set(node: dict[str, Any] | None, value: int) -> None:
    """Every counter (ready/started/processed/completed) of a Lightning progress node to ``value``."""
    if isinstance(node, dict):
        for key in ("ready", "started", "processed", "completed"):
            if key in node:
                node[key] = int(value)


def _position(checkpoint: dict[str, Any]) -> tuple[bool, int, str]:
    """(written at the end of its epoch, batches trained in that epoch when not, how it was decided)."""
    fit = (checkpoint.get("loops") or {}).get("fit_loop") or {}
    epoch = (fit.get("epoch_progress") or {}).get("current") or {}
    batches = fit.get("epoch_loop.batch_progress") or {}
    if not epoch or not batches:
        return True, 0, "the file has no loop state: taken as written at the end of its epoch"
    if int(epoch.get("processed", 0)) > int(epoch.get("completed", 0)) or batches.get("is_last_batch"):
        return True, 0, "written at the end of its epoch"
    done = int((batches.get("current") or {}).get("completed", 0))
    return False, done, f"written after {done} batches of its epoch"


def _loops(template: dict[str, Any], *, epoch: int, step: int, at_end: bool, done: int, loader_seed: int
           ) -> dict[str, Any]:
    """Our trainer's fit-loop state (``template``: a fresh ``trainer.fit_loop.state_dict()``) at the file's
    position, in the form our own checkpoints have (see ``lit_module.normalise_epoch_boundary``)."""
    fit = copy.deepcopy(template)
    progress = fit.get("epoch_progress") or {}
    for part in ("total", "current"):
        _set(progress.get(part), epoch + 1)
        if part in progress and not at_end:
            progress[part]["processed"] = progress[part]["completed"] = epoch
        elif part in progress:
            progress[part]["completed"] = epoch
    batches = fit.get("epoch_loop.batch_progress") or {}
    _set(batches.get("total"), step)
    _set(batches.get("current"), done)
    if batches:
        batches["is_last_batch"] = bool(at_end)
    if isinstance(fit.get("epoch_loop.state_dict"), dict):
        fit["epoch_loop.state_dict"]["_batches_that_stepped"] = step
    optim = (fit.get("epoch_loop.automatic_optimization.optim_progress") or {}).get("optimizer") or {}
    for counter in ("step", "zero_grad"):
        _set((optim.get(counter) or {}).get("total"), step)
        _set((optim.get(counter) or {}).get("current"), step)
    if not at_end:
        fit["state_dict"] = {"combined_loader": [{"epoch": epoch, "batches_done": done, "seed": loader_seed}]}
    return fit


def optimizer_mismatch(saved: Any, optimizer: torch.optim.Optimizer) -> str | None:
    """Why the optimiser state ``saved`` cannot be loaded into ``optimizer`` (None when it can)."""
    if not isinstance(saved, dict) or not isinstance(saved.get("param_groups"), list):
        return "no optimiser state in the file"
    groups, ours = saved["param_groups"], optimizer.param_groups
    if len(groups) != len(ours):
        return f"{len(groups)} parameter groups in the file, {len(ours)} in this model's optimiser"
    index: dict[Any, torch.Tensor] = {}
    for i, (group, own) in enumerate(zip(groups, ours)):
        ids = group.get("params") if isinstance(group, dict) else None
        if not isinstance(ids, list) or len(ids) != len(own["params"]):
            n = len(ids) if isinstance(ids, list) else "no"
            return f"parameter group {i} has {n} parameters in the file, {len(own['params'])} in this model"
        index.update(zip(ids, own["params"]))
    for pid, state in (saved.get("state") or {}).items():
        param = index.get(pid)
        if param is None or not isinstance(state, dict):
            return f"the file's optimiser state refers to parameter {pid!r}, which no group holds"
        for name, value in state.items():
            if name not in _ADAMW_STATE:
                return f"state `{name}` is not AdamW's (this model trains with AdamW)"
            if torch.is_tensor(value) and value.ndim > 0 and tuple(value.shape) != tuple(param.shape):
                return (f"`{name}` of parameter {pid} is {tuple(value.shape)}, the parameter at that position is "
                        f"{tuple(param.shape)}")
    return None


def scheduler_mismatch(saved: Any, scheduler: Any) -> str | None:
    """Why the schedule states ``saved`` (the file's ``lr_schedulers``) do not fit ``scheduler``."""
    if not isinstance(saved, list) or len(saved) != 1 or not isinstance(saved[0], dict):
        n = len(saved) if isinstance(saved, list) else "no"
        return f"{n} learning-rate schedules in the file, this model has 1"
    own = scheduler.state_dict()
    if set(saved[0]) != set(own):
        return (f"the file's schedule is another kind ({', '.join(sorted(set(saved[0]) ^ set(own))[:4])} differ); "
                f"the spec's is {type(scheduler).__name__}")
    if len(saved[0].get("base_lrs") or ()) != len(own.get("base_lrs") or ()):
        return "the file's schedule covers another number of parameter groups"
    return None


def _placed_schedule(optimizer: torch.optim.Optimizer, scheduler: Any, position: int) -> None:
    """Put a fresh schedule at ``position`` (epochs or steps done); sets the optimiser's lr with it."""
    with warnings.catch_warnings():  # step(epoch) is torch's closed-form placement, deprecated for loops
        warnings.simplefilter("ignore")
        scheduler.step(position)


def translate_tao_checkpoint(checkpoint: dict[str, Any], module: Any, loops_template: dict[str, Any], *,
                             loader_seed: int, source: str) -> dict[str, Any]:
    """The checkpoint our trainer resumes from, made of ``checkpoint`` (a TAO Lightning file, read by
    ``load_checkpoint``) for ``module`` (our ``PanoptixModule``, whose network receives the weights now)."""
    rep = load_weights(module.model, checkpoint.get("state_dict") or {}, source=source)
    report_load("resume weights", source, rep)
    epoch, step = int(checkpoint.get("epoch", 0)), int(checkpoint.get("global_step", 0))
    at_end, done, how = _position(checkpoint)
    log.info("resuming %s (not written by this trainer): epoch %d, step %d, %s", source, epoch, step, how)

    config = module.configure_optimizers()
    optimizer, sched_cfg = config["optimizer"], config["lr_scheduler"]
    scheduler = sched_cfg["scheduler"]
    saved_opt = (checkpoint.get("optimizer_states") or [None])[0]
    why_opt = optimizer_mismatch(saved_opt, optimizer)
    why_sched = scheduler_mismatch(checkpoint.get("lr_schedulers"), scheduler)
    epochs_done = epoch + 1 if at_end else epoch
    position = step if sched_cfg.get("interval") == "step" else epochs_done
    if why_opt is None:
        optimizer_state = saved_opt
        log.info("resume: optimiser state (AdamW moments, lr of each group) restored from %s", source)
    else:
        _placed_schedule(optimizer, scheduler, position)
        optimizer_state = optimizer.state_dict()
        log.warning("resume: the optimiser state of %s does not match this model's optimiser (%s): the optimiser "
                    "starts fresh (zero AdamW moments)", source, why_opt)
    if why_opt is None and why_sched is None:
        schedules = checkpoint["lr_schedulers"]
        log.info("resume: learning-rate schedule state restored from %s", source)
    else:
        if why_opt is None:
            _placed_schedule(optimizer, scheduler, position)
        schedules = [scheduler.state_dict()]
        log.warning("resume: learning-rate schedule of the spec (%s) placed at %s %d%s", type(scheduler).__name__,
                    "step" if sched_cfg.get("interval") == "step" else "epoch", position,
                    f" (the file's does not fit: {why_sched})" if why_sched else "")
    return {
        "epoch": epoch, "global_step": step, "pytorch-lightning_version": checkpoint.get("pytorch-lightning_version"),
        "state_dict": module.state_dict(), "loops": {"fit_loop": _loops(
            loops_template, epoch=epoch, step=step, at_end=at_end, done=done, loader_seed=loader_seed)},
        "callbacks": {}, "optimizer_states": [optimizer_state], "lr_schedulers": schedules,
        "network": NETWORK, "stage": module.stage, "saved_at_epoch_end": at_end,
    }


def check_resumable(checkpoint: dict[str, Any], stage: str, source: str) -> None:
    """A foreign file resumes the stage it holds tensors of (the 3D stage needs its 3D tensors)."""
    if not checkpoint.get("state_dict"):
        raise CheckpointError(f"{source} holds no network tensors to resume from")
    theirs = stage_of_foreign(checkpoint)
    if theirs != stage:
        hint = ("use it as train.checkpoint_2d to start the 3D stage from it" if theirs == "2d"
                else "set dataset.enable_3d: true to resume the 3D stage")
        raise CheckpointError(f"{source} is a {theirs} checkpoint but dataset.enable_3d selects the {stage} stage; "
                              f"{hint}")
