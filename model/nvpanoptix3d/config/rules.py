"""Cross-field rules of the experiment spec.

A JSON Schema can check one field at a time; these rules relate fields (a dataset family and its
downsample factor, a strategy and the device count, ...). Each rule returns errors located at the key
the user should change, so the runner and the entrypoint report them like any other field error.

One implementation serves two callers: the pydantic config (``experiment._SpecRoot`` runs
:func:`check_rules` on the validated model) and the runner's fast acceptance path, which has a plain
dict with the schema's defaults applied and must not import pydantic (:func:`check_spec`, the
``rules_entry`` of references/skill_info.yaml). This module therefore imports nothing heavy.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

DOWNSAMPLE_BY_DATASET = {"matterport": 2, "front3d": 1, "synthetic_hospital": 1, "synthetic_warehouse": 1}


class RuleError(NamedTuple):
    """One violation, at the key the user should change (a NamedTuple: ~1 ms less to import than a
    dataclass, on the path of every plan of a new spec)."""

    key: str
    message: str
    expected: Any = None
    got: Any = None


def _get(spec: Any, dotted: str) -> Any:
    node = spec
    for part in dotted.split("."):
        node = getattr(node, part, None)
        if node is None:
            return None
    return node


def _set_fields(spec: Any, dotted: str) -> set[str]:
    """Field names the user set explicitly in the section at ``dotted`` (pydantic's model_fields_set)."""
    node = _get(spec, dotted)
    return set(getattr(node, "model_fields_set", set()))


class _DictView:
    """Attribute access over a plain spec dict, shaped like the validated pydantic model the rules read:
    ``filled`` has every default applied; ``given`` is what the user wrote (its non-null keys are the
    section's ``model_fields_set``, as the config's null-means-default rule drops nulls)."""

    __slots__ = ("_filled", "_given")

    def __init__(self, filled: dict[str, Any], given: Any) -> None:
        self._filled = filled
        self._given = given if isinstance(given, dict) else {}

    def __getattr__(self, name: str) -> Any:
        try:
            value = self._filled[name]
        except KeyError:
            raise AttributeError(name) from None
        return _DictView(value, self._given.get(name)) if isinstance(value, dict) else value

    @property
    def model_fields_set(self) -> set[str]:
        return {k for k, v in self._given.items() if v is not None}


def check_spec(filled: dict[str, Any], given: dict[str, Any]) -> list[RuleError]:
    """:func:`check_rules` of a plain spec dict: ``filled`` is the spec with the schema's defaults applied
    (the runner's fast path), ``given`` the spec as written, which tells which fields the user set."""
    return check_rules(_DictView(filled, given))


def check_rules(spec: Any) -> list[RuleError]:
    """All cross-field violations of a validated spec (sections that are absent are skipped)."""
    errors: list[RuleError] = []
    ds = _get(spec, "dataset")
    if ds is not None:
        want = DOWNSAMPLE_BY_DATASET[ds.name]
        if ds.downsample_factor != want:
            errors.append(RuleError(
                "dataset.downsample_factor",
                f"must be {want} for dataset.name '{ds.name}' (2 for matterport, 1 for front3d and the synthetic sets)",
                want, ds.downsample_factor,
            ))
        if ds.depth_min >= ds.depth_max:
            errors.append(RuleError("dataset.depth_min", "must be smaller than dataset.depth_max",
                                    f"< {ds.depth_max}", ds.depth_min))
        for key in ("target_size", "reduced_target_size", "depth_size"):
            if any(v <= 0 for v in getattr(ds, key)):
                errors.append(RuleError(f"dataset.{key}", "sizes must be positive", "> 0", getattr(ds, key)))
        lo, hi = ds.truncation_range
        if lo >= hi:
            errors.append(RuleError("dataset.truncation_range", "must be [low, high] with low < high", "low < high",
                                    ds.truncation_range))
    model = _get(spec, "model")
    if model is not None:
        f3d = model.frustum3d
        if f3d.frustum_dims > f3d.grid_dimensions:
            errors.append(RuleError("model.frustum3d.frustum_dims", "must not exceed model.frustum3d.grid_dimensions",
                                    f"<= {f3d.grid_dimensions}", f3d.frustum_dims))
        if ds is not None and ds.num_thing_classes >= model.sem_seg_head.num_classes:
            errors.append(RuleError("dataset.num_thing_classes", "must be smaller than model.sem_seg_head.num_classes",
                                    f"< {model.sem_seg_head.num_classes}", ds.num_thing_classes))
        mf = model.mask_former
        if mf.importance_sample_ratio > 0 and mf.train_num_points < 1:
            errors.append(RuleError("model.mask_former.train_num_points", "must be positive", "> 0", mf.train_num_points))
    train = _get(spec, "train")
    if train is not None:
        devices = train.num_gpus * train.num_nodes
        if train.distributed_strategy == "fsdp" and devices <= 1:
            errors.append(RuleError(
                "train.distributed_strategy",
                "fsdp shards the model over several devices: set train.num_gpus > 1 or train.num_nodes > 1, or use ddp",
                "ddp, or num_gpus/num_nodes > 1", "fsdp",
            ))
        if "gpu_ids" in _set_fields(spec, "train") and len(train.gpu_ids) != train.num_gpus:
            errors.append(RuleError("train.gpu_ids", f"lists {len(train.gpu_ids)} ids but train.num_gpus is {train.num_gpus}",
                                    f"{train.num_gpus} ids", train.gpu_ids))
        if len(set(train.gpu_ids)) != len(train.gpu_ids) or any(g < 0 for g in train.gpu_ids):
            errors.append(RuleError("train.gpu_ids", "must be distinct non-negative indices", "distinct ids >= 0",
                                    train.gpu_ids))
        ms = train.optim.milestones
        if any(b <= a for a, b in zip(ms, ms[1:])) or any(m < 1 for m in ms):
            errors.append(RuleError("train.optim.milestones", "must be strictly increasing positive epochs",
                                    "increasing, >= 1", ms))
    return errors


def resolve_secret(value: str, env_var: str = "TAO_SKILL_ENCRYPTION_KEY") -> str | None:
    """The real encryption key: the spec value unless it is redacted ("***") or empty, then the env var."""
    if value and value != "***":
        return value
    return os.environ.get(env_var) or None
