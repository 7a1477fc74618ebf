"""Studies end to end on the `hpotoy` fixture: KPI = f(lr, wd, optimizer), optimum lr = 1e-3, adamw."""

from __future__ import annotations

import json
import math
from pathlib import Path

import yaml

from .conftest import children, seen, train_args


def _study(tao, hpo, *flags: str, env: dict | None = None):
    res = tao(*train_args(hpo, *flags), env=env)
    assert res.doc is not None, res.out + res.err
    return res


def _history(res) -> dict:
    return json.loads(Path(res.doc["kpis"]["history"]).read_text())


def test_bayesian_finds_a_point_near_the_optimum(tao, hpo):
    res = _study(tao, hpo, "--max-trials", "16", "--seed", "3", "--override", "train.epochs=2")
    assert res.code == 0 and res.doc["status"] == "done", res.err
    hist = _history(res)
    best = hist["best"]
    assert abs(math.log10(best["values"]["train.lr"]) + 3) < 0.5, best
    assert best["value"] > 0.8 and hist["progress"]["complete"] == 16
    assert hist["baseline"]["number"] == 0 and hist["trials"][0]["values"]["train.lr"] == 0.01  # the user's spec
    assert hist["final"]["mode"] == "none"  # trials trained the full budget: the best trial is the result
    assert res.doc["kpis"]["best_checkpoint"].endswith(".pth")
    jobs = children(tao, res.doc["job_id"])
    assert len(jobs) == 16 and {j["route"] for j in jobs} == {"automl_trial"}


def test_asha_prunes_bad_trials_early(tao, hpo):
    res = _study(tao, hpo, "--algorithm", "asha", "--max-trials", "8", "--seed", "0", "--override", "train.epochs=4")
    assert res.code == 0, res.err
    hist = _history(res)
    pruned = [t for t in hist["trials"] if t["state"] == "pruned"]
    assert len(pruned) > 0 and hist["pruner"] == "SuccessiveHalvingPruner"
    states = {j["job_id"]: j["status"] for j in children(tao, res.doc["job_id"])}
    assert all(states[t["job_id"]] == "pruned" for t in pruned)
    assert all(len(t["intermediate"]) < 4 or t["reason"] for t in pruned)


def test_hyperband_prunes_with_epochs_per_trial(tao, hpo):
    res = _study(tao, hpo, "--algorithm", "hyperband", "--max-trials", "10", "--seed", "1",
                 "--epochs-per-trial", "4", "--final", "none")
    assert res.code == 0, res.err
    hist = _history(res)
    assert hist["progress"]["pruned"] > 0 and hist["sampler"] == "RandomSampler"
    for t in hist["trials"]:
        assert seen(hpo["ws"], t["job_id"])["train"]["epochs"] == 4


def test_cmaes_and_random_samplers_run_a_study(tao, hpo):
    for algorithm, sampler in (("cmaes", "CmaEsSampler"), ("random", "RandomSampler")):
        res = _study(tao, hpo, "--algorithm", algorithm, "--max-trials", "4", "--seed", "3", "--final", "none")
        assert res.code == 0, res.err
        hist = _history(res)
        assert hist["sampler"] == sampler and hist["progress"]["complete"] == 4


def test_disabled_never_sampled_overrides_never_change_budgets_applied(tao, hpo):
    env = {"TAO_SKILL_KEY": "s3cr3t-key-value"}
    res = _study(tao, hpo, "--max-trials", "5", "--seed", "2", "--override", "train.wd=0.002", "--param",
                 "train.warmup", "--param", "train.momentum", "--epochs-per-trial", "2", "--train-sample-count", "3",
                 env=env)
    assert res.code == 0, res.err
    hist = _history(res)
    assert hist["final"]["mode"] == "train" and hist["final"]["status"] == "done"
    for t in hist["trials"]:
        ran = seen(hpo["ws"], t["job_id"])
        assert ran["train"]["seed"] == 7  # disabled: never sampled
        assert ran["train"]["wd"] == 0.002  # fixed by the user
        assert ran["train"]["optimizer"] != "sgd" and ran["train"]["momentum"] == 0.9  # weight 0 / its dependency
        assert (ran["train"]["epochs"], ran["max_samples"]) == (2, 3)
        assert ran["key_present"] and ran["spec_key"] == "***"
        assert "train.seed" not in t["values"] and "train.wd" not in t["values"]
    final = seen(hpo["ws"], hist["final"]["job_id"])
    assert (final["train"]["epochs"], final["max_samples"]) == (4, -1)  # the full budget
    best_spec = yaml.safe_load(Path(hist["best_spec"]).read_text())
    assert best_spec["train"]["lr"] == hist["best"]["values"]["train.lr"] and best_spec["encryption_key"] == "***"
    for path in hpo["ws"].rglob("*"):  # the key never lands in the workspace
        if path.is_file():
            assert b"s3cr3t-key-value" not in path.read_bytes(), path


