"""The LightningModule: one training step, validation with KPIs into status.json, optimiser and schedule."""

from __future__ import annotations

import math
from typing import Any

import pytorch_lightning as pl
import torch

from nvpanoptix3d.engine.build import build_criteria, build_model
from nvpanoptix3d.engine.evaluation import Evaluator
from nvpanoptix3d.network.criterion import targets_from_batch
from nvpanoptix3d.network.frustum3d import is_3d_key

_NO_DECAY = ("norm", "bias", "embed", "token", "ls1", "ls2", "level_embed")


class PanopticReconstructionModule(pl.LightningModule):
    def __init__(self, spec: Any, status=None) -> None:
        super().__init__()
        self.spec = spec
        self.stage_3d = spec.dataset.enable_3d
        self.model = build_model(spec)
        self.criterion_2d, self.criterion_3d = build_criteria(spec)
        self.status = status
        self.evaluator: Evaluator | None = None
        self._val_losses: list[float] = []
        self._train_loss = float("nan")
        # Two-stage recipe: the 2D stage trains alone, then the 3D stage trains with the 2D stage frozen.
        for name, p in self.model.named_parameters():
            p.requires_grad = is_3d_key(name) == self.stage_3d
        for prefix in spec.train.freeze:
            for name, p in self.model.named_parameters():
                if name.startswith(prefix):
                    p.requires_grad = False

    def forward(self, batch: dict) -> dict:
        if self.stage_3d:
            return self.model(batch["image"], batch["intrinsic"], batch["frustum_mask"])
        return self.model(batch["image"])

    def _losses(self, out: dict, batch: dict) -> dict[str, torch.Tensor]:
        l2, indices = self.criterion_2d(out, targets_from_batch(batch))
        if not self.stage_3d:
            return l2
        l3 = self.criterion_3d(out, batch, indices)
        total = l3["loss_3d"] + (l2["loss"] if not self.model.freeze_2d else 0)
        return {**{f"2d/{k}": v.detach() for k, v in l2.items()}, **l3, "loss": total}

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        losses = self._losses(self(batch), batch)
        self._train_loss = float(losses["loss"].detach())
        self.log("train_loss", losses["loss"], prog_bar=True, batch_size=batch["image"].shape[0])
        return losses["loss"]

    def on_validation_epoch_start(self) -> None:
        self.evaluator = Evaluator(self.spec)
        self._val_losses = []

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        out = self(batch)
        self._val_losses.append(float(self._losses(out, batch)["loss"]))
        self.evaluator.update(out, batch)

    def on_validation_epoch_end(self) -> None:
        kpi = self.evaluator.compute()
        val_loss = float(sum(self._val_losses) / max(len(self._val_losses), 1))
        for k, v in kpi.items():
            self.log(k, v, sync_dist=True)
        self.log("val_loss", val_loss, sync_dist=True)
        if self.status is not None and self.trainer.is_global_zero and not self.trainer.sanity_checking:
            self.status.add(epoch=self.current_epoch, step=self.global_step, kpi=kpi,
                            loss={"val_loss": val_loss, "train_loss": self._train_loss})
            print(f"validation epoch {self.current_epoch} step {self.global_step}: " +
                  ", ".join(f"{k}={v:.4f}" for k, v in kpi.items()), flush=True)

    def configure_optimizers(self):
        opt_cfg = self.spec.train.optim
        groups: dict[tuple[float, float], list] = {}
        for name, p in self.model.named_parameters():
            if not p.requires_grad:
                continue
            lr = opt_cfg.lr * (opt_cfg.backbone_multiplier if name.startswith("backbone.") else 1.0)
            wd = 0.0 if p.ndim <= 1 or any(t in name for t in _NO_DECAY) else opt_cfg.weight_decay
            groups.setdefault((lr, wd), []).append(p)
        params = [{"params": ps, "lr": lr, "weight_decay": wd} for (lr, wd), ps in groups.items()]
        optimizer = torch.optim.AdamW(params, lr=opt_cfg.lr, betas=(opt_cfg.momentum, 0.999))
        if opt_cfg.lr_scheduler == "MultiStep":
            sched = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=opt_cfg.milestones, gamma=opt_cfg.gamma)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}
        total = max(opt_cfg.max_steps, 1)
        warm, factor = opt_cfg.warmup_iters, opt_cfg.warmup_factor

        def poly(step: int) -> float:
            if step < warm:
                alpha = step / max(warm, 1)
                return factor * (1 - alpha) + alpha
            return math.pow(max(1 - step / total, 0.0), 0.9)

        sched = torch.optim.lr_scheduler.LambdaLR(optimizer, poly)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
