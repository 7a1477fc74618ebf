"""The one adapter from the validated spec to the network: constructor kwargs, models and criteria.

Nothing else in the project reads ``spec.model`` to build a network (STYLE.md rule 4); the network
modules take plain keyword arguments. Everything here is a pure function of an ExperimentConfig.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from nvpanoptix3d.network.presets import backbone_preset


def is_3d(spec: Any) -> bool:
    """The 3D stage is active when ``dataset.enable_3d`` is true (as in NVIDIA's train.py)."""
    return bool(spec.dataset.enable_3d)


def model_kwargs_2d(spec: Any) -> dict[str, Any]:
    m, mf, head = spec.model, spec.model.mask_former, spec.model.sem_seg_head
    return dict(
        backbone=backbone_preset(m.backbone.preset, activation_checkpoint=spec.train.activation_checkpoint),
        num_classes=head.num_classes, conv_dim=head.convs_dim, mask_dim=head.mask_dim, depth_dim=head.depth_dim,
        enc_layers=head.transformer_enc_layers, nheads=mf.nheads,
        transformer_dim_feedforward=mf.transformer_dim_feedforward, hidden_dim=mf.hidden_dim,
        num_queries=mf.num_object_queries, dim_feedforward=mf.dim_feedforward, dec_layers=mf.dec_layers,
        pre_norm=mf.pre_norm, dropout=mf.dropout, depth_bins=m.projection.depth_bins,
        reduced_size=tuple(spec.dataset.reduced_target_size), norm=head.norm or "GN",
        size_divisibility=mf.size_divisibility, common_stride=head.common_stride,
        transformer_in_features=tuple(head.deformable_transformer_encoder_in_features),
    )


def model_kwargs_3d(spec: Any) -> dict[str, Any]:
    f3d, ds = spec.model.frustum3d, spec.dataset
    return dict(model_kwargs_2d(spec), grid_dims=f3d.grid_dimensions, voxel_size=spec.model.projection.voxel_size,
                depth_min=ds.depth_min, depth_max=ds.depth_max, truncation=f3d.truncation,
                unet_features=f3d.unet_features, unet_output_channels=f3d.unet_output_channels, freeze_2d=True,
                backend=f3d.backend, num_thing_classes=ds.num_thing_classes,
                object_mask_threshold=spec.model.object_mask_threshold,
                overlap_threshold=spec.model.overlap_threshold, depth_scale=ds.depth_scale,
                max_voxels=f3d.max_voxels, use_multi_scale=f3d.use_multi_scale)


def criterion_kwargs_2d(spec: Any) -> dict[str, Any]:
    mf = spec.model.mask_former
    return dict(num_classes=spec.model.sem_seg_head.num_classes, class_weight=mf.class_weight,
                mask_weight=mf.mask_weight, dice_weight=mf.dice_weight, depth_weight=mf.depth_weight,
                mp_occ_weight=mf.mp_occ_weight if spec.dataset.enable_mp_occ else 0.0,
                no_object_weight=mf.no_object_weight, num_points=mf.train_num_points,
                oversample_ratio=mf.oversample_ratio, importance_sample_ratio=mf.importance_sample_ratio,
                deep_supervision=mf.deep_supervision)


def criterion_kwargs_3d(spec: Any) -> dict[str, Any]:
    f3d = spec.model.frustum3d
    return dict(completion_weights=tuple(f3d.completion_weights), surface_weight=f3d.surface_weight,
                panoptic_weight=f3d.panoptic_weight, truncation=f3d.truncation)


def postprocess_kwargs(spec: Any, mode: str | None = None) -> dict[str, Any]:
    """Keyword arguments shared by the 2D and 3D panoptic merging."""
    return dict(num_thing_classes=spec.dataset.num_thing_classes,
                object_mask_threshold=spec.model.object_mask_threshold, mode=mode or spec.model.mode)


def build_model(spec: Any, *, stage: str | None = None) -> nn.Module:
    """The 2D model (``stage="2d"``) or the full two-stage model (``"3d"``); default from ``dataset.enable_3d``."""
    stage = stage or ("3d" if is_3d(spec) else "2d")
    if stage == "3d":
        from nvpanoptix3d.network.frustum3d import NVPanoptix3D  # noqa: PLC0415

        return NVPanoptix3D(**model_kwargs_3d(spec))
    from nvpanoptix3d.network.maskformer import MaskFormerModel  # noqa: PLC0415

    return MaskFormerModel(**model_kwargs_2d(spec))


def build_criteria(spec: Any, *, stage: str | None = None) -> tuple[nn.Module, nn.Module | None]:
    """(2D criterion, 3D criterion or None). The 2D criterion also matches queries for the 3D losses."""
    from nvpanoptix3d.network import SetCriterion2D  # noqa: PLC0415

    stage = stage or ("3d" if is_3d(spec) else "2d")
    crit2d = SetCriterion2D(**criterion_kwargs_2d(spec))
    if stage != "3d":
        return crit2d, None
    from nvpanoptix3d.network.frustum3d import SetCriterion3D  # noqa: PLC0415

    return crit2d, SetCriterion3D(**criterion_kwargs_3d(spec))
