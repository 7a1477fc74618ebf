"""A checkpoint's ``architecture`` entry against the spec at load: another network is an error naming every
differing key (the spec decides the network), before any tensor is copied; the engine's key list is the
runner's lineage list."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nvpanoptix3d.engine.architecture import KEYS_2D, KEYS_3D, architecture_differences, check_architecture
from nvpanoptix3d.engine.errors import CheckpointError

from .conftest import make_spec, run_action, write_spec

SKILL_INFO = Path(__file__).resolve().parents[2] / "skills" / "tao-train-nvpanoptix3d" / "references" / "skill_info.yaml"


def test_the_engine_keys_are_the_runner_lineage_architecture_keys():
    lineage = yaml.safe_load(SKILL_INFO.read_text())["lineage"]
    assert sorted(KEYS_2D) == sorted(lineage["architecture"])
    assert sorted(KEYS_3D) == sorted(lineage["architecture_by_stage"]["3d"])


def test_differences_name_each_key_of_the_part_and_skip_what_either_side_lacks():
    arch = {"model": {"backbone": {"preset": "tiny"}, "mask_former": {"dec_layers": 2, "nheads": 4},
                      "frustum3d": {"unet_features": 4},
                      "sem_seg_head": {"deformable_transformer_encoder_in_features": ["res3", "res4"]}}}
    config = {"model": {"backbone": {"preset": "full"}, "mask_former": {"dec_layers": 9, "nheads": 4},
                        "frustum3d": {"unet_features": 16},
                        "sem_seg_head": {"deformable_transformer_encoder_in_features": ("res3", "res4"),
                                         "num_classes": 13}}}
    assert architecture_differences(arch, config, "2d") == [("model.backbone.preset", "tiny", "full"),
                                                            ("model.mask_former.dec_layers", 2, 9)]
    assert ("model.frustum3d.unet_features", 4, 16) in architecture_differences(arch, config, "3d")
    with pytest.raises(CheckpointError, match=r"2 keys: model.backbone.preset: checkpoint \"tiny\", spec \"full\"; "
                                              r"model.mask_former.dec_layers: checkpoint 2, spec 9\)"):
        check_architecture({"architecture": arch}, config, part="2d", what="evaluate.checkpoint", path="x.pth")
    check_architecture({}, config, part="3d", what="evaluate.checkpoint", path="nvidia.pth")  # no entry: no check


def _log(res: Path) -> str:
    return (res / "log.txt").read_text() if (res / "log.txt").exists() else ""


def test_evaluate_and_train_refuse_a_checkpoint_of_another_network_naming_the_keys(tiny_data, trained_2d, tmp_path):
    ck = str(trained_2d / "latest.pth")
    res = tmp_path / "eval"
    res.mkdir()
    # nheads: the tensors would fit (4 -> 2 heads of the same width), the computation would not
    spec = write_spec(res / "spec.yaml", make_spec(tiny_data, res, **{
        "evaluate.checkpoint": ck, "model.mask_former.nheads": 2, "model.mask_former.dec_layers": 3}))
    assert run_action("evaluate", spec) != 0
    text = _log(res)
    assert "was written for another network than the spec builds (2 keys: model.mask_former.nheads: checkpoint 4, " \
           "spec 2; model.mask_former.dec_layers: checkpoint 2, spec 3)" in text, text[-2000:]
    assert "Traceback" not in text
    res = tmp_path / "train3d"
    res.mkdir()
    spec = write_spec(res / "spec.yaml", make_spec(tiny_data, res, **{
        "dataset.enable_3d": True, "train.checkpoint_2d": ck, "model.frustum3d.unet_features": 8,
        "model.sem_seg_head.mask_dim": 16}))
    assert run_action("train", spec) != 0
    text = _log(res)
    # the 2D part only: the 3D widths of a 2D checkpoint do not matter when it initialises the 2D stage
    assert "train.checkpoint_2d" in text and "(1 key: model.sem_seg_head.mask_dim: checkpoint 32, spec 16)" in text


def test_resume_refuses_a_checkpoint_of_another_network(tiny_data, trained_2d, tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", make_spec(tiny_data, tmp_path, **{
        "train.resume_training_checkpoint_path": str(trained_2d / "model_epoch_000_step_00002.pth"),
        "model.projection.depth_bins": 8}))
    assert run_action("train", spec) != 0
    text = _log(tmp_path)
    assert "train.resume_training_checkpoint_path" in text and \
        "(1 key: model.projection.depth_bins: checkpoint 16, spec 8)" in text, text[-2000:]
