"""The search space comes from the generated train schema; the plan shows it; bad flags are exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import train_args


def _space(doc: dict) -> dict:
    return {p["key"]: p for p in doc["automl"]["search_space"]}


def test_dry_run_plan_has_the_search_space_from_the_schema(tao, hpo):
    res = tao(*train_args(hpo, "--dry-run", "--param", "train.warmup", "--param", "train.momentum"))
    assert res.code == 0, res.out
    plan = res.doc
    assert plan["route"] == "automl" and plan["automl"]["algorithm"] == "bayesian"
    assert (plan["automl"]["metric"], plan["automl"]["direction"]) == ("KPI", "maximize")
    space = _space(plan)
    assert list(space)[:3] == ["train.lr", "train.wd", "train.optimizer"]
    assert space["train.lr"]["log"] is True and space["train.lr"]["low"] == pytest.approx(1e-5)  # lr: log scale
    assert space["train.wd"]["log"] is True  # x-tao-log-scale
    assert space["train.optimizer"]["choices"] == ["adam", "adamw"]  # sgd has weight 0
    assert space["train.optimizer"]["weights"] == [1.0, 3.0]
    assert space["train.warmup"]["kind"] == "int" and space["train.warmup"]["source"] == "--param"
    assert space["train.momentum"]["depends_on"] == ["train.optimizer == 'sgd'"]
    assert "train.seed" not in space and plan["automl"]["max_trials"] == 6  # skill_info automl.max_trials
    assert plan["automl"]["storage"].startswith("sqlite:///") and plan["automl"]["storage"].endswith(
        f"automl/{plan['job_id']}.db")


def test_user_overrides_are_fixed_and_not_searched(tao, hpo):
    res = tao(*train_args(hpo, "--dry-run", "--override", "train.wd=0.001", "--override", "lr=0.002"))
    assert res.code == 0, res.out
    assert list(_space(res.doc)) == ["train.optimizer"]
    assert res.doc["automl"]["fixed"] == ["train.lr", "train.wd"]
    assert any("train.wd is fixed" in n for n in res.doc["automl"]["space_notes"])


@pytest.mark.parametrize(("flags", "key", "text"), [
    (["--param", "train.seed"], "--param", "can never be searched"),
    (["--param", "train.epochs"], "--param", "budget key"),
    (["--param", "train.lrr"], "--param", "not a key of the train spec"),
    (["--param", "train.lr=0.5:0.9"], "train.lr", "outside the schema range"),
    (["--param", "train.optimizer=sgd,rmsprop"], "train.optimizer", "not one of the options"),
    (["--algorithm", "pbt"], "--algorithm", "not supported yet"),
    (["--algorithm", "bayesain"], "--algorithm", "unknown algorithm"),
    (["--storage", "postgresql://u:secret@db/optuna"], "--storage", "contains a password"),
])
def test_bad_automl_flags_are_exit_2_with_the_key(tao, hpo, flags, key, text):
    res = tao(*train_args(hpo, "--dry-run", *flags))
    assert res.code == 2 and res.doc["ok"] is False, res.out
    errors = res.doc["errors"]
    assert any(e["key"] == key and text in e["message"] for e in errors), errors
    assert "secret" not in res.out


def test_did_you_mean_for_an_algorithm(tao, hpo):
    res = tao(*train_args(hpo, "--dry-run", "--algorithm", "bayesain"))
    assert res.doc["errors"][0]["suggestion"] == "bayesian"


def test_dehb_maps_to_tpe_hyperband_with_a_note(tao, hpo):
    res = tao(*train_args(hpo, "--dry-run", "--algorithm", "dehb"))
    a = res.doc["automl"]
    assert (a["sampler"], a["pruner"]) == ("TPESampler", "HyperbandPruner") and "differential" in a["algorithm_note"]


def test_weighted_options_and_dependencies_when_sampling():
    from tao_skill.automl.space import Param, condition_holds, sample

    class Fixed:
        def __init__(self, u):
            self.u = u

        def suggest_float(self, name, low, high, log=False):
            return self.u if name.endswith("#u") else low

        def suggest_int(self, name, low, high, log=False):
            return low

        def suggest_categorical(self, name, choices):
            return choices[0]

    params = [Param("o", "categorical", choices=["adam", "adamw"], weights=[1.0, 3.0]),
              Param("m", "float", 0.5, 0.99, depends_on=["o == 'sgd'"])]
    assert sample(Fixed(0.2), params, {"o": "x", "m": 0.9}) == {"o": "adam"}  # m: its condition does not hold
    assert sample(Fixed(0.3), params, {"o": "x", "m": 0.9}) == {"o": "adamw"}  # 0.3 > 1/4
    assert condition_holds("a.b in ['x', 'y']", {"a": {"b": "y"}})
    assert not condition_holds("a.b != 'y'", {"a": {"b": "y"}})


def test_packaged_nvpanoptix3d_plan_searches_the_schema_defaults(tao, tmp_path, monkeypatch):
    """The real skill: default parameters from schemas/train.schema.json, epochs/sample keys from skill_info."""
    monkeypatch.setenv("TAO_SKILL_WORKSPACE", str(tmp_path / "ws"))
    data = tmp_path / "front3d"
    (data / "meta").mkdir(parents=True)
    for name in ("frustum_mask.npz", "colormap.json", "train.json", "val.json"):
        (data / "meta" / name).write_text("{}")
    res = tao("run", "nvpanoptix3d", "train", "--dry-run", "--json", "--train-dataset", str(data),
              "--eval-dataset", str(data), "--epochs-per-trial", "1", "--train-sample-count", "4")
    assert res.code == 0, res.out
    a = res.doc["automl"]
    assert a["epochs_key"] == "train.num_epochs" and a["sample_count_key"] == "dataset.train.max_samples"
    keys = {p["key"] for p in a["search_space"]}
    assert "train.optim.lr" in keys
    schema = json.loads((Path(res.doc["skill_dir"]) / "schemas" / "train.schema.json").read_text())
    assert keys == set(schema["x-tao-automl-default-parameters"]) - set(a["fixed"])
    assert not keys & set(schema["x-tao-automl-disabled-parameters"])
    assert (a["metric"], a["direction"]) == ("PRQ", "maximize")


def test_a_trial_budget_that_never_reports_a_kpi_is_refused_at_plan_time(tao, tmp_path, monkeypatch):
    """--epochs-per-trial 1 with train.validation_interval 2: no trial would ever validate (skill_info.yaml
    automl.validation_interval_key names the interval)."""
    monkeypatch.setenv("TAO_SKILL_WORKSPACE", str(tmp_path / "ws"))
    data = tmp_path / "front3d"
    (data / "meta").mkdir(parents=True)
    for name in ("frustum_mask.npz", "colormap.json", "train.json", "val.json"):
        (data / "meta" / name).write_text("{}")
    args = ("run", "nvpanoptix3d", "train", "--dry-run", "--json", "--train-dataset", str(data), "--eval-dataset",
            str(data), "--automl-policy", "on", "--override", "train.validation_interval=2")
    res = tao(*args, "--epochs-per-trial", "1")
    assert res.code == 2, res.out
    err = next(e for e in res.doc["errors"] if e["key"] == "--epochs-per-trial")
    assert "never reports a KPI" in err["message"] and err["suggestion"] == "--epochs-per-trial 2"
    res = tao(*args, "--override", "train.num_epochs=1")  # the spec's own epochs are the trial budget
    assert res.code == 2 and any(e["key"] == "train.num_epochs" for e in res.doc["errors"]), res.out
    assert tao(*args, "--epochs-per-trial", "2").code == 0


def test_a_key_nvidia_types_optional_is_searched_as_its_own_type(tao, tmp_path, monkeypatch):
    """train.iters_per_epoch is ``Optional[int]`` in NVIDIA's config (schema type [integer, null]): still an
    integer for AutoML, searchable on request with --param (it is not in the disabled list)."""
    monkeypatch.setenv("TAO_SKILL_WORKSPACE", str(tmp_path / "ws"))
    data = tmp_path / "front3d"
    (data / "meta").mkdir(parents=True)
    for name in ("frustum_mask.npz", "colormap.json", "train.json", "val.json"):
        (data / "meta" / name).write_text("{}")
    res = tao("run", "nvpanoptix3d", "train", "--dry-run", "--json", "--train-dataset", str(data), "--eval-dataset",
              str(data), "--automl-policy", "on", "--param", "train.iters_per_epoch=10:100")
    assert res.code == 0, res.out
    (param,) = [p for p in res.doc["automl"]["search_space"] if p["key"] == "train.iters_per_epoch"]
    assert (param["kind"], param["low"], param["high"]) == ("int", 10, 100)
    schema = json.loads((Path(res.doc["skill_dir"]) / "schemas" / "train.schema.json").read_text())
    assert "train.iters_per_epoch" not in schema["x-tao-automl-disabled-parameters"]
