"""The pydantic config: NVIDIA compatibility, our improvements, and errors that name the key."""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from nvpanoptix3d.config import ExperimentConfig, SpecError, load_spec, set_dotted, validate_spec

S3_TRAIN = "s3://bucket/data/train"
S3_EVAL = "s3://bucket/data/eval"

# The skill text's "Typical Spec Overrides" for train, as an agent passes them.
TYPICAL_TRAIN_OVERRIDES = {
    "train.num_epochs": 10,
    "train.checkpoint_interval": 10,
    "train.validation_interval": 10,
    "train.num_gpus": 1,
    "dataset.enable_3d": True,
    "dataset.contiguous_id": True,
    "model.sem_seg_head.num_classes": 13,
    "dataset.frustum_mask_path": f"{S3_TRAIN}/meta/frustum_mask.npz",
    "dataset.label_map": f"{S3_TRAIN}/meta/colormap.json",
    "dataset.train.json_path": f"{S3_TRAIN}/meta/train.json",
    "dataset.train.base_dir": f"{S3_TRAIN}",
    "dataset.val.json_path": f"{S3_EVAL}/meta/val.json",
    "dataset.val.base_dir": f"{S3_EVAL}",
    "dataset.test.json_path": f"{S3_EVAL}/meta/test.json",
    "dataset.test.base_dir": f"{S3_EVAL}",
}


def _spec(overrides: dict) -> dict:
    data: dict = {}
    for key, value in overrides.items():
        set_dotted(data, key, value)
    return data


def _messages(data: dict) -> str:
    with pytest.raises(SpecError) as info:
        validate_spec(data)
    return str(info.value)


def test_defaults_match_nvidia_spec():
    cfg = ExperimentConfig()
    assert cfg.model.sem_seg_head.num_classes == 13
    assert cfg.model.mode == "panoptic"
    assert cfg.model.backbone.backbone_type == "vggt"
    assert cfg.model.mask_former.num_object_queries == 100
    assert cfg.model.mask_former.dec_layers == 10
    assert cfg.model.frustum3d.truncation == 3.0
    assert cfg.model.frustum3d.panoptic_weight == 25.0
    assert cfg.model.frustum3d.completion_weights == [50.0, 25.0, 10.0]
    assert cfg.dataset.target_size == [320, 240]
    assert (cfg.dataset.depth_min, cfg.dataset.depth_max) == (0.4, 6.0)
    assert cfg.train.optim.lr == 2e-4 and cfg.train.optim.backbone_multiplier == 0.1
    assert cfg.train.optim.milestones == [88, 96]
    assert cfg.train.clip_grad_norm == 0.1
    assert cfg.export.max_voxels == 700000


def test_typical_overrides_validate_with_schema_and_config(schemas):
    data = _spec(TYPICAL_TRAIN_OVERRIDES)
    cfg = validate_spec(data)
    assert cfg.dataset.enable_3d is True
    merged = ExperimentConfig.model_validate(data).model_dump(mode="json")
    train_view = {k: v for k, v in merged.items() if k in schemas["train"]["properties"]}
    jsonschema.Draft202012Validator(schemas["train"]).validate(train_view)


def test_nvidia_style_spec_file_loads_unchanged(tmp_path):
    # Keys and spellings from NVIDIA's shipped spec_front3d_3d.yaml (WarmupPoly, ??? placeholders absent).
    spec = {
        "results_dir": "/results",
        "model": {"object_mask_threshold": 0.8, "overlap_threshold": 0.8, "mode": "panoptic",
                  "backbone": {"backbone_type": "vggt"}, "sem_seg_head": {"num_classes": 13},
                  "mask_former": {"deep_supervision": True, "no_object_weight": 0.1, "size_divisibility": 32},
                  "frustum3d": {"iso_recon_value": 1.0, "use_multi_scale": True, "grid_dimensions": 256},
                  "projection": {"voxel_size": 0.03, "sign_channel": True}},
        "dataset": {"contiguous_id": True, "downsample_factor": 1, "iso_value": 1.0, "enable_3d": True,
                    "train": {"batch_size": 1, "num_workers": 2}, "augmentation": {"size_divisibility": 32}},
        "train": {"num_epochs": 20, "checkpoint_interval": 1000, "checkpoint_interval_unit": "step",
                  "clip_grad_norm": 0.01, "activation_checkpoint": False,
                  "optim": {"lr": 0.0001, "lr_scheduler": "WarmupPoly", "max_steps": 110000,
                            "monitor_name": "train_loss"}},
    }
    path = tmp_path / "spec_front3d_3d.yaml"
    path.write_text(yaml.safe_dump(spec))
    cfg = load_spec(path)
    assert cfg.train.optim.lr_scheduler == "WarmupPoly"
    assert cfg.dataset.augmentation.size_divisibility == 32.0


