"""The per-action dataset table (every mandatory key named with its source and file) and validation
against the generated schema plus the config's cross-field rules."""

from __future__ import annotations

import pytest

TOY_TABLE = {
    "train": {"dataset.train.root": ("train_datasets", "(directory)", "--train-dataset"),
              "dataset.train.labels": ("train_datasets", "labels.json", "--train-dataset"),
              "dataset.val.root": ("eval_dataset", "(directory)", "--eval-dataset"),
              "dataset.val.labels": ("eval_dataset", "meta/val.json", "--eval-dataset")},
    "evaluate": {"dataset.val.root": ("eval_dataset", "(directory)", "--eval-dataset"),
                 "dataset.val.labels": ("eval_dataset", "meta/val.json", "--eval-dataset")},
    "inference": {"dataset.infer.images": ("inference_dataset", "images", "--inference-dataset")},
}


@pytest.mark.parametrize("action", ["train", "evaluate", "inference"])
def test_every_missing_key_is_named_with_source_and_file(tao, toy, action):
    extra = [] if action == "train" else ["--override", f"{action}.checkpoint={toy['data'] / 'labels.json'}"]
    res = tao("run", "toyseg", action, "--skill-dir", str(toy["skill"]), "--automl-policy", "off", "--dry-run",
              "--json", *extra)
    assert res.code == 2
    errors = {e["key"]: e for e in res.doc["errors"]}
    assert set(errors) == set(TOY_TABLE[action])  # optional keys (dataset.infer.images for train) are not listed
    for key, (source, expected, flag) in TOY_TABLE[action].items():
        expected_text = "the dataset directory" if expected == "(directory)" else expected
        assert errors[key]["expected"] == expected_text
        assert f"source {source}" in errors[key]["message"] and flag in errors[key]["message"]


def test_one_source_missing_names_only_its_keys(toy_run, toy):
    res = toy_run("train", "--train-dataset", str(toy["data"]), "--dry-run", dataset=False)
    assert res.code == 2
    assert {e["key"] for e in res.doc["errors"]} == {"dataset.val.root", "dataset.val.labels"}


def test_dataset_flags_fill_every_key_of_their_source(toy_run, toy):
    plan = toy_run("train", "--inference-dataset", str(toy["data"]), "--dry-run").doc
    data = str(toy["data"])
    spec = plan["spec"]["dataset"]
    assert spec["train"] == {"root": data, "labels": f"{data}/labels.json"}
    assert spec["val"] == {"root": data, "labels": f"{data}/meta/val.json"}
    assert spec["infer"]["images"] == f"{data}/images"
    rows = {r["key"]: r for r in plan["dataset_table"]}
    assert rows["dataset.val.labels"]["from"] == "--eval-dataset" and rows["dataset.val.labels"]["source"] == "eval_dataset"
    assert {d["key"] for d in plan["data_sources"]} >= set(TOY_TABLE["train"])


def test_relative_dataset_paths_become_absolute(tao, toy):
    res = tao("run", "toyseg", "train", "--skill-dir", str(toy["skill"]), "--train-dataset", "data",
              "--eval-dataset", "./data", "--dry-run", "--json")
    assert res.code == 0, res.out
    assert res.doc["spec"]["dataset"]["train"]["labels"] == str(toy["data"] / "labels.json")


def test_explicit_key_wins_over_the_dataset_flag(toy_run, toy, tmp_path):
    other = tmp_path / "other.json"
    other.write_text("{}")
    plan = toy_run("train", "--override", f"dataset.val.labels={other}", "--dry-run").doc
    assert plan["spec"]["dataset"]["val"]["labels"] == str(other)
    assert {r["key"]: r for r in plan["dataset_table"]}["dataset.val.labels"]["from"] == "--override"


def test_local_paths_must_exist(toy_run, toy, tmp_path):
    (toy["data"] / "meta" / "val.json").unlink()
    res = toy_run("train", "--dry-run")
    assert res.code == 2
    (err,) = res.doc["errors"]
    assert err["key"] == "dataset.val.labels" and "does not exist" in err["message"]
    res = toy_run("train", "--train-dataset", str(tmp_path / "nowhere"), "--dry-run", dataset=False)
    assert {e["key"] for e in res.doc["errors"]} >= {"dataset.train.root", "dataset.train.labels"}


def test_a_file_where_a_folder_is_expected(toy_run, toy):
    res = toy_run("train", "--override", f"dataset.train.root={toy['data'] / 'labels.json'}", "--dry-run")
    assert res.code == 2 and "expected a folder" in res.doc["errors"][0]["message"]


