"""Several processes on one SQLite study, a dead process's trial, and the default train route."""

from __future__ import annotations

import json
import os
import signal
import time

import optuna

from .conftest import children, spawn, train_args


def _wait_for(predicate, timeout: float = 60.0, proc=None) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process ended early: {proc.communicate()[1][-2000:]}")
        try:
            if predicate():
                return
        except Exception:  # noqa: BLE001 - the database may not exist yet
            pass
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_two_workers_run_trials_in_parallel_without_duplicates(hpo):
    storage = f"sqlite:///{hpo['ws'] / 'automl' / 'shared.db'}"
    main = spawn(*train_args(hpo, "--max-trials", "8", "--seed", "0", "--study-name", "shared", "--storage", storage,
                             "--override", "train.sleep_s=0.15", "--override", "train.epochs=2"))
    _wait_for(lambda: "shared" in optuna.study.get_all_study_names(storage))
    worker = spawn("automl", "worker", "--study", "shared", "--storage", storage, "--json")
    out_main, err_main = main.communicate(timeout=180)
    out_worker, err_worker = worker.communicate(timeout=180)
    assert main.returncode == 0, err_main
    assert worker.returncode == 0, err_worker
    doc, wdoc = json.loads(out_main), json.loads(out_worker)
    assert wdoc["trials_run_here"], err_worker
    trials = optuna.load_study(study_name="shared", storage=storage).get_trials()
    numbers = [t.number for t in trials]
    job_ids = [t.user_attrs.get("job_id") for t in trials if not t.user_attrs.get("skipped")]
    assert len(numbers) == len(set(numbers)) and len(job_ids) == len(set(job_ids)) == 8
    mine = {t["number"] for t in wdoc["trials_run_here"]}
    theirs = [t for t in trials if t.number not in mine and not t.user_attrs.get("skipped")]
    ours = [t for t in trials if t.number in mine]
    assert any(a.datetime_start < b.datetime_complete and b.datetime_start < a.datetime_complete
               for a in ours for b in theirs), "no two trials overlapped in time"
    assert doc["kpis"]["progress"]["total"] == 8


def test_a_dead_process_trial_is_failed_and_resume_goes_on(hpo):
    env = {"TAO_SKILL_AUTOML_HEARTBEAT_S": "1", "TAO_SKILL_AUTOML_GRACE_S": "2"}
    storage = f"sqlite:///{hpo['ws'] / 'automl' / 'dead.db'}"
    main = spawn(*train_args(hpo, "--max-trials", "3", "--seed", "0", "--study-name", "dead", "--storage", storage,
                             "--override", "train.sleep_s=0.5", "--override", "train.epochs=4"), env=env)
    from tao_skill.jobs import JobStore

    store = JobStore(hpo["ws"])
    _wait_for(lambda: any(j.status == "running" and j.parent_id for j in store.list()), proc=main)
    os.killpg(main.pid, signal.SIGKILL)  # the AutoML process dies; its trial's heartbeat stops
    main.communicate()
    parent = [j for j in store.list() if j.route == "automl"][0]
    for child in store.list(parent.id):
        if child.pid:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    time.sleep(3.0)  # past the grace period
    res = spawn("automl", "resume", parent.id, "--json", env=env)
    out, err = res.communicate(timeout=120)
    assert res.returncode == 0, err
    doc = json.loads(out)
    states = [t["state"] for t in doc["trials"]]
    # trial 0 lost its heartbeat: failed, and Optuna's retry callback ran its parameters again as trial 1,
    # so the budget of 3 trials still gets 3 results (no lost trial)
    assert states[0] == "failed" and [t["number"] for t in doc["trials"]] == [0, 1, 2, 3]
    assert doc["progress"]["complete"] == 3
    retry = optuna.load_study(study_name="dead", storage=storage).trials[1]
    assert retry.system_attrs.get("failed_trial") == 0 and retry.user_attrs["role"] == "baseline"
    assert store.get(f"{parent.id}-t000").status in ("failed", "lost")  # its runner died with the study


def test_default_policy_routes_train_to_automl_with_child_jobs(tao, hpo):
    res = tao(*train_args(hpo, "--max-trials", "2", "--override", "train.epochs=1"))
    assert res.code == 0 and res.doc["route"] == "automl" and res.doc["automl_policy"] == "auto", res.err
    jobs = children(tao, res.doc["job_id"])
    assert [j["job_id"] for j in jobs] == [f"{res.doc['job_id']}-t000", f"{res.doc['job_id']}-t001"]
    listed = tao("jobs", "list", "--json").doc["jobs"]
    assert {j["parent_id"] for j in listed if j["job_id"] != res.doc["job_id"]} == {res.doc["job_id"]}
    assert res.doc["job"]["status"] == "done" and res.doc["kpis"]["best"]["metric"] == "KPI"
