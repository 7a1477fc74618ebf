"""AdamW parameter groups and the two learning-rate schedules of the spec.

Parameter groups follow NVIDIA's recipe (model_facts.md, addenda): parameters of modules whose name
contains ``backbone`` get ``lr * backbone_multiplier``; normalisation layers, embeddings, biases and
learned tokens get no weight decay. Schedules:

* ``MultiStep``: lr x gamma at each milestone epoch, stepped once per epoch.
* ``Warmuppoly`` / ``WarmupPoly``: stepped once per optimiser step; linear warm-up from
  ``warmup_factor`` to 1 over ``warmup_iters`` steps, then ``(1 - step / max_steps) ** 0.9`` down to 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import torch
from torch import nn

_NO_DECAY_TYPES = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.LocalResponseNorm,
                   nn.modules.instancenorm._InstanceNorm, nn.Embedding)
_NO_DECAY_NAMES = ("relative_position_bias_table", "absolute_pos_embed", "pos_embed", "camera_token",
                   "register_token", "query_embed", "query_feat", "level_embed")


def param_groups(model: nn.Module, *, lr: float, backbone_multiplier: float, weight_decay: float,
                 frozen: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Up to four groups (backbone or not x decay or not) of the trainable parameters of ``model``.

    Parameters whose name starts with a prefix in ``frozen`` get ``requires_grad=False`` and are left out.
    """
    frozen = tuple(frozen)
    groups: dict[tuple[bool, bool], list[nn.Parameter]] = {}
    seen: set[int] = set()
    for mod_name, module in model.named_modules():
        for p_name, param in module.named_parameters(recurse=False):
            full = f"{mod_name}.{p_name}" if mod_name else p_name
            if frozen and full.startswith(frozen):
                param.requires_grad_(False)
            if not param.requires_grad or id(param) in seen:
                continue
            seen.add(id(param))
            no_decay = (isinstance(module, _NO_DECAY_TYPES) or param.ndim <= 1
                        or any(n in full for n in _NO_DECAY_NAMES))
            groups.setdefault(("backbone" in full, no_decay), []).append(param)
    out = []
    for (is_backbone, no_decay), params in sorted(groups.items()):
        out.append({"params": params, "lr": lr * (backbone_multiplier if is_backbone else 1.0),
                    "weight_decay": 0.0 if no_decay else weight_decay,
                    "name": f"{'backbone' if is_backbone else 'head'}{'_no_decay' if no_decay else ''}"})
    if not out:
        raise ValueError("the model has no trainable parameters (check train.freeze)")
    return out


@dataclass
class WarmupPoly:
    """LambdaLR factor: linear warm-up, then polynomial decay (power 0.9) to 0 at ``max_steps``."""

    max_steps: int
    warmup_iters: int = 0
    warmup_factor: float = 1.0
    power: float = 0.9

    def __call__(self, step: int) -> float:
        if step < self.warmup_iters:
            alpha = step / self.warmup_iters
            warm = self.warmup_factor * (1 - alpha) + alpha
        else:
            warm = 1.0
        return warm * max(0.0, 1.0 - step / self.max_steps) ** self.power


def build_optimizer(groups: list[dict[str, Any]], *, lr: float, momentum: float, weight_decay: float) -> torch.optim.AdamW:
    return torch.optim.AdamW(groups, lr=lr, betas=(momentum, 0.999), weight_decay=weight_decay)


def build_scheduler(optimizer: torch.optim.Optimizer, *, kind: str, milestones: list[int], gamma: float,
                    max_steps: int, warmup_iters: int, warmup_factor: float) -> dict[str, Any]:
    """A Lightning ``lr_scheduler`` config dict (scheduler + interval) for ``kind``."""
    if kind == "MultiStep":
        sched = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(milestones), gamma=gamma)
        return {"scheduler": sched, "interval": "epoch", "frequency": 1, "name": "lr"}
    if kind.lower() == "warmuppoly":
        fn = WarmupPoly(max_steps=max_steps, warmup_iters=warmup_iters, warmup_factor=warmup_factor)
        sched = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=fn)
        return {"scheduler": sched, "interval": "step", "frequency": 1, "name": "lr"}
    raise ValueError(f"unknown train.optim.lr_scheduler {kind!r}; choose MultiStep or Warmuppoly")
