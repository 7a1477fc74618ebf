"""One study shared by two processes through a real PostgreSQL server, across a 30 s database outage.

The server is the session's throwaway cluster (tests/automl/conftest.py::postgres, 127.0.0.1). The URL is
the documented ``postgresql://`` form (psycopg 3 from the ``postgres`` extra).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import optuna

from .conftest import children, spawn, train_args

OUTAGE_S = 30.0


def _wait_for(predicate, timeout: float, procs=()) -> None:
    end = time.time() + timeout
    while time.time() < end:
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(f"a process ended early: {p.communicate()[1][-3000:]}")
        try:
            if predicate():
                return
        except Exception:  # noqa: BLE001 - the study may not exist yet
            pass
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_two_workers_on_postgres_share_trials_and_survive_a_30s_outage(hpo, postgres, tao):
    url = postgres.url
    t0 = time.monotonic()
    main = spawn(*train_args(hpo, "--max-trials", "6", "--seed", "0", "--study-name", "pg", "--storage", url,
                             "--override", "train.sleep_s=0.4", "--override", "train.epochs=2"))
    _wait_for(lambda: "pg" in optuna.study.get_all_study_names(url), 60, [main])
    # the worker has its own workspace, as on another machine: its trials' job records live there
    worker = spawn("automl", "worker", "--study", "pg", "--storage", url, "--json",
                   env={"TAO_SKILL_WORKSPACE": str(hpo["tmp"] / "ws-worker")})

    def both_running() -> bool:
        trials = optuna.load_study(study_name="pg", storage=url).get_trials(deepcopy=False)
        return sum(t.state == optuna.trial.TrialState.RUNNING for t in trials) >= 2

    _wait_for(both_running, 60, [main, worker])
    postgres.stop()  # both processes have a trial running: heartbeats, reports and tells now fail
    down = time.monotonic()
    time.sleep(OUTAGE_S)
    postgres.start()
    outage = time.monotonic() - down
    out_main, err_main = main.communicate(timeout=240)
    out_worker, err_worker = worker.communicate(timeout=240)
    assert main.returncode == 0, err_main[-3000:]
    assert worker.returncode == 0, err_worker[-3000:]
    assert "unreachable" in err_main + err_worker  # someone noticed the outage and waited it out
    doc, wdoc = json.loads(out_main), json.loads(out_worker)
    trials = optuna.load_study(study_name="pg", storage=url).get_trials()
    counted = [t for t in trials if not t.user_attrs.get("skipped")]
    job_ids = [t.user_attrs.get("job_id") for t in counted]
    assert [t.state.name for t in counted] == ["COMPLETE"] * 6, [(t.number, t.state.name) for t in trials]
    assert len(job_ids) == len(set(job_ids)) == 6  # no duplicate, no lost trial
    assert wdoc["trials_run_here"] and len(wdoc["trials_run_here"]) < 6
    assert doc["kpis"]["progress"]["complete"] == 6
    # every process's trial is a child job of the AutoML job (one workspace here)
    kids = children(tao, doc["job_id"])  # the worker's trials too (adopted from the study)
    assert {k["job_id"] for k in kids} == set(job_ids)
    theirs = {t["job_id"] for t in wdoc["trials_run_here"]}
    assert all(k["status"] == "done" for k in kids) and theirs < {k["job_id"] for k in kids}
    results = Path(doc["job"]["results_dir"])  # trial results live under the study's results location
    assert all(Path(k["results_dir"]) == results / "trials" / k["job_id"] for k in kids)
    print(f"postgres study: 6 trials, 2 processes, outage {outage:.1f} s, wall {time.monotonic() - t0:.1f} s")


def test_worker_follows_the_run_secret_rules(hpo, postgres):
    """A password in a --storage URL is refused as `run` refuses it; a failing env:VAR URL is never echoed."""
    res = spawn("automl", "worker", "--study", "x", "--storage", "postgresql://tao:s3cret-pw@127.0.0.1:1/studies",
                "--json")
    out, err = res.communicate(timeout=60)
    assert res.returncode == 2, err
    assert "s3cret-pw" not in out + err and "env:" in json.loads(out)["errors"][0]["message"]
    env = {"PG_URL": "postgresql://tao:s3cret-pw@127.0.0.1:1/studies", "TAO_SKILL_AUTOML_DB_RETRY_S": "1"}
    res = spawn("automl", "worker", "--study", "x", "--storage", "env:PG_URL", "--json", env=env)
    out, err = res.communicate(timeout=60)
    assert res.returncode == 2, err
    assert "s3cret-pw" not in out + err and "cannot open the study storage" in out
