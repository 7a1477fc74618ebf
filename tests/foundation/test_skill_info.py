"""references/skill_info.yaml is structurally valid and every key it names exists in the schemas."""

from __future__ import annotations

import copy

import yaml

from tao_skill.schemagen.skill_info import validate_skill_info


def _info(repo):
    return yaml.safe_load((repo / "references" / "skill_info.yaml").read_text())


def test_skill_info_is_valid_and_keys_exist(repo, schemas):
    assert validate_skill_info(_info(repo), schemas) == []


def test_dataset_table_matches_the_skill_text(repo):
    table = _info(repo)["data_sources"]
    assert table["train"]["dataset.frustum_mask_path"] == {"source": "train_datasets", "path": "meta/frustum_mask.npz"}
    assert table["train"]["dataset.train.base_dir"] == {"source": "train_datasets", "path": ""}
    assert table["train"]["dataset.val.json_path"] == {"source": "eval_dataset", "path": "meta/val.json"}
    assert table["evaluate"]["dataset.test.json_path"] == {"source": "inference_dataset", "path": "meta/test.json"}
    assert table["inference"]["inference.images_dir"] == {"source": "inference_dataset", "path": "images.tar.gz"}
    assert sum(len(t) for t in table.values()) == 17


def test_spec_params_cover_the_skill_text_mappings(repo):
    params = _info(repo)["spec_params"]
    assert params["train"] == {
        "encryption_key": "key",
        "results_dir": "output_dir",
        "train.checkpoint_2d": "parent_model_or_ptm",
        "train.checkpoint_3d": "ptm",
        "train.resume_training_checkpoint_path": "resume_model",
    }
    assert params["evaluate"]["evaluate.checkpoint"] == {"function": "parent_model", "optional": True}
    assert params["inference"]["inference.onnx_file_3d"] == {"function": "parent_model", "artifact": "*_3d.onnx",
                                                             "optional": True}
    assert params["export"]["export.onnx_file_2d"] == "create_onnx_file_2d"
    assert params["export"]["export.onnx_file_3d"] == "create_onnx_file_3d"


def test_a_typo_in_a_key_is_reported(repo, schemas):
    info = copy.deepcopy(_info(repo))
    info["spec_shorthand_keys"]["num_epochs"] = "train.num_epoch"
    info["data_sources"]["train"]["dataset.trian.json_path"] = {"source": "train_datasets", "path": "meta/train.json"}
    problems = validate_skill_info(info, schemas)
    assert any("train.num_epoch" in p for p in problems)
    assert any("dataset.trian.json_path" in p for p in problems)


def test_structural_errors_are_reported(repo):
    info = copy.deepcopy(_info(repo))
    info["actions"]["train"]["inputs"]["dataset.label_map"] = {"type": "blob"}
    info["spec_params"]["train"]["results_dir"] = "output_folder"
    problems = validate_skill_info(info)
    assert any("actions.train.inputs.dataset.label_map.type" in p for p in problems)
    assert any("spec_params.train.results_dir" in p for p in problems)


def test_demo_recipe_and_spec_are_valid(repo, schemas):
    from tao_skill.spec import SpecBuilder

    info = _info(repo)
    assert [s["name"] for s in info["demo"]["steps"]] == ["data", "train_2d", "train_3d", "evaluate", "inference",
                                                          "export"]
    for action in ("train", "evaluate", "inference", "export"):
        template = yaml.safe_load((repo / "references" / f"spec_template_{action}.yaml").read_text())
        builder = SpecBuilder(template, schemas[action], info["spec_shorthand_keys"])
        builder.merge_file(repo / "references" / "demo_spec_tiny.yaml")
        assert builder.errors == []


def test_demo_step_problems_are_reported(repo):
    info = copy.deepcopy(_info(repo))
    info["demo"]["steps"][2]["parent"] = "export"
    info["demo"]["steps"][0]["tool"] = "synthesize"
    problems = validate_skill_info(info)
    assert any("names parent `export` before it ran" in p for p in problems)
    assert any("unknown tool `synthesize`" in p for p in problems)
