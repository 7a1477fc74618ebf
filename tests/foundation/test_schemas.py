"""The packaged schemas, templates and manifest are valid, in sync with the config, and deterministic."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from tao_skill.schemagen import build_outputs, check, generate

ACTIONS = ["train", "evaluate", "inference", "export", "gen_trt_engine"]


def _floats(node):
    if isinstance(node, float):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _floats(v)
    elif isinstance(node, list):
        for v in node:
            yield from _floats(v)


@pytest.mark.parametrize("action", ACTIONS)
def test_schema_is_valid_draft_2020_12_with_finite_numbers(repo, action):
    text = (repo / "schemas" / f"{action}.schema.json").read_text()
    # Strict JSON: Python's json accepts Infinity/NaN unless told otherwise.
    schema = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert all(math.isfinite(x) for x in _floats(schema))
    assert schema["x-tao-schema"]["action"] == action
    assert action in schema["default"] or action == "train"


@pytest.mark.parametrize("action", ACTIONS)
def test_template_equals_schema_default_and_validates(repo, schemas, action):
    template = yaml.safe_load((repo / "references" / f"spec_template_{action}.yaml").read_text())
    assert template == schemas[action]["default"]
    jsonschema.Draft202012Validator(schemas[action]).validate(template)


def test_template_carries_descriptions_as_comments(repo):
    text = (repo / "references" / "spec_template_train.yaml").read_text()
    assert "lr: 0.0002 # Base learning rate." in text
    assert "# Sparse 3D completion in the camera frustum." in text


def test_manifest_lists_actions_with_hashes(repo):
    manifest = json.loads((repo / "schemas" / "manifest.json").read_text())
    assert manifest["network_arch"] == "nvpanoptix3d"
    assert sorted(manifest["actions"]) == sorted(ACTIONS)
    for action, entry in manifest["actions"].items():
        data = (repo / entry["schema"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["schema_sha256"]
        data = (repo / entry["spec_template"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["spec_template_sha256"]
    assert manifest["generator"]["name"] == "tao_skill.schemagen"


def test_automl_metadata_under_x_tao(schemas):
    train = schemas["train"]
    assert "train.optim.lr" in train["x-tao-automl-default-parameters"]
    disabled = set(train["x-tao-automl-disabled-parameters"])
    assert {"model.frustum3d.completion_weights", "train.gpu_ids", "encryption_key"} <= disabled
    lr = train["properties"]["train"]["properties"]["optim"]["properties"]["lr"]
    assert lr["x-tao-log-scale"] is True and lr["x-tao-automl-enabled"] is True
    assert lr["minimum"] == 1e-6 and lr["maximum"] == 1e-2
    sched = train["properties"]["train"]["properties"]["optim"]["properties"]["lr_scheduler"]
    assert sched["x-tao-option-weights"]["MultiStep"] == 0.5
    ms = train["properties"]["train"]["properties"]["optim"]["properties"]["milestones"]
    assert ms["x-tao-depends-on"] == ["train.optim.lr_scheduler == 'MultiStep'"]
    # No private TAO type dialect leaks into the standard keywords.
    text = json.dumps(train)
    for private in ('"collection"', '"categorical"', '"ordered_int"'):
        assert private not in text


def test_packaged_files_are_in_sync_with_config(repo):
    assert check(repo) == []


def test_regeneration_is_byte_identical(repo, tmp_path):
    first = generate(repo, tmp_path / "a")
    second = generate(repo, tmp_path / "b")
    assert [p.relative_to(tmp_path / "a") for p in first] == [p.relative_to(tmp_path / "b") for p in second]
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes()
        assert a.read_bytes() == (repo / a.relative_to(tmp_path / "a")).read_bytes()


def test_editing_a_config_default_makes_check_fail(repo, tmp_path, monkeypatch):
    skill = tmp_path / "skill"
    shutil.copytree(repo / "schemas", skill / "schemas")
    shutil.copytree(repo / "references", skill / "references")
    info = (skill / "references" / "skill_info.yaml").read_text()
    (skill / "references" / "skill_info.yaml").write_text(
        info.replace("config_entry: nvpanoptix3d.config:action_models", "config_entry: edited_cfg:action_models")
    )
    (tmp_path / "edited_cfg.py").write_text(textwrap.dedent("""
        from nvpanoptix3d.config import action_models as _orig
        from nvpanoptix3d.config.experiment import _SpecRoot, ExperimentConfig
        from nvpanoptix3d.config.train import TrainConfig
        from pydantic import Field, create_model

        EditedTrain = create_model("EditedTrain", __base__=TrainConfig, num_epochs=(int, Field(11, ge=1, description="Training epochs.")))

        def action_models():
            models = _orig()
            models["train"] = create_model("TrainSpec", __base__=models["train"], train=(EditedTrain, Field(default_factory=EditedTrain)))
            return models
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("edited_cfg", None)
    diff = "".join(check(skill))
    assert "num_epochs: 11" in diff and "schemas/train.schema.json" in diff
    generate(skill)
    assert check(skill) == []


def test_missing_generated_file_is_reported(repo, tmp_path):
    skill = tmp_path / "skill"
    shutil.copytree(repo / "schemas", skill / "schemas")
    shutil.copytree(repo / "references", skill / "references")
    (skill / "references" / "spec_template_export.yaml").unlink()
    diff = "".join(check(skill))
    assert "references/spec_template_export.yaml is missing" in diff


def test_outputs_do_not_depend_on_working_directory(repo, tmp_path, monkeypatch):
    here = build_outputs(repo)
    monkeypatch.chdir(tmp_path)
    assert build_outputs(Path(repo)) == here
