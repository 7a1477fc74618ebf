"""The LightningModule of both training stages (2D when ``dataset.enable_3d`` is false, else 3D).

It owns no architecture: the network and criteria come in built (``engine.build``). Randomness inside a
training step (point sampling, matching, dropout) is re-seeded from ``(seed, global_step, rank)`` at
every step, so a resumed run repeats the uninterrupted run exactly whatever ran in between
(validation, a restart); the RNG states are also saved in the checkpoint (``rng``).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

from nvpanoptix3d.engine.checkpoint_io import NETWORK, is_3d_param
from nvpanoptix3d.engine.evaluation import Evaluator
from nvpanoptix3d.engine.optim import build_optimizer, build_scheduler, param_groups
from nvpanoptix3d.network.criterion import hungarian_match, targets_from_batch


_AUX_TERM = re.compile(r"_\d+$")


@dataclass(frozen=True)
class OptimSettings:
    lr: float = 2e-4
    backbone_multiplier: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 0.05
    lr_scheduler: str = "MultiStep"
    milestones: tuple[int, ...] = (88, 96)
    gamma: float = 0.1
    max_steps: int = 160000
    warmup_iters: int = 0
    warmup_factor: float = 1.0
    clip_grad_norm: float = 0.1
    clip_grad_norm_type: float = 2.0
    clip_grad_type: str = "full"
    freeze: tuple[str, ...] = ()


@dataclass
class _Hooks:
    """Callbacks into the trainer side (status.json, console), kept out of the module's state."""

    on_validation_result: Callable[[int, int, dict, dict], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def capture_rng() -> dict[str, Any]:
    """RNG states as tensors and plain containers (loadable with ``torch.load(weights_only=True)``)."""
    np_state = np.random.get_state()
    return {"torch": torch.get_rng_state(), "python": random.getstate(),
            "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                      "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class PanoptixModule(pl.LightningModule):
    """Training/validation steps, optimiser and schedule for one stage.

    Args:
        model: ``PanopticModel2D`` (stage "2d") or ``NVPanoptix3D`` (stage "3d").
        criterion_2d: the 2D set criterion (stage 2d losses; query matching in stage 3d).
        criterion_3d: the 3D criterion, or None in stage 2d.
        stage: "2d" or "3d". In stage 3d the 2D parameters are frozen, as in NVIDIA's recipe.
        optim: optimiser, schedule and clipping settings.
        evaluator: accumulates validation metrics.
        seed: base of the per-step seeds.
        config: the (redacted) spec stored in checkpoints.
    """

    def __init__(self, *, model: nn.Module, criterion_2d: nn.Module, criterion_3d: nn.Module | None, stage: str,
                 optim: OptimSettings, evaluator: Evaluator, seed: int = 1234,
                 config: dict[str, Any] | None = None) -> None:
        super().__init__()
        if stage not in ("2d", "3d"):
            raise ValueError(f"stage must be '2d' or '3d', got {stage!r}")
        if stage == "3d" and criterion_3d is None:
            raise ValueError("stage '3d' needs criterion_3d")
        self.model = model
        self.criterion_2d = criterion_2d
        self.criterion_3d = criterion_3d
        self.stage = stage
        self.optim_settings = optim
        self.evaluator = evaluator
        self.seed = seed
        self.config = config or {}
        self.hooks = _Hooks()
        self._rng_to_restore: dict[str, Any] | None = None
        self.saving_at_epoch_end = False
        self.flops_per_batch: int | None = None  # read by Lightning's ThroughputMonitor (FLOPs not measured)
        if stage == "3d":
            for name, p in self.model.named_parameters():
                if not is_3d_param(name):
                    p.requires_grad_(False)

    # ------------------------------------------------------------------ steps
    def _step_seed(self) -> int:
        return (max(self.seed, 0) * 1_000_003 + self.global_step * 7919 + self.global_rank) % (2**63 - 1)

    def _match(self, outputs: dict, targets: list[dict]) -> list:
        size = outputs["pred_masks"].shape[-2:]
        tm = [dict(t, masks=(F.interpolate(t["masks"][None].float(), size=size, mode="nearest")[0] > 0.5)
                   if t["masks"].numel() else t["masks"].new_zeros((0, *size))) for t in targets]
        return hungarian_match(outputs["pred_logits"].float(), outputs["pred_masks"].float(), tm,
                               **self.criterion_2d.match_kw)

    def forward_losses(self, batch: dict) -> tuple[dict, dict[str, torch.Tensor]]:
        images = batch["image"]
        targets = targets_from_batch(batch)
        if self.stage == "2d":
            outputs = self.model(images)
            losses, _ = self.criterion_2d(outputs, targets)
            return outputs, losses
        # Targets reach the model only in training: the sparse backends keep target voxels when pruning.
        occupancy = batch.get("occupancy") if self.training else None
        # The sparse backends hand the criterion their voxels (no dense per-query volumes); evaluation gets
        # dense volumes afterwards.
        outputs = self.model(images, batch["intrinsic"], batch["frustum_mask"], occupancy=occupancy,
                             sparse_outputs=True)
        with torch.no_grad():
            indices = self._match(outputs, targets)
        losses = self.criterion_3d(outputs, batch, indices)
        losses["loss"] = losses.pop("loss_3d")
        if not self.training:
            outputs = self.model.densify_3d(outputs, masks="sparse")
        return outputs, losses

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        torch.manual_seed(self._step_seed())
        _, losses = self.forward_losses(batch)
        bs = batch["image"].shape[0]
        self.log("train_loss", losses["loss"].detach(), prog_bar=True, batch_size=bs, sync_dist=False)
        self.log("lr", self.trainer.optimizers[0].param_groups[0]["lr"], prog_bar=True, batch_size=bs)
        # every loss term (3D: one per level, ``<term>_<i>``); in the 2D stage ``<term>_<i>`` are the
        # decoder layers' deep-supervision copies, left out (they would multiply the logs by dec_layers)
        terms = {f"train/{k}": v.detach() for k, v in losses.items()
                 if k != "loss" and torch.is_tensor(v) and v.numel() == 1
                 and (self.stage == "3d" or not _AUX_TERM.search(k))}
        if terms:
            self.log_dict(terms, batch_size=bs, sync_dist=False)
        return losses["loss"]

    def on_validation_epoch_start(self) -> None:
        self.evaluator.reset()

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        outputs, losses = self.forward_losses(batch)
        self.evaluator.add_losses(losses)
        self.evaluator.update(batch, outputs)

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            return
        if self.trainer.world_size > 1 and torch.distributed.is_available() and torch.distributed.is_initialized():
            states: list[Any] = [None] * self.trainer.world_size
            torch.distributed.all_gather_object(states, self.evaluator.state())
            self.evaluator.reset()
            for st in states:
                self.evaluator.merge(st)
        result = self.evaluator.compute()
        losses = self.evaluator.losses()
        val_loss = losses.get("loss", float("nan"))
        # Every rank holds the merged result, so the values agree and sync_dist only averages equal numbers.
        self.log("val_loss", val_loss, prog_bar=True, sync_dist=True)
        for k in ("PRQ", "PQ"):
            if k in result["kpi"]:
                self.log(k, result["kpi"][k], prog_bar=True, sync_dist=True)
        if self.hooks.on_validation_result is not None and self.trainer.is_global_zero:
            self.hooks.on_validation_result(self.current_epoch, self.global_step, result, losses)

    # ------------------------------------------------------------ optimisers
    def configure_optimizers(self):
        o = self.optim_settings
        groups = param_groups(self.model, lr=o.lr, backbone_multiplier=o.backbone_multiplier,
                              weight_decay=o.weight_decay, frozen=o.freeze)
        opt = build_optimizer(groups, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
        sched = build_scheduler(opt, kind=o.lr_scheduler, milestones=list(o.milestones), gamma=o.gamma,
                                max_steps=o.max_steps, warmup_iters=o.warmup_iters, warmup_factor=o.warmup_factor)
        return {"optimizer": opt, "lr_scheduler": sched}

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None) -> None:
        o = self.optim_settings
        if o.clip_grad_norm <= 0:
            return
        params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        if o.clip_grad_type == "value":
            torch.nn.utils.clip_grad_value_(params, o.clip_grad_norm)
        elif o.clip_grad_type == "norm":
            for p in params:
                torch.nn.utils.clip_grad_norm_([p], o.clip_grad_norm, norm_type=o.clip_grad_norm_type)
        else:
            torch.nn.utils.clip_grad_norm_(params, o.clip_grad_norm, norm_type=o.clip_grad_norm_type)

    # ----------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["network"] = NETWORK
        checkpoint["stage"] = self.stage
        checkpoint["config"] = self.config
        checkpoint["rng"] = capture_rng()
        checkpoint["saved_at_epoch_end"] = bool(self.saving_at_epoch_end)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._rng_to_restore = checkpoint.get("rng")
        normalise_epoch_boundary(checkpoint)

    def on_train_start(self) -> None:
        if self._rng_to_restore is not None:
            restore_rng(self._rng_to_restore)
            self._rng_to_restore = None


def normalise_epoch_boundary(checkpoint: dict[str, Any]) -> bool:
    """Make a checkpoint written at an epoch boundary resume at the start of the next epoch.

    Lightning restores such a checkpoint as "inside the finished epoch" and ends that epoch at once with
    no batch trained (a resumed run then stops without new checkpoints). The loop state is rewritten in
    place, before Lightning reads it, to "epoch finished, next epoch not started". Returns True when the
    checkpoint was written in ``on_train_epoch_end``. Its per-epoch schedules need no extra step: Lightning
    (2.x) steps them on the epoch's last batch, before ``on_train_epoch_end``, so the saved schedule is
    already the next epoch's (stepping it again on resume moved a milestone one epoch early).
    """
    fit = checkpoint.get("loops", {}).get("fit_loop")
    if not fit or "epoch_progress" not in fit:
        return False
    at_end = bool(checkpoint.get("saved_at_epoch_end"))
    for part in ("total", "current"):
        ep = fit["epoch_progress"][part]
        if at_end:
            ep["completed"] = ep["processed"]
    cur = fit["epoch_progress"]["current"]
    if not (cur["ready"] == cur["started"] == cur["processed"] == cur["completed"]):
        return False
    bp = fit.get("epoch_loop.batch_progress")
    if bp is not None:
        bp["current"] = {k: 0 for k in bp["current"]}
        bp["is_last_batch"] = False
    for name in ("epoch_loop.scheduler_progress",):
        if name in fit:
            fit[name]["current"] = {k: 0 for k in fit[name]["current"]}
    for state in fit.get("state_dict", {}).get("combined_loader", []):
        if isinstance(state, dict) and "batches_done" in state:
            state["epoch"], state["batches_done"] = cur["completed"], 0
    return at_end
