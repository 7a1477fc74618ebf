"""Spec assembly: template <- --spec <- --override <- --overrides-json, shorthand keys, YAML typing,
unknown keys with a did-you-mean."""

from __future__ import annotations

import json

import pytest

from tao_skill.spec import parse_value


@pytest.mark.parametrize(("raw", "leaf", "expected"), [
    ("[50,25,10]", {"type": "array"}, [50, 25, 10]),
    ("true", {"type": "boolean"}, True),
    ("2e-4", {"type": "number"}, 2e-4),
    ("2E-4", None, 2e-4),
    ("1e3", {"type": "integer"}, 1000),
    ("3", {"type": "number"}, 3.0),
    ("007", {"type": "string"}, "007"),
    ("true", {"type": "string"}, "true"),
    ("fast", {"type": "string"}, "fast"),
    ("{a: 1}", {"type": "object"}, {"a": 1}),
    ("", {"type": "string"}, ""),
])
def test_override_values_get_their_types(raw, leaf, expected):
    value = parse_value(raw, leaf)
    assert value == expected and type(value) is type(expected)


def test_typed_overrides_through_the_cli(toy_run):
    res = toy_run("train", "--override", "train.milestones=[50,25,10]", "--override", "train.echo_key=true",
                  "--override", "lr=2e-4", "--override", "epochs=5", "--dry-run")
    assert res.code == 0, res.out
    train = res.doc["spec"]["train"]
    assert train["milestones"] == [50, 25, 10] and train["echo_key"] is True
    assert train["lr"] == 2e-4 and isinstance(train["lr"], float) and train["epochs"] == 5


def test_precedence_template_spec_override_json(toy_run, tmp_path):
    spec = tmp_path / "spec.yaml"
    # PyYAML reads 5e-3 as a string; the runner makes it the number the schema wants.
    spec.write_text("train:\n  epochs: 7\n  lr: 5e-3\n  milestones: [1e1, 2e1]\ndataset:\n  batch_size: 2\n")
    res = toy_run("train", "--spec", str(spec), "--dry-run")
    assert res.code == 0, res.out
    spec_out = res.doc["spec"]
    assert spec_out["train"]["epochs"] == 7 and spec_out["train"]["lr"] == 5e-3
    assert spec_out["train"]["milestones"] == [10, 20] and spec_out["dataset"]["batch_size"] == 2
    assert spec_out["train"]["mode"] == "fast"  # untouched keys keep the template's value
    res = toy_run("train", "--spec", str(spec), "--override", "epochs=8", "--overrides-json",
                  json.dumps({"train.epochs": 9, "dataset": {"batch_size": 16}}), "--dry-run")
    assert res.code == 0, res.out
    assert res.doc["spec"]["train"]["epochs"] == 9 and res.doc["spec"]["dataset"]["batch_size"] == 16
    res = toy_run("train", "--spec", str(spec), "--override", "epochs=8", "--dry-run")
    assert res.doc["spec"]["train"]["epochs"] == 8


def test_overrides_json_from_a_file_like_the_skill_text(toy_run, tmp_path):
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps({"train.lr": 0.002, "train.epochs": 4, "batch_size": 8}))
    res = toy_run("train", "--overrides-json", f"@{path}", "--dry-run")
    assert res.code == 0, res.out
    assert (res.doc["spec"]["train"]["lr"], res.doc["spec"]["train"]["epochs"]) == (0.002, 4)
    assert res.doc["spec"]["dataset"]["batch_size"] == 8


def test_overrides_json_on_the_real_skill(tao):
    overrides = {"train.num_epochs": 20, "train.optim.lr": 0.0001, "dataset.train.batch_size": 2,
                 "train.optim.milestones": [10, 15]}
    res = tao("run", "nvpanoptix3d", "train", "--train-dataset", "s3://bkt/train", "--eval-dataset", "s3://bkt/eval",
              "--overrides-json", json.dumps(overrides), "--automl-policy", "off", "--dry-run", "--json")
    assert res.code == 0, res.out
    train = res.doc["spec"]["train"]
    assert train["num_epochs"] == 20 and train["optim"]["lr"] == 0.0001 and train["optim"]["milestones"] == [10, 15]


def test_shorthand_keys_expand(tao):
    res = tao("run", "nvpanoptix3d", "train", "--train-dataset", "s3://bkt/train", "--eval-dataset", "s3://bkt/eval",
              "--override", "batch_size=3", "--override", "lr=3e-4", "--override", "num_epochs=2", "--dry-run",
              "--json")
    assert res.code == 0, res.out
    spec = res.doc["spec"]
    assert spec["dataset"]["train"]["batch_size"] == 3
    assert spec["train"]["optim"]["lr"] == 3e-4 and spec["train"]["num_epochs"] == 2


@pytest.mark.parametrize(("given", "suggestion"), [
    ("train.num_epoch", "train.num_epochs"),
    ("train.optim.learning_rate", "train.optim.lr"),
    ("num_epoch", "train.num_epochs"),  # a near-miss of a shorthand suggests its full key
])
def test_unknown_keys_fail_with_did_you_mean(tao, given, suggestion):
    res = tao("validate", "nvpanoptix3d", "train", "--train-dataset", "s3://bkt/t", "--eval-dataset", "s3://bkt/e",
              "--override", f"{given}=3", "--json")
    assert res.code == 2
    (err,) = res.doc["errors"]
    assert err["key"] == given and err["suggestion"] == suggestion
    assert set(err) == {"key", "message", "expected", "got", "suggestion"}


def test_unknown_key_in_spec_file_and_json(toy_run, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("train:\n  epoch: 7\n")
    res = toy_run("train", "--spec", str(spec), "--overrides-json", '{"dataset.batchsize": 2}', "--dry-run")
    assert res.code == 2
    found = {e["key"]: e["suggestion"] for e in res.doc["errors"]}
    assert found == {"train.epoch": "train.epochs", "dataset.batchsize": "dataset.batch_size"}


def test_human_error_lists_every_problem(tao, toy):
    res = tao("run", "toyseg", "train", "--skill-dir", str(toy["skill"]), "--override", "train.epoch=2",
              "--override", "train.lr=-1", "--dry-run")
    assert res.code == 2 and res.out == ""
    assert "did you mean `train.epochs`?" in res.err
    assert "`dataset.train.labels`" in res.err and "Field `train.lr` must be a number > 0" in res.err
    assert "Traceback" not in res.err


@pytest.mark.parametrize(("args", "key", "text"), [
    (["--override", "epochs"], None, "KEY=VALUE"),
    (["--overrides-json", "[1, 2]"], "--overrides-json", "JSON object"),
    (["--overrides-json", "{broken"], "--overrides-json", "not valid JSON"),
    (["--overrides-json", "@/nonexistent/o.json"], "--overrides-json", "cannot read"),
    (["--spec", "/nonexistent/spec.yaml"], "--spec", "does not exist"),
])
def test_malformed_inputs_are_clear_errors(toy_run, args, key, text):
    res = toy_run("train", *args, "--dry-run")
    assert res.code == 2
    assert res.doc["ok"] is False and res.doc["errors"][0]["key"] == key and text in res.doc["errors"][0]["message"]