@pytest.mark.parametrize(("action", "flags", "expected"), [
    ("train", ["--train-dataset", "s3://bkt/train", "--eval-dataset", "s3://bkt/eval"],
     {"dataset.train.json_path": "s3://bkt/train/meta/train.json", "dataset.train.base_dir": "s3://bkt/train",
      "dataset.frustum_mask_path": "s3://bkt/train/meta/frustum_mask.npz",
      "dataset.val.json_path": "s3://bkt/eval/meta/val.json", "dataset.val.base_dir": "s3://bkt/eval"}),
    ("evaluate", ["--eval-dataset", "s3://bkt/eval", "--override", "evaluate.checkpoint=s3://bkt/m.pth"],
     {"dataset.val.json_path": "s3://bkt/eval/meta/val.json", "dataset.val.base_dir": "s3://bkt/eval",
      "dataset.label_map": "s3://bkt/eval/meta/colormap.json"}),
    ("inference", ["--inference-dataset", "s3://bkt/inf", "--override", "inference.checkpoint=s3://bkt/m.pth"],
     {"inference.images_dir": "s3://bkt/inf/images.tar.gz", "dataset.label_map": "s3://bkt/inf/meta/colormap.json"}),
    # exported models instead of a checkpoint: the checkpoint is then not required
    ("evaluate", ["--eval-dataset", "s3://bkt/eval", "--override", "evaluate.onnx_file_2d=s3://bkt/m_2d.onnx",
                  "--override", "evaluate.onnx_file_3d=s3://bkt/m_3d.onnx"],
     {"evaluate.checkpoint": "", "evaluate.onnx_file_2d": "s3://bkt/m_2d.onnx"}),
    ("inference", ["--inference-dataset", "s3://bkt/inf", "--override", "inference.trt_engine=s3://bkt/engines"],
     {"inference.checkpoint": "", "inference.trt_engine": "s3://bkt/engines"}),
])
def test_real_skill_dataset_table(tao, action, flags, expected):
    res = tao("run", "nvpanoptix3d", action, *flags, "--automl-policy", "off", "--dry-run", "--json")
    assert res.code == 0, res.out
    from tao_skill.spec import get_dotted

    for key, value in expected.items():
        assert get_dotted(res.doc["spec"], key) == value, key


@pytest.mark.parametrize(("action", "missing"), [
    ("train", {"dataset.frustum_mask_path", "dataset.label_map", "dataset.train.json_path", "dataset.train.base_dir",
               "dataset.val.json_path", "dataset.val.base_dir"}),
    ("evaluate", {"dataset.frustum_mask_path", "dataset.label_map", "dataset.val.json_path", "dataset.val.base_dir",
                  "evaluate.checkpoint"}),
    ("inference", {"dataset.frustum_mask_path", "dataset.label_map", "inference.images_dir", "inference.checkpoint"}),
])
def test_real_skill_names_each_missing_key(tao, action, missing):
    res = tao("validate", "nvpanoptix3d", action, "--json")
    assert res.code == 2
    assert {e["key"] for e in res.doc["errors"]} == missing
    by_key = {e["key"]: e for e in res.doc["errors"]}
    if "dataset.val.json_path" in missing:
        assert by_key["dataset.val.json_path"]["expected"] == "meta/val.json"
        assert "--eval-dataset" in by_key["dataset.val.json_path"]["message"]
    ckpt = f"{action}.checkpoint"
    if ckpt in missing:
        assert "--parent-job" in by_key[ckpt]["message"]
        assert f"(or set {action}.onnx_file_2d or {action}.trt_engine instead)" in by_key[ckpt]["message"]


# ---- validation -------------------------------------------------------------------------------------------------

def test_schema_errors_name_the_field_and_come_together(toy_run):
    res = toy_run("train", "--override", "train.lr=5", "--override", "train.mode=turbo", "--override",
                  "epochs=zero", "--override", "batch_size=0", "--dry-run")
    assert res.code == 2
    messages = {e["key"]: e["message"] for e in res.doc["errors"]}
    assert messages == {
        "train.lr": "Field `train.lr` must be a number <= 1.0",
        "train.mode": "Field `train.mode` must be one of fast, slow",
        "train.epochs": "Field `train.epochs` must be an integer",
        "dataset.batch_size": "Field `dataset.batch_size` must be a number >= 1",
    }


def test_real_skill_lr_message(tao):
    res = tao("validate", "nvpanoptix3d", "train", "--train-dataset", "s3://bkt/t", "--eval-dataset", "s3://bkt/e",
              "--override", "train.optim.lr=0", "--json")
    assert res.code == 2
    (err,) = res.doc["errors"]
    assert err == {"key": "train.optim.lr", "message": "Field `train.optim.lr` must be a number >= 1e-06",
                   "expected": 1e-06, "got": 0, "suggestion": None}


def test_cross_field_rules_of_the_config(toy_run):
    res = toy_run("train", "--override", "train.mode=slow", "--override", "epochs=1", "--dry-run")
    assert res.code == 2
    (err,) = res.doc["errors"]
    assert err["key"] == "train.epochs" and err["message"] == "Field `train.epochs` must be >= 2 when train.mode is slow"


def test_real_skill_cross_field_rule(tao):
    res = tao("validate", "nvpanoptix3d", "train", "--train-dataset", "s3://bkt/t", "--eval-dataset", "s3://bkt/e",
              "--override", "train.num_gpus=2", "--override", "train.gpu_ids=[0]", "--json")
    assert res.code == 2
    assert res.doc["errors"][0]["key"] == "train.gpu_ids" and "num_gpus" in res.doc["errors"][0]["message"]


def test_validate_command_human_and_json(tao, toy):
    base = ["validate", "toyseg", "train", "--skill-dir", str(toy["skill"]), "--train-dataset", str(toy["data"]),
            "--eval-dataset", str(toy["data"])]
    res = tao(*base)
    assert res.code == 0 and res.out.splitlines()[0] == "toyseg train: spec is valid"
    assert "preflight:" in res.out  # a train validation also says what the launch will meet here
    res = tao(*base, "--json")
    assert res.doc["ok"] is True and res.doc["spec"]["train"]["epochs"] == 3
    assert not (toy["ws"] / "jobs").exists()  # validate never creates a job