def test_wrong_type_names_the_key():
    msg = _messages(_spec({"train.num_epochs": "ten"}))
    assert "`train.num_epochs`" in msg and "integer" in msg


def test_quoted_number_is_not_silently_coerced():
    assert "`train.optim.lr`" in _messages(_spec({"train.optim.lr": "2e-4"}))


def test_out_of_range_names_the_key():
    msg = _messages(_spec({"train.optim.lr": 0.5}))
    assert "`train.optim.lr`" in msg and "0.01" in msg


def test_unknown_enum_value_names_the_key():
    msg = _messages(_spec({"model.mode": "panoramic"}))
    assert "`model.mode`" in msg and "'panoptic'" in msg


def test_unknown_key_is_rejected():
    assert "`train.num_epoch` is not a known key" in _messages(_spec({"train.num_epoch": 3}))


@pytest.mark.parametrize(
    ("name", "factor", "expected"),
    [("matterport", 1, 2), ("front3d", 2, 1), ("synthetic_hospital", 2, 1), ("synthetic_warehouse", 2, 1)],
)
def test_downsample_factor_must_match_dataset(name, factor, expected):
    msg = _messages(_spec({"dataset.name": name, "dataset.downsample_factor": factor}))
    assert f"`dataset.downsample_factor` must be {expected} for dataset.name '{name}'" in msg


def test_downsample_factor_accepted_when_matching():
    assert validate_spec(_spec({"dataset.name": "matterport", "dataset.downsample_factor": 2})).dataset.downsample_factor == 2


def test_fsdp_needs_several_devices():
    assert "`train.distributed_strategy`" in _messages(_spec({"train.distributed_strategy": "fsdp"}))
    ok = validate_spec(_spec({"train.distributed_strategy": "fsdp", "train.num_gpus": 2, "train.gpu_ids": [0, 1]}))
    assert ok.train.distributed_strategy == "fsdp"
    assert validate_spec(_spec({"train.distributed_strategy": "fsdp", "train.num_nodes": 2})).train.num_nodes == 2


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_all_three_precisions_are_accepted(precision):
    assert validate_spec(_spec({"train.precision": precision})).train.precision == precision


def test_explicit_gpu_ids_must_match_num_gpus():
    assert "`train.gpu_ids` lists 1 ids but train.num_gpus is 4" in _messages(_spec({"train.num_gpus": 4, "train.gpu_ids": [0]}))
    assert validate_spec(_spec({"train.num_gpus": 4})).train.num_gpus == 4


def test_several_errors_are_reported_together():
    msg = _messages(_spec({"train.num_epochs": 0, "model.mode": "x", "dataset.bogus": 1}))
    assert msg.count("\n  - ") == 3


def test_milestones_and_depth_range_rules():
    assert "`train.optim.milestones`" in _messages(_spec({"train.optim.milestones": [96, 88]}))
    assert "`dataset.depth_min`" in _messages(_spec({"dataset.depth_min": 7.0}))


def test_completion_weights_need_three_levels():
    assert "`model.frustum3d.completion_weights`" in _messages(_spec({"model.frustum3d.completion_weights": [50, 25]}))


def test_secret_is_not_echoed_in_errors_or_repr():
    cfg = validate_spec(_spec({"encryption_key": "hunter2-secret"}))
    assert "hunter2-secret" not in repr(cfg)
    msg = _messages(_spec({"encryption_key": 12345}))
    assert "12345" not in msg and "`encryption_key`" in msg


def test_load_spec_reports_bad_files(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(bad)


def test_config_import_does_not_pull_torch():
    import subprocess
    import sys

    code = "import sys, nvpanoptix3d.config; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
