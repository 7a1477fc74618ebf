"""Real jobs of the toy skill through the same code as any skill: the SQLite store, logs, KPIs,
parent chains, failures (exit 4), cancel and Ctrl-C (exit 130), and secrets that never leave the process."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest


def test_train_end_to_end_records_the_job(toy_run, tao):
    res = toy_run("train", "--override", "lr=2e-2")
    assert res.code == 0, res.err
    job = res.doc["job"]
    assert res.doc["ok"] is True and res.doc["status"] == "done" and job["exit_code"] == 0
    results = Path(job["results_dir"])
    assert sorted(p.name for p in results.glob("model_epoch_*.pth")) == [
        "model_epoch_000_step_00010.pth", "model_epoch_001_step_00020.pth", "model_epoch_002_step_00030.pth"]
    assert job["kpis"]["best"] == {"metric": "ACC", "value": 0.9, "epoch": 1, "step": 20}
    assert job["kpis"]["last"] == {"ACC": 0.52}
    job_dir = Path(job["job_dir"])
    assert {p.name for p in job_dir.iterdir()} == {"spec.yaml", "plan.json", "log.txt", "results"}
    assert "toy train: epoch 2 ACC 0.52" in (job_dir / "log.txt").read_text()
    assert "toy train: epoch 2" in res.err  # streamed to stderr in JSON mode; stdout holds one document
    assert json.loads((job_dir / "plan.json").read_text())["job_id"] == job["job_id"]
    shown = tao("jobs", "show", job["job_id"], "--json").doc
    assert shown["status"] == "done" and shown["spec"]["train"]["lr"] == 0.02 and shown["kpis"]["best"]["value"] == 0.9
    assert shown["log"] == str(job_dir / "log.txt") and shown["plan"]["route"] == "direct"
    logs = tao("jobs", "logs", job["job_id"], "--tail", "1", "--json").doc
    assert logs["log"].strip() == "toy train: epoch 2 ACC 0.52"
    listing = tao("jobs", "list")
    assert job["job_id"] in listing.out and "done" in listing.out


def test_human_run_streams_to_stdout(tao, toy):
    res = tao("run", "toyseg", "train", "--skill-dir", str(toy["skill"]), "--train-dataset", str(toy["data"]),
              "--eval-dataset", str(toy["data"]), "--request", "plain training")
    assert res.code == 0, res.err
    assert "route direct" in res.out and "toy train: epoch 0" in res.out and " done (exit 0)" in res.out


def test_chain_train_evaluate_inference_export_deploy(toy_run, tao):
    train = toy_run("train").doc["job"]
    ev = toy_run("evaluate", "--parent-job", train["job_id"])
    assert ev.code == 0, ev.err
    assert ev.doc["job"]["parent_id"] == train["job_id"] and ev.doc["kpis"]["last"] == {"ACC": 0.42}
    assert "with epoch 1" in ev.err  # the best checkpoint (epoch 1), not the latest
    inf = toy_run("inference", "--parent-job", train["job_id"])
    assert inf.code == 0, inf.err
    assert json.loads((Path(inf.doc["job"]["results_dir"]) / "predictions.json").read_text()) == {"a.png": "toy"}
    exp = toy_run("export", "--parent-job", train["job_id"])
    assert exp.code == 0, exp.err
    assert (Path(exp.doc["job"]["results_dir"]) / "model_2d.onnx").is_file()
    dep = toy_run("deploy", "--parent-job", exp.doc["job_id"])
    assert dep.code == 0, dep.err
    assert (Path(dep.doc["job"]["results_dir"]) / "engines" / "model.engine").is_file()
    children = tao("jobs", "list", "--parent", train["job_id"], "--json").doc["jobs"]
    assert {j["action"] for j in children} == {"evaluate", "inference", "export"}


def test_resume_continues_in_the_same_results_dir(toy_run):
    first = toy_run("train", "--override", "train.fail=true")
    assert first.code == 4
    # --resume continues with the job's recorded spec; the injected failure is switched off explicitly
    again = toy_run("train", "--resume", first.doc["job_id"], "--override", "train.fail=false")
    assert again.code == 0, again.err
    assert "resuming from model_epoch_000_step_00010.pth at epoch 1" in again.err
    assert again.doc["job"]["results_dir"] == first.doc["job"]["results_dir"]
    assert again.doc["job"]["parent_id"] == first.doc["job_id"]


def test_failing_entrypoint_gives_exit_4_and_a_failed_job(toy_run, tao):
    res = toy_run("train", "--override", "train.fail=true")
    assert res.code == 4
    assert res.doc["ok"] is False and res.doc["status"] == "failed" and res.doc["job"]["exit_code"] == 3
    assert "toy failure requested" in tao("jobs", "logs", res.doc["job_id"], "--json").doc["log"]
    human = tao("run", "toyseg", "train", "--skill-dir", res.doc["skill_dir"],
                "--train-dataset", res.doc["spec"]["dataset"]["train"]["root"], "--eval-dataset",
                res.doc["spec"]["dataset"]["val"]["root"], "--automl-policy", "off", "--override", "train.fail=true")
    assert human.code == 4 and "failed (exit 3)" in human.out


def test_an_entrypoint_that_cannot_start_fails_the_job(toy_run, toy, tao):
    info = toy["skill"] / "references" / "skill_info.yaml"
    info.write_text(info.read_text().replace('command: [python, "{skill_dir}/toy_entry.py", train',
                                             'command: [/nonexistent/interpreter, "{skill_dir}/toy_entry.py", train'))
    res = toy_run("train")
    assert res.code == 4 and "cannot start the entrypoint" in res.doc["errors"][0]["message"]
    assert tao("jobs", "list", "--json").doc["jobs"][0]["status"] == "failed"


def test_multi_gpu_environment_passes_through(toy_run):
    env = {"WORLD_SIZE": "2", "NODE_RANK": "1", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29500",
           "NUM_GPU_PER_NODE": "8"}
    res = toy_run("train", env=env)
    assert res.code == 0 and "world 2 rank 1 master 10.0.0.1:29500" in res.err
    assert res.doc["env_passthrough"] == env


def _all_bytes(root: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in root.rglob("*") if p.is_file()]


def test_secrets_never_reach_stdout_logs_plan_spec_or_the_store(toy_run, toy):
    secret = "Sup3r-S3cret-Key-0451"
    res = toy_run("train", "--override", "train.echo_key=true", env={"TAO_SKILL_KEY": secret})
    assert res.code == 0, res.err
    assert "key present; spec field '***'" in res.err  # the child got it through the environment
    assert "the key is ***" in res.err  # and even its own echo is scrubbed
    explicit = toy_run("train", "--override", f"encryption_key={secret}", "--override", "train.echo_key=true")
    assert explicit.code == 0
    dry = toy_run("train", "--dry-run", env={"TAO_SKILL_KEY": secret})
    for out in (res, explicit, dry):
        assert secret not in out.out and secret not in out.err
    job_dir = Path(res.doc["job_dir"])
    assert "encryption_key: '***'" in (job_dir / "spec.yaml").read_text()
    assert json.loads((job_dir / "plan.json").read_text())["spec"]["encryption_key"] == "***"
    files = _all_bytes(toy["ws"])
    assert any(p.name == "jobs.sqlite" for p, _ in files) and any(p.name == "log.txt" for p, _ in files)
    for path, data in files:  # jobs.sqlite (and its WAL), log.txt, plan.json, spec.yaml, results
        assert secret.encode() not in data, path
    with sqlite3.connect(toy["ws"] / "jobs.sqlite") as db:
        assert all(secret not in str(row) for row in db.execute("SELECT * FROM jobs"))


def test_a_numeric_key_in_a_spec_file_is_still_a_secret(toy_run, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("encryption_key: 987654321\n")
    res = toy_run("train", "--spec", str(spec))
    assert res.code == 0, res.err
    assert "key present; spec field '***'" in res.err and "987654321" not in res.out + res.err


def _start_runner(toy: dict, *extra: str) -> subprocess.Popen:
    argv = [sys.executable, "-c", "import sys; from tao_skill.cli import main; sys.exit(main())", "run", "toyseg",
            "train", "--skill-dir", str(toy["skill"]), "--train-dataset", str(toy["data"]), "--eval-dataset",
            str(toy["data"]), "--automl-policy", "off", "--override", "train.sleep_s=30", "--json", *extra]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_running(tao, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = tao("jobs", "list", "--json").doc["jobs"]
        if jobs and jobs[0]["status"] == "running" and jobs[0]["pid"]:
            return jobs[0]
        time.sleep(0.1)
    raise AssertionError("the job never started")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_ctrl_c_stops_the_child_and_cancels_the_job(toy, tao):
    runner = _start_runner(toy)
    try:
        job = _wait_running(tao)
        runner.send_signal(signal.SIGINT)
        out, err = runner.communicate(timeout=30)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 130, err
    assert json.loads(out)["status"] == "canceled"
    assert tao("jobs", "show", job["job_id"], "--json").doc["status"] == "canceled"
    assert _gone(job["pid"])


def test_jobs_cancel_from_another_shell(toy, tao):
    runner = _start_runner(toy)
    try:
        job = _wait_running(tao)
        res = tao("jobs", "cancel", job["job_id"], "--json")
        assert res.doc == {"ok": True, "job_id": job["job_id"], "status": "canceled", "signalled": True}
        out, err = runner.communicate(timeout=30)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 130, err
    assert tao("jobs", "show", job["job_id"], "--json").doc["status"] == "canceled"
    again = tao("jobs", "cancel", job["job_id"], "--json").doc
    assert again["status"] == "canceled" and again["signalled"] is False


def test_finished_jobs_are_not_canceled(toy_run, tao):
    job_id = toy_run("train").doc["job_id"]
    assert tao("jobs", "cancel", job_id, "--json").doc["status"] == "done"


def test_unknown_job_is_exit_2(tao):
    res = tao("jobs", "show", "train-missing", "--json")
    assert res.code == 2 and "no job `train-missing`" in res.doc["errors"][0]["message"]


@pytest.mark.parametrize("action", ["train"])
def test_the_installed_script_runs_the_toy_skill(script, toy, action):
    res = script("run", "toyseg", action, "--skill-dir", str(toy["skill"]), "--train-dataset", str(toy["data"]),
                 "--eval-dataset", str(toy["data"]), "--automl-policy", "off", "--json")
    assert res.code == 0, res.err
    assert res.doc["status"] == "done" and res.doc["kpis"]["best"]["value"] == 0.9


def test_library_api_prepare_then_execute(toy):
    import io

    from tao_skill.launch import execute
    from tao_skill.plan import RunRequest, prepare

    req = RunRequest(network="toyseg", action="train", skill_dir=toy["skill"], workspace=toy["ws"],
                     train_dataset=str(toy["data"]), eval_dataset=str(toy["data"]), automl_policy="off",
                     overrides=["epochs=2"])
    prep = prepare(req)
    assert prep.plan["route"] == "direct" and prep.spec["train"]["epochs"] == 2
    assert prep.plan["command"][1] == str(toy["skill"].resolve() / "toy_entry.py")
    out = io.StringIO()
    record = execute(prep, out=out)
    assert record["status"] == "done" and record["runner_exit_code"] == 0
    assert "toy train: epoch 1 ACC 0.90" in out.getvalue()