def test_a_crashing_trial_does_not_stop_the_study(tao, hpo):
    res = _study(tao, hpo, "--algorithm", "random", "--max-trials", "5", "--seed", "0",
                 "--param", "train.lr=0.001:0.02", "--override", "train.crash_above_lr=0.004")
    assert res.code == 0, res.err
    hist = _history(res)
    failed = [t for t in hist["trials"] if t["state"] == "failed"]
    assert failed and hist["progress"]["complete"] >= 1 and hist["progress"]["total"] == 5
    assert hist["trials"][0]["state"] == "failed"  # the baseline (lr 0.01) crashed too
    states = {j["job_id"]: j["status"] for j in children(tao, res.doc["job_id"])}
    assert all(states[t["job_id"]] == "failed" and "jobs logs" in t["error"] for t in failed)


def test_resume_continues_the_count_and_only_when_asked(tao, hpo):
    first = _study(tao, hpo, "--max-trials", "3", "--seed", "0", "--study-name", "s1")
    assert first.code == 0, first.err
    job = first.doc["job_id"]
    again = _study(tao, hpo, "--max-trials", "3", "--study-name", "s1", "--storage", first.doc["automl"]["storage"])
    assert again.code == 2 and "automl resume" in again.doc["errors"][0]["message"]
    res = tao("automl", "resume", job, "--max-trials", "5", "--json")
    assert res.code == 0, res.out + res.err
    assert [t["number"] for t in res.doc["trials"]] == [0, 1, 2, 3, 4]
    assert res.doc["progress"]["complete"] == 5 and res.doc["job_status"] == "done"
    ids = [j["job_id"] for j in children(tao, job)]
    assert ids == [f"{job}-t{i:03d}" for i in range(5)]
    status = tao("automl", "status", job, "--json")
    assert status.code == 0 and status.doc["progress"]["total"] == 5 and status.doc["files"]["automl_history.json"]


def test_status_and_resume_errors_are_json(tao, hpo):
    res = tao("automl", "status", "nope", "--json")
    assert res.code == 2 and res.doc["ok"] is False and res.doc["errors"][0]["key"] == "--study"
    res = tao("automl", "resume", "nope", "--json")
    assert res.code == 2 and "no job `nope`" in res.doc["errors"][0]["message"]


def test_plots_and_history_files(tao, hpo):
    info = hpo["skill"] / "references" / "skill_info.yaml"
    info.write_text(info.read_text().replace("plots: false", "plots: true"))
    res = _study(tao, hpo, "--max-trials", "4", "--seed", "0", "--override", "train.epochs=1")
    assert res.code == 0, res.err
    hist = _history(res)
    assert Path(hist["plots"]["optimization_history_png"]).stat().st_size > 1000
    assert "param_importances_png" in hist["plots"] or hist["plot_notes"]
    for key in ("study", "algorithm", "metric", "direction", "search_space", "progress", "baseline", "best", "trials",
                "final", "best_spec", "best_checkpoint"):
        assert key in hist


def test_automl_results_are_uploaded_to_an_s3_results_dir(tao, hpo, s3):
    client, bucket = s3
    res = _study(tao, hpo, "--max-trials", "2", "--seed", "4", "--final", "none",
                 "--results-dir", f"s3://{bucket}/automl/run1")
    assert res.code == 0, res.err
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="automl/run1/")["Contents"]}
    assert {"automl/run1/automl_history.json", "automl/run1/best_spec.yaml"} <= keys, keys
