"""The CLI surface: list, describe, JSON discipline, lazy imports, schemas and dataset tools."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def test_list_shows_the_bank_and_the_skill_dir(tao, toy):
    res = tao("list", "--skill-dir", str(toy["skill"]), "--json")
    skills = {s["network"]: s for s in res.doc["skills"]}
    assert set(skills) >= {"nvpanoptix3d", "toyseg"}
    assert skills["toyseg"]["actions"] == ["train", "evaluate", "inference", "export", "deploy"]
    assert skills["nvpanoptix3d"]["automl_enabled"] is True
    human = tao("list", "--skill-dir", str(toy["skill"]))
    assert human.code == 0 and "toyseg" in human.out and "nvpanoptix3d" in human.out


def test_describe_json(tao, toy):
    doc = tao("describe", "toyseg", "--skill-dir", str(toy["skill"]), "--json").doc
    assert doc["automl_enabled"] is True and doc["automl_status"] == "runnable"
    assert doc["shorthand_keys"]["lr"] == "train.lr" and doc["monitoring"] == {"metric": "ACC", "direction": "maximize"}
    train = doc["actions"]["train"]
    assert train["popular"] == {"results_dir": "", "dataset.batch_size": 4, "train.epochs": 3, "train.lr": 0.01}
    sources = {d["key"]: d for d in train["data_sources"]}
    assert sources["dataset.val.labels"] == {"key": "dataset.val.labels", "source": "eval_dataset",
                                             "expected": "meta/val.json", "mandatory": True}
    assert sources["dataset.infer.images"]["mandatory"] is False
    assert train["routes_to_automl"] is True and doc["actions"]["evaluate"]["routes_to_automl"] is False


def test_describe_one_action_human(tao, toy):
    res = tao("describe", "toyseg", "evaluate", "--skill-dir", str(toy["skill"]))
    assert res.code == 0
    assert "[evaluate]" in res.out and "[train]" not in res.out and "dataset.val.labels" in res.out
    assert "AutoML: enabled, runnable" in res.out


def test_describe_reports_non_runnable_automl(tao, toy):
    (toy["skill"] / "references" / "spec_template_train.yaml").unlink()
    doc = tao("describe", "toyseg", "--skill-dir", str(toy["skill"]), "--json").doc
    assert doc["automl_runnable"] is False
    assert "AutoML is enabled but not runnable for this model until schemas are generated" in doc["automl_status"]


def test_describe_real_skill(tao):
    doc = tao("describe", "nvpanoptix3d", "train", "--json").doc
    assert doc["network"] == "nvpanoptix3d" and doc["shorthand_keys"]["batch_size"] == "dataset.train.batch_size"
    assert doc["actions"]["train"]["popular"]["train.optim.lr"] == 0.0002
    assert {d["key"] for d in doc["actions"]["train"]["data_sources"] if d["mandatory"]} == {
        "dataset.frustum_mask_path", "dataset.label_map", "dataset.train.json_path", "dataset.train.base_dir",
        "dataset.val.json_path", "dataset.val.base_dir"}


@pytest.mark.parametrize(("args", "key", "suggestion"), [
    (["describe", "nvpanoptix"], "network", "nvpanoptix3d"),
    (["describe", "nvpanoptix3d", "trian"], "action", "train"),
    (["run", "nvpanoptix3d", "evaluat", "--dry-run"], "action", "evaluate"),
])
def test_unknown_network_or_action(tao, args, key, suggestion):
    res = tao(*args, "--json")
    assert res.code == 2
    (err,) = res.doc["errors"]
    assert (err["key"], err["suggestion"]) == (key, suggestion)


def test_json_mode_prints_exactly_one_document_even_for_usage_errors(script):
    res = script("run", "nvpanoptix3d", "--json")  # missing ACTION: a click usage error
    assert res.code == 2
    assert res.doc["ok"] is False and "ACTION" in res.doc["errors"][0]["message"]
    res = script("run", "nvpanoptix3d", "train", "--automl-policy", "maybe", "--json")
    assert res.code == 2 and "maybe" in res.doc["errors"][0]["message"]


def test_errors_never_print_a_traceback(script):
    res = script("run", "nvpanoptix3d", "train", "--override", "nope=1", "--dry-run")
    assert res.code == 2 and res.out == "" and "Traceback" not in res.err and "did you mean" not in res.out
    assert "error (" in res.err


def test_dry_run_does_not_import_torch():
    code = ("import io, sys, contextlib\n"
            "from tao_skill.cli import main\n"
            "buf = io.StringIO()\n"
            "with contextlib.redirect_stdout(buf):\n"
            "    rc = main(['run', 'nvpanoptix3d', 'train', '--train-dataset', 's3://bkt/t', '--eval-dataset', 's3://bkt/e',"
            " '--dry-run', '--json'])\n"
            "assert rc == 0, buf.getvalue()\n"
            "print(json.dumps(sorted(m for m in ('torch', 'pytorch_lightning', 'numpy', 'boto3', 'onnx') if m in sys.modules)))\n")
    proc = subprocess.run([sys.executable, "-c", "import json\n" + code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_help_lists_every_command(script):
    res = script("--help")
    assert res.code == 0
    for command in ("list", "describe", "run", "validate", "jobs", "schemas", "dataset"):
        assert command in res.out


def test_dataset_tools_run_with_the_remaining_arguments(tao, toy, tmp_path, script):
    target = tmp_path / "made"
    res = script("dataset", "synth", "toyseg", str(target), "--skill-dir", str(toy["skill"]))
    assert res.code == 0, res.err
    assert (target / "meta" / "val.json").is_file() and f"toy dataset in {target}" in res.out
    assert script("dataset", "check", "toyseg", str(target), "--skill-dir", str(toy["skill"])).code == 0
    (target / "labels.json").unlink()
    bad = script("dataset", "check", "toyseg", str(target), "--skill-dir", str(toy["skill"]))
    assert bad.code == 1 and "labels.json" in bad.out


def test_dataset_tool_missing_in_skill_info(tao, toy):
    info = toy["skill"] / "references" / "skill_info.yaml"
    info.write_text(info.read_text().split("tools:")[0])
    res = tao("dataset", "synth", "toyseg", "x", "--skill-dir", str(toy["skill"]))
    assert res.code == 2 and "declares no `synth` tool" in res.err


def test_schemas_check_and_generate_on_the_toy_skill(tao, toy, monkeypatch):
    monkeypatch.syspath_prepend(str(toy["skill"]))
    res = tao("schemas", "check", "--skill-dir", str(toy["skill"]))
    assert res.code == 0, res.out + res.err
    assert "in sync" in res.out
    template = toy["skill"] / "references" / "spec_template_train.yaml"
    good = template.read_text()
    template.write_text(good.replace("epochs: 3", "epochs: 4"))
    res = tao("schemas", "check", "--skill-dir", str(toy["skill"]), "--json")
    assert res.code == 1 and res.doc["ok"] is False
    (diff,) = res.doc["drift"].values()
    assert any(line.startswith("-  epochs: 4") for line in diff) and any(line.startswith("+  epochs: 3") for line in diff)
    human = tao("schemas", "check", "--skill-dir", str(toy["skill"]))
    assert human.code == 1 and "tao-skill schemas generate" in human.out
    assert tao("schemas", "generate", "--skill-dir", str(toy["skill"])).code == 0
    assert template.read_text() == good


def test_packaged_skill_is_in_sync(tao):
    res = tao("schemas", "check", "--network", "nvpanoptix3d", "--json")
    assert res.code == 0, res.doc


def test_installed_bank_is_found_through_package_data(tmp_path, monkeypatch, toy, tao):
    """In a wheel the bank lives in tao_skill/bank/<network>/ (package data installed as files); discovery
    reads it from the package folder."""
    import shutil

    from tao_skill import skills

    package = tmp_path / "site" / "tao_skill"
    shutil.copytree(toy["skill"], package / "bank" / "toyseg")
    monkeypatch.setattr(skills, "_package_dir", lambda: package)
    found = skills.discover()
    assert found["toyseg"].root == (package / "bank" / "toyseg").resolve()
    assert "nvpanoptix3d" in found  # the source tree still counts in a dev install
    res = tao("describe", "toyseg", "--json")  # no --skill-dir needed
    assert res.code == 0 and res.doc["skill_dir"] == str(package / "bank" / "toyseg")
