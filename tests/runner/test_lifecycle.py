"""Job lifecycle on the toy skill: detached runs, `jobs wait`/`logs --follow`, the training dying with its
runner (kill -9 -> no process left, job `lost`), failed uploads (exit 3), no job left `pending`, cancel of a
finished job, and what `jobs show` says."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.runner.conftest import toy_args

CLI = [sys.executable, "-c", "import sys; from tao_skill.cli import main; sys.exit(main())"]


def _gone(pid: int | None) -> bool:
    from tao_skill.jobs import pid_alive

    return not pid_alive(pid)


def _until(pred, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_detach_returns_at_once_and_wait_gives_the_result(tao, toy):
    start = time.monotonic()
    res = tao(*toy_args(toy, "train", "--override", "train.sleep_s=0.5", "--detach"))
    assert res.code == 0, res.out
    assert time.monotonic() - start < 5  # the training runs on in the background
    doc = res.doc
    assert doc["ok"] is True and doc["detached"] is True and doc["status"] in ("pending", "running")
    job_id = doc["job_id"]
    waited = tao("jobs", "wait", job_id, "--json")
    assert waited.code == 0, waited.out
    assert waited.doc["status"] == "done" and waited.doc["best"] and waited.doc["checkpoints"]
    assert waited.doc["timings"]["duration_s"] >= 0.5
    log = tao("jobs", "logs", job_id, "--json").doc["log"]
    assert log  # the entrypoint's output reached the job's log


def test_logs_follow_streams_until_the_job_ends(tao, toy):
    job_id = tao(*toy_args(toy, "train", "--override", "train.sleep_s=0.5", "--detach")).doc["job_id"]
    followed = tao("jobs", "logs", job_id, "--follow", "--json")
    assert followed.code == 0 and followed.doc["status"] == "done"
    assert followed.doc["log"] == tao("jobs", "logs", job_id, "--json").doc["log"]
    assert followed.err.strip()  # the lines streamed (to stderr in --json mode) while it ran


def test_wait_timeout_is_exit_124_and_the_job_runs_on(tao, toy):
    job_id = tao(*toy_args(toy, "train", "--override", "train.sleep_s=30", "--detach")).doc["job_id"]
    res = tao("jobs", "wait", job_id, "--timeout", "0.5", "--json")
    assert res.code == 124 and res.doc["timed_out"] is True and res.doc["status"] in ("pending", "running")
    canceled = tao("jobs", "cancel", job_id, "--json")
    assert canceled.code == 0 and canceled.doc["status"] == "canceled"
    waited = tao("jobs", "wait", job_id, "--json")
    assert waited.code == 130 and waited.doc["status"] == "canceled" and not waited.doc["best"]
    assert waited.doc["reason"] == "the job was canceled before it reported a KPI"


def test_kill_9_of_the_runner_leaves_no_training_and_the_job_lost(tao, toy):
    argv = [*CLI, *toy_args(toy, "train", "--override", "train.sleep_s=60")]
    runner = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "TAO_SKILL_WORKSPACE": str(toy["ws"])})
    try:
        job = _until(lambda: next((j for j in tao("jobs", "list", "--json").doc["jobs"]
                                   if j["status"] == "running" and j["pid"]), None), what="a running job")
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(timeout=10)
        _until(lambda: _gone(job["pid"]), timeout=20, what="the training to die with its runner")
    finally:
        if runner.poll() is None:
            runner.kill()
    shown = tao("jobs", "show", job["job_id"], "--json").doc
    assert shown["status"] == "lost" and "runner" in shown["reason"]
    assert shown["processes"]["alive"] is False


def test_failed_upload_is_exit_3_with_local_results_named(tao, toy, s3):
    """The bucket exists when the plan is checked and is gone when the results are uploaded (moto server)."""
    import threading

    client, bucket = s3

    def drop_bucket_once_running() -> None:
        from tao_skill.jobs import JobStore

        _until(lambda: any(j.status == "running" for j in JobStore(toy["ws"]).list()), what="the job to run")
        client.delete_bucket(Bucket=bucket)

    dropper = threading.Thread(target=drop_bucket_once_running, daemon=True)
    dropper.start()
    res = tao(*toy_args(toy, "train", "--override", "train.sleep_s=0.5", "--results-dir", f"s3://{bucket}/run1"))
    dropper.join(timeout=5)
    assert res.code == 3, res.out
    assert res.doc["ok"] is False and res.doc["status"] == "done"
    local = res.doc["job"]["results_dir"]
    assert local in res.doc["errors"][0]["message"] and os.path.isdir(local)
    shown = tao("jobs", "show", res.doc["job_id"], "--json").doc
    assert shown["upload"]["error"] and shown["upload"]["local_results"] == local


def test_results_dir_that_is_a_file_fails_the_job_not_pending(tao, toy):
    blocker = toy["tmp"] / "afile"
    blocker.write_text("x")
    res = tao(*toy_args(toy, "train", "--results-dir", str(blocker)))
    assert res.code == 2, res.out
    assert "results" in res.doc["errors"][0]["message"]
    jobs = tao("jobs", "list", "--json").doc["jobs"]
    assert [j["status"] for j in jobs] in ([], ["failed"])


def test_cancel_of_a_finished_job_says_so_and_changes_nothing(tao, toy):
    job_id = tao(*toy_args(toy, "train")).doc["job_id"]
    before = tao("jobs", "show", job_id, "--json").doc
    res = tao("jobs", "cancel", job_id, "--json")
    assert res.code == 2 and res.doc["ok"] is False and res.doc["changed"] is False
    assert "already finished (done)" in res.doc["errors"][0]["message"]
    after = tao("jobs", "show", job_id, "--json").doc
    assert (after["status"], after["timings"]) == (before["status"], before["timings"])


def test_a_dead_runner_of_a_pending_job_is_lost_not_pending(tao, toy):
    from tao_skill.jobs import JobStore

    job_id = tao(*toy_args(toy, "train", "--dry-run")).doc["job_id"]
    store = JobStore(toy["ws"])
    store.create(job_id=job_id, parent_id=None, network="toyseg", action="train", route="direct",
                 results_dir=toy["tmp"] / "r", results_uri=None, plan={})
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store.update(job_id, runner_pid=dead.pid, host=__import__("socket").gethostname())
    assert store.get(job_id).status == "lost"
    assert json.loads(json.dumps(tao("jobs", "list", "--json").doc))["jobs"][0]["status"] == "lost"


@pytest.mark.parametrize("flag", ["--json"])
def test_detach_with_invalid_input_fails_in_the_foreground(tao, toy, flag):
    res = tao(*toy_args(toy, "train", "--override", "no.such.key=1", "--detach"))
    assert res.code == 2 and res.doc["ok"] is False
    assert tao("jobs", "list", "--json").doc["jobs"] == []


def test_resume_is_refused_while_running_and_continues_after_kill_9_of_the_training(tao, toy):
    job_id = tao(*toy_args(toy, "train", "--override", "train.sleep_s=2", "--detach")).doc["job_id"]
    from tao_skill.jobs import JobStore

    store = JobStore(toy["ws"])
    job = _until(lambda: (lambda j: j if j.pid and j.status == "running" else None)(store.get(job_id)),
                 what="the training to start")
    refused = tao("run", "toyseg", "train", "--skill-dir", str(toy["skill"]), "--resume", job_id, "--json")
    assert refused.code == 2 and "still running" in refused.doc["errors"][0]["message"]
    _until(lambda: list((toy["ws"] / "jobs" / job_id / "results").glob("model_epoch_*.pth")), what="a checkpoint")
    os.kill(job.pid, signal.SIGKILL)
    assert tao("jobs", "wait", job_id, "--json").doc["status"] == "failed"
    again = tao("run", "toyseg", "train", "--skill-dir", str(toy["skill"]), "--resume", job_id,
                "--override", "train.sleep_s=0", "--json")  # no dataset flags: they come from the job
    assert again.code == 0, again.out
    assert again.doc["route"] == "direct" and again.doc["job"]["results_dir"] == job.results_dir
    assert "resuming from model_epoch_" in again.err


def test_a_job_of_another_host_is_lost_once_its_heartbeat_is_stale(tao, toy):
    from tao_skill.jobs import LOST_AFTER_S, JobStore

    store = JobStore(toy["ws"])
    store.create(job_id="train-remote", parent_id=None, network="toyseg", action="train", route="direct",
                 results_dir=toy["tmp"] / "r", results_uri=None, plan={})
    now = time.time()
    store.update("train-remote", status="running", runner_pid=1, host="another-machine", heartbeat=now)
    assert store.get("train-remote").status == "running"  # fresh heartbeat: still live
    store.update("train-remote", heartbeat=now - LOST_AFTER_S - 5)
    job = store.get("train-remote")
    assert job.status == "lost" and "no heartbeat" in job.detail["reason"]
