"""Loading weights by name with a report of missing, unexpected and shape-mismatched keys."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from nvpanoptix3d.engine.checkpoint_io import CheckpointError, load_checkpoint, state_dict_of
from nvpanoptix3d.network.frustum3d import is_3d_key


@dataclass
class LoadReport:
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple, tuple]] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{len(self.loaded)} tensors loaded"]
        if self.missing:
            parts.append(f"{len(self.missing)} missing (e.g. {', '.join(self.missing[:3])})")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} unexpected (e.g. {', '.join(self.unexpected[:3])})")
        if self.mismatched:
            k, a, b = self.mismatched[0]
            parts.append(f"{len(self.mismatched)} shape mismatches (e.g. {k}: checkpoint {a} vs model {b})")
        return "; ".join(parts)


def load_weights(model: nn.Module, state: dict[str, torch.Tensor], *, subset: str = "all") -> LoadReport:
    """Copy matching tensors; ``subset`` 2d/3d restricts to the 2D- or 3D-stage keys."""
    own = model.state_dict()
    keep = (lambda k: True) if subset == "all" else (lambda k: is_3d_key(k) == (subset == "3d"))
    report = LoadReport()
    new = {}
    for k, v in state.items():
        if not keep(k):
            continue
        if k not in own:
            report.unexpected.append(k)
        elif tuple(own[k].shape) != tuple(v.shape):
            report.mismatched.append((k, tuple(v.shape), tuple(own[k].shape)))
        else:
            new[k] = v
            report.loaded.append(k)
    report.missing = [k for k in own if keep(k) and k not in new]
    model.load_state_dict({**own, **new})
    return report


def load_checkpoint_into(model: nn.Module, path: str, key: str | None, *, subset: str = "all",
                         strict: bool = True) -> LoadReport:
    report = load_weights(model, state_dict_of(load_checkpoint(path, key)), subset=subset)
    if not report.loaded:
        raise CheckpointError(f"checkpoint {path} holds no weights of this model ({report.summary()})")
    if strict and (report.missing or report.mismatched):
        raise CheckpointError(f"checkpoint {path} does not fit the configured model: {report.summary()}")
    return report
