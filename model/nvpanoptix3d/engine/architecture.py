"""The checkpoint's ``architecture`` entry against the spec at load: the spec builds the network, so a file
written for another network is an error naming every differing key, before any tensor is copied.

A checkpoint of ours records the network it belongs to (``checkpoint_io.architecture_of``: the ``model``
section of the spec that trained it, and more). The keys below decide that network: each changes the state
dict's shapes or the computation on the same tensors (attention heads), so loading across a difference
either fails on a shape (with no hint which key) or, worse, loads and computes something else. The runner's
lineage list (``skills/tao-train-nvpanoptix3d/references/skill_info.yaml``, ``lineage.architecture`` and
``architecture_by_stage``) is the same list (a test keeps them equal).

Which wins: the spec. The entry is not used to rebuild the network here (the runner's lineage does that for
child jobs: they inherit their parent's model section); the error says which keys to set. Files without the
entry (NVIDIA's, older ones) and keys the entry lacks are not checked.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from nvpanoptix3d.engine.checkpoint_io import ARCHITECTURE
from nvpanoptix3d.engine.errors import CheckpointError

log = logging.getLogger("nvpanoptix3d")

#: keys of the 2D network (and of the 3D stage, which reads its widths).
KEYS_2D = ("model.backbone.backbone_type", "model.backbone.preset", "model.sem_seg_head.num_classes",
           "model.sem_seg_head.convs_dim", "model.sem_seg_head.mask_dim", "model.sem_seg_head.depth_dim",
           "model.sem_seg_head.transformer_enc_layers", "model.sem_seg_head.common_stride",
           "model.sem_seg_head.norm", "model.sem_seg_head.deformable_transformer_encoder_in_features",
           "model.mask_former.nheads", "model.mask_former.num_object_queries", "model.mask_former.hidden_dim",
           "model.mask_former.transformer_dim_feedforward", "model.mask_former.dim_feedforward",
           "model.mask_former.dec_layers", "model.projection.depth_bins")
#: keys of the 3D stage's own network.
KEYS_3D = ("model.frustum3d.unet_features", "model.frustum3d.unet_output_channels", "model.frustum3d.use_multi_scale")

_MISSING = object()


def _get(tree: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return _MISSING
        tree = tree[part]
    return tree


def _norm(value: Any) -> str:
    """Values compared as JSON (a YAML list and a tuple of the same numbers are equal)."""
    return json.dumps(value, sort_keys=True, default=str)


def keys_for(part: str) -> tuple[str, ...]:
    """The keys that decide ``part``: "2d" (the 2D network) or "3d" (2D and 3D: the whole model)."""
    if part not in ("2d", "3d"):
        raise ValueError(f"part must be '2d' or '3d', got {part!r}")
    return KEYS_2D + (KEYS_3D if part == "3d" else ())


def architecture_differences(architecture: dict[str, Any], config: dict[str, Any], part: str
                             ) -> list[tuple[str, Any, Any]]:
    """[(key, checkpoint value, spec value)] for the keys of ``part`` on which the checkpoint's architecture
    entry and the spec ``config`` (a plain dict of the whole spec) disagree; keys either side lacks are skipped."""
    recorded = {"model": architecture.get("model") or {}}
    out = []
    for key in keys_for(part):
        theirs, ours = _get(recorded, key), _get(config, key)
        if theirs is _MISSING or ours is _MISSING:
            continue
        if _norm(theirs) != _norm(ours):
            out.append((key, theirs, ours))
    return out


def check_architecture(checkpoint: dict[str, Any], spec: Any, *, part: str, what: str, path: Any) -> None:
    """Raise CheckpointError naming every network key on which ``checkpoint`` (its ``architecture`` entry)
    and ``spec`` differ for ``part`` ("2d": the 2D tensors are loaded; "3d": the whole model)."""
    arch = checkpoint.get(ARCHITECTURE)
    if not isinstance(arch, dict):
        log.debug("%s %s has no architecture entry: its network is checked by its tensors only", what, path)
        return
    config = spec.model_dump(mode="json") if hasattr(spec, "model_dump") else dict(spec)
    diffs = architecture_differences(arch, config, part)
    if not diffs:
        return
    listed = "; ".join(f"{k}: checkpoint {_norm(a)}, spec {_norm(b)}" for k, a, b in diffs)
    raise CheckpointError(f"{what} {path} was written for another network than the spec builds ({len(diffs)} "
                          f"key{'s' if len(diffs) > 1 else ''}: {listed}); the spec decides the network: set "
                          f"{'these keys' if len(diffs) > 1 else 'it'} to the checkpoint's value"
                          f"{'s' if len(diffs) > 1 else ''} (its `architecture` entry) or use a checkpoint of "
                          "this architecture")
