"""What an agent types, understood: case-insensitive enum suggestions, `num_gpus=N` deriving `gpu_ids`,
`--param KEY=a,b,c` for ints and strings, `describe ACTION` listing that action's keys, and `--json` /
`--workspace` on every command."""

from __future__ import annotations

import json

import click
import pytest

from tao_skill.automl.space import build_space

TRAIN = ["run", "nvpanoptix3d", "train", "--train-dataset", "s3://bkt/train", "--eval-dataset", "s3://bkt/eval",
         "--automl-policy", "off", "--dry-run", "--json"]


def _errors(doc) -> dict:
    return {e["key"]: e for e in doc["errors"]}


def test_enum_suggestions_ignore_case(tao, tmp_path):
    onnx = tmp_path / "m_2d.onnx"
    onnx.write_bytes(b"onnx")
    res = tao("run", "nvpanoptix3d", "gen_trt_engine", "--override", f"gen_trt_engine.onnx_file={onnx}",
              "--override", "gen_trt_engine.tensorrt.data_type=fp16", "--override", "dataset.name=front3D",
              "--dry-run", "--json")
    assert res.code == 2, res.out
    errs = _errors(res.doc)
    assert errs["gen_trt_engine.tensorrt.data_type"]["suggestion"] == "FP16"
    assert errs["dataset.name"]["suggestion"] == "front3d"


def test_enum_suggestion_for_a_misspelling(tao):
    res = tao(*TRAIN, "--override", "dataset.name=matterprot")
    assert res.code == 2 and _errors(res.doc)["dataset.name"]["suggestion"] == "matterport"


def test_num_gpus_derives_gpu_ids(tao):
    res = tao(*TRAIN, "--override", "num_gpus=8")
    assert res.code == 0, res.out
    assert res.doc["spec"]["train"]["num_gpus"] == 8
    assert res.doc["spec"]["train"]["gpu_ids"] == list(range(8))


@pytest.mark.parametrize("order", ["ids_first", "ids_last"])
def test_explicit_gpu_ids_win(tao, order):
    pair = [["--override", "train.gpu_ids=[2,3]"], ["--override", "train.num_gpus=2"]]
    args = pair[0] + pair[1] if order == "ids_first" else pair[1] + pair[0]
    res = tao(*TRAIN, *args)
    assert res.code == 0, res.out
    assert res.doc["spec"]["train"]["gpu_ids"] == [2, 3]


def test_explicit_gpu_ids_that_disagree_still_fail(tao):
    res = tao(*TRAIN, "--override", "num_gpus=2", "--override", "train.gpu_ids=[3]")
    assert res.code == 2 and "train.gpu_ids" in _errors(res.doc)


SCHEMA = {"type": "object", "properties": {
    "queries": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
    "lr": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.1},
    "name": {"type": "string", "default": "a"},
    "mode": {"type": "string", "enum": ["fast", "slow"], "default": "fast"},
}}


def test_param_options_for_ints_numbers_and_strings():
    params, _, errors = build_space(SCHEMA, add=["queries=50,100,200", "lr=0.1,0.01", "name=x,y,z", "mode=FAST,Slow"])
    assert errors == []
    got = {p.key: (p.kind, p.choices) for p in params}
    assert got == {"queries": ("categorical", [50, 100, 200]), "lr": ("categorical", [0.1, 0.01]),
                   "name": ("categorical", ["x", "y", "z"]), "mode": ("categorical", ["fast", "slow"])}


@pytest.mark.parametrize(("raw", "message"), [("queries=50,abc", "not an integer"), ("queries=50,1000", "outside"),
                                              ("queries=2.5,3", "not an integer"), ("name=x,", "at least two")])
def test_param_options_are_checked(raw, message):
    _, _, errors = build_space(SCHEMA, add=[raw])
    assert errors and message in errors[0].message


def test_param_options_in_a_plan(tao):
    res = tao(*[a for a in TRAIN if a not in ("--automl-policy", "off")],
              "--param", "model.mask_former.num_object_queries=50,100,200")
    assert res.code == 0, res.out
    space = {p["key"]: p for p in res.doc["automl"]["search_space"]}
    assert space["model.mask_former.num_object_queries"]["choices"] == [50, 100, 200]


def test_describe_action_lists_its_keys(tao):
    doc = tao("describe", "nvpanoptix3d", "gen_trt_engine", "--json").doc
    keys = doc["actions"]["gen_trt_engine"]["keys"]
    assert keys["gen_trt_engine.tensorrt.data_type"]["enum"] == ["FP32", "FP16"]
    assert next(iter(keys)).startswith("gen_trt_engine.")
    assert keys["gen_trt_engine.onnx_file"]["filled_by"] == "mapping parent_model"
    train = tao("describe", "nvpanoptix3d", "train", "--json").doc["actions"]["train"]["keys"]
    assert train["train.num_epochs"]["shorthand"] == "num_epochs"
    assert train["dataset.train.json_path"]["filled_by"] == "data source train_datasets"
    assert "model.backbone.pretrained_model_path" in train
    assert train["encryption_key"].get("secret") and "default" not in train["encryption_key"]
    assert "keys" not in tao("describe", "nvpanoptix3d", "--json").doc["actions"]["train"]


def _commands(group: click.Group, prefix=()):
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


def test_every_command_takes_json_and_workspace():
    from tao_skill.cli import cli

    found = list(_commands(cli))
    assert len(found) >= 15
    for path, cmd in found:
        opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
        assert {"--json", "--workspace"} <= opts, " ".join(path)


@pytest.mark.parametrize("argv", [["list"], ["describe", "nvpanoptix3d"], ["jobs", "list"], ["schemas", "check"]])
def test_commands_accept_workspace_and_print_one_document(tao, tmp_path, argv):
    res = tao(*argv, "--workspace", str(tmp_path / "w"), "--json")
    assert res.code == 0, res.out
    assert res.doc["ok"] is True


def test_dataset_tools_print_one_json_document(tao, toy, tmp_path):
    """A tool without --json of its own: its output is wrapped; a failing tool gives an error document."""
    out = tmp_path / "d"
    res = tao("dataset", "synth", "toyseg", str(out), "--skill-dir", str(toy["skill"]), "--json",
              "--workspace", str(tmp_path / "w"))
    assert res.code == 0 and res.doc["ok"] is True and res.doc["tool"] == "synth", res.out
    assert (out / "labels.json").is_file()
    bad = tao("dataset", "check", "toyseg", str(tmp_path / "missing"), "--skill-dir", str(toy["skill"]), "--json")
    assert bad.code != 0 and bad.doc["ok"] is False and bad.doc["errors"][0]["message"]


@pytest.mark.slow
def test_dataset_synth_json_nvpanoptix3d(script, tmp_path):
    res = script("dataset", "synth", "nvpanoptix3d", str(tmp_path / "d"), "--scenes", "1", "--json",
                 "--workspace", str(tmp_path / "w"))
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["ok"] is True and doc["tool"] == "synth"
    check = script("dataset", "check", "nvpanoptix3d", str(tmp_path / "d"), "--json")
    assert check.code == 0 and json.loads(check.out)["ok"] is True
