"""`tao-skill run ... --detach`: record the job, hand it to a background runner, return its id at once.

Why a second runner process rather than a fork: the background runner is an ordinary ``tao-skill``
process (same code path as a foreground run, heartbeat and guard included) in its own session, so it
outlives the shell or agent that started it. It re-resolves the same request under the recorded job
id (the request holds no secret; the key is inherited through the environment variable ``--key-env``
names). Its own output goes to ``jobs/<id>/runner.log``; the job's log stays ``log.txt``.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tao_skill.errors import EXIT_JOB_FAILED, RunnerError
from tao_skill.jobs import atomic_write, this_host
from tao_skill.plan import Prepared, RunRequest, prepare

REQUEST_FILE = "request.json"
RUNNER_LOG = "runner.log"
_PATH_FIELDS = ("spec_file", "workspace", "skill_dir")


def request_to_json(req: RunRequest) -> str:
    data = dataclasses.asdict(req)
    for key in _PATH_FIELDS:
        if data.get(key) is not None:
            data[key] = str(Path(data[key]).resolve())
    return json.dumps(data, indent=2)


def request_from_json(text: str) -> RunRequest:
    data = json.loads(text)
    for key in _PATH_FIELDS:
        if data.get(key) is not None:
            data[key] = Path(data[key])
    return RunRequest(**data)


def detach(prep: Prepared, req: RunRequest) -> dict[str, Any]:
    """Record ``prep``'s job as pending and start its background runner; return the job's record."""
    from tao_skill.launch import record  # noqa: PLC0415

    job = record(prep)
    job_dir = Path(job.job_dir)
    req = dataclasses.replace(req, job_id=job.id)
    atomic_write(job_dir / REQUEST_FILE, request_to_json(req))
    with open(job_dir / RUNNER_LOG, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "tao_skill.detach", str(job_dir / REQUEST_FILE)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=os.getcwd(),
                                start_new_session=True, close_fds=True)
    prep.store.update(job.id, runner_pid=proc.pid, host=this_host(), heartbeat=time.time())
    prep.store.add_detail(job.id, detached=True)
    rec = prep.store.get(job.id).as_dict()
    rec["runner_log"] = str(job_dir / RUNNER_LOG)
    return rec


def run_request(req: RunRequest) -> int:
    """The background runner: resolve the request again under its job id, route it, settle the job."""
    from tao_skill.routes import run_prepared  # noqa: PLC0415

    try:
        prep = prepare(req)
    except RunnerError as exc:  # the world changed since `run --detach` checked it: fail, never stay pending
        _settle_failed(req, str(exc), exc.code)
        print(f"error: {exc}", flush=True)
        return exc.code
    try:
        record = run_prepared(prep, out=io.StringIO())
    except RunnerError as exc:
        _settle_failed(req, str(exc), exc.code)
        print(f"error: {exc}", flush=True)
        return exc.code
    except Exception as exc:  # noqa: BLE001 - record why, then report as a failed job
        _settle_failed(req, f"internal error: {type(exc).__name__}: {exc}", EXIT_JOB_FAILED)
        raise
    print(json.dumps({"job_id": record["job_id"], "status": record["status"],
                      "runner_exit_code": record["runner_exit_code"]}), flush=True)
    return int(record["runner_exit_code"])


def _settle_failed(req: RunRequest, reason: str, code: int) -> None:
    from tao_skill.jobs import JobStore  # noqa: PLC0415

    store = JobStore(req.workspace or Path.cwd() / "tao-workspace")
    if not req.job_id or not store.exists(req.job_id):
        return
    job = store.get(req.job_id)
    if job.status in ("pending", "running"):
        store.update(req.job_id, status="failed", finished=time.time(), exit_code=code)
    store.add_detail(req.job_id, reason=job.detail.get("reason") if job.detail and job.detail.get("reason")
                     else reason, runner_exit_code=code)


def main(argv: list[str]) -> int:
    req = request_from_json(Path(argv[0]).read_text())
    return run_request(req)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
