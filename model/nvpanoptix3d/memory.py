"""A training-memory estimate of one configuration, per GPU, for the runner's preflight.

Why an estimate here: the network knows its own sizes; the runner (network-agnostic) only calls the
function named by ``skill_info.yaml preflight.memory_estimator``. Nothing is allocated: the parameter
count comes from building the stage's network on PyTorch's ``meta`` device (cached per model section).

Parts (bytes per GPU):

* ``parameters``: every parameter in fp32 (frozen ones included: they sit on the GPU too);
* ``gradients`` and ``optimizer_state``: trainable parameters, fp32 gradient plus AdamW's two moments
  (``fsdp`` shards these three across the world size);
* ``activations_2d``: the VGGT aggregator's transformer blocks at the input resolution, per sample, with
  the per-layer formula of Korthikanti et al. (2022), ``s*h*(34 + 5*a*s/h)`` bytes at 16 bits; one block
  when ``train.activation_checkpoint`` (block inputs only are kept) or when the aggregator is frozen
  (no backward through it); decoder heads are not counted;
* ``activations_3d`` (3D stage): the completion U-Net over the frustum, ``frustum_dims^3`` voxels
  (``max_voxels`` caps them when set) times ``unet_features * 2^l`` channels at level ``l`` (1/8 the
  voxels per level), four stored tensors per level; an upper bound for the sparse backend (every
  frustum voxel active).
"""

from __future__ import annotations

import functools
import json
from typing import Any

_GIB = 1024 ** 3
_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2}


@functools.lru_cache(maxsize=16)
def _param_counts(model_json: str, stage: str) -> tuple[int, int]:
    import torch  # noqa: PLC0415

    from nvpanoptix3d.config import validate_spec  # noqa: PLC0415
    from nvpanoptix3d.engine import build  # noqa: PLC0415

    data = json.loads(model_json)
    spec = validate_spec(data, "<preflight>")
    with torch.device("meta"):
        model = build.build_model(spec, stage=stage)
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if stage == "3d":  # the 3D stage trains its 3D modules only (the 2D stage is frozen)
        from nvpanoptix3d.engine.checkpoint_io import is_3d_param  # noqa: PLC0415

        trainable = sum(p.numel() for n, p in model.named_parameters() if is_3d_param(n))
    return total, trainable


def training_memory(spec: dict[str, Any], world_size: int = 1) -> dict[str, Any]:
    """The estimate (bytes per GPU by part, total, notes) of training the spec's stage."""
    from nvpanoptix3d.config import validate_spec  # noqa: PLC0415
    from nvpanoptix3d.network.presets import backbone_preset  # noqa: PLC0415

    cfg = validate_spec(dict(spec), "<preflight>")
    stage = "3d" if cfg.dataset.enable_3d else "2d"
    model_part = {"model": cfg.model.model_dump(mode="json"),
                  "dataset": {"enable_3d": cfg.dataset.enable_3d}}
    total, trainable = _param_counts(json.dumps(model_part, sort_keys=True), stage)
    t = cfg.train
    act_bytes = _BYTES.get(t.precision, 4)
    shard = max(world_size, 1) if t.distributed_strategy == "fsdp" else 1
    parts = {"parameters": total * 4 / shard, "gradients": trainable * 4 / shard,
             "optimizer_state": trainable * 8 / shard}

    bb = backbone_preset(cfg.model.backbone.preset)
    width = int(bb.get("vggt_input_width", 518))
    w_in, h_in = cfg.dataset.target_size[0], cfg.dataset.target_size[1]
    height = int(round(h_in * width / max(w_in, 1) / bb["patch_size"])) * bb["patch_size"]
    s = (width // bb["patch_size"]) * (height // bb["patch_size"]) + 1 + bb["num_register_tokens"]
    h, a = bb["embed_dim"], bb["num_heads"]
    per_layer = s * h * (34 + 5 * a * s / h) * act_bytes / 2  # the formula is for 16-bit activations
    layers = 2 * bb["depth"]  # frame + global attention blocks
    frozen = bool(bb.get("freeze_aggregator")) and stage == "2d" or stage == "3d"
    kept = 1 if (t.activation_checkpoint or frozen) else layers
    batch = cfg.dataset.train.batch_size
    parts["activations_2d"] = batch * (per_layer * kept + (s * h * act_bytes * layers if t.activation_checkpoint
                                                            and not frozen else 0))
    notes = [f"{total / 1e6:.0f} M parameters ({trainable / 1e6:.0f} M trained in the {stage} stage)",
             f"2D: {s} tokens x {h} wide, {layers} blocks, {kept} kept for backward"]
    if stage == "3d":
        f3 = cfg.model.frustum3d
        voxels = f3.frustum_dims ** 3
        if getattr(f3, "max_voxels", 0):
            voxels = min(voxels, int(f3.max_voxels))
        per_level = [voxels / 8 ** lvl * f3.unet_features * 2 ** lvl for lvl in range(4)]
        parts["activations_3d"] = batch * 4 * sum(per_level) * act_bytes
        notes.append(f"3D: {voxels:,} frustum voxels ({f3.frustum_dims}^3"
                     + (", capped by max_voxels" if getattr(f3, "max_voxels", 0) else "")
                     + f"), {f3.unet_features} base channels, backend {f3.backend}"
                     + (" (upper bound: every voxel active)" if f3.backend != "dense" else ""))
    total_bytes = sum(parts.values())
    return {"stage": stage, "per_gpu_bytes": int(total_bytes), "per_gpu_gb": round(total_bytes / _GIB, 2),
            "parts_gb": {k: round(v / _GIB, 3) for k, v in parts.items()}, "precision": t.precision,
            "checkpoint_gb": round((total * 4 + trainable * 8) / _GIB, 2),  # weights + AdamW moments
            "batch_size_per_gpu": batch, "notes": notes,
            "method": "parameters from the network built on the meta device; activations by formula "
                      "(nvpanoptix3d.memory); an estimate, not a measurement"}

