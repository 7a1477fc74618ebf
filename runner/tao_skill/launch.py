"""Run a prepared job: record it, stage its data, launch the entrypoint, stream its log, collect KPIs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, TextIO

import yaml

from tao_skill.artifacts import kpi_summary, read_status
from tao_skill.datasets import is_remote
from tao_skill.errors import EXIT_INTERRUPTED, EXIT_JOB_FAILED, EXIT_OK, EXIT_STAGING, ErrorItem, RunnerError
from tao_skill.jobs import atomic_write
from tao_skill.plan import Prepared
from tao_skill.spec import get_dotted, redact, secret_keys, set_dotted

PASSTHROUGH_ENV = ("WORLD_SIZE", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT", "NUM_GPU_PER_NODE")


def _stage(prep: Prepared) -> dict[str, Any]:
    """Local paths for every data-source value; remote ones go through tao_skill.staging."""
    skill, action, spec = prep.skill, prep.plan["action"], prep.spec
    inputs = skill.info["actions"][action].get("inputs", {})
    values = {k: get_dotted(spec, k) for k in inputs if get_dotted(spec, k)}
    try:
        from tao_skill.staging import StagingError, stage_data_sources  # noqa: PLC0415
    except ImportError:
        remote = [k for k, v in values.items() if is_remote(str(v))]
        if remote:
            raise RunnerError(ErrorItem(remote[0], "remote data sources need tao_skill.staging, which is not installed"),
                              EXIT_STAGING) from None
        return spec
    try:
        local = stage_data_sources(values, inputs, prep.store.workspace / "cache", progress=sys.stderr.isatty())
    except StagingError as exc:
        raise RunnerError(ErrorItem(None, str(exc), got=getattr(exc, "uri", None)), EXIT_STAGING) from None
    for key, path in local.items():
        set_dotted(spec, key, path)
    return spec


def _kpis(prep: Prepared) -> dict[str, Any] | None:
    arts = prep.skill.info.get("artifacts", {})
    mon = prep.skill.info.get("monitoring", {})
    return kpi_summary(read_status(prep.results_dir, arts.get("status_file", "status.json")),
                       mon.get("metric", ""), mon.get("direction", "maximize"))


def _upload(prep: Prepared) -> dict[str, Any] | None:
    if not prep.results_uri:
        return None
    from tao_skill.staging import upload_results  # noqa: PLC0415

    excludes = prep.skill.info["actions"][prep.plan["action"]].get("upload_excludes", [])
    return upload_results(prep.results_dir, prep.results_uri, excludes)


def execute(prep: Prepared, *, out: TextIO, parent_id: str | None = None,
            on_start: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the job to completion; returns the job record as a dict (status, exit_code, kpis, paths)."""
    plan, store = prep.plan, prep.store
    job_id = plan["job_id"]
    job = store.create(job_id=job_id, parent_id=parent_id or plan.get("parent_job"), network=plan["network"],
                       action=plan["action"], route=plan["route"], results_dir=prep.results_dir,
                       results_uri=prep.results_uri, plan=plan)
    job_dir = Path(job.job_dir)
    atomic_write(job_dir / "plan.json", json.dumps(plan, indent=2) + "\n")
    if on_start:
        on_start(job_id)
    prep.results_dir.mkdir(parents=True, exist_ok=True)
    log_path = job_dir / "log.txt"
    try:
        spec = _stage(prep)
    except RunnerError:
        store.update(job_id, status="failed", finished=time.time(), exit_code=EXIT_STAGING)
        raise
    schema_secrets = secret_keys(prep.skill.load_schema(plan["action"]))
    atomic_write(job_dir / "spec.yaml", yaml.safe_dump(redact(spec, schema_secrets), sort_keys=False))
    env = dict(os.environ)
    env.update(prep.secret_env)
    env["TAO_SKILL_JOB_ID"] = job_id
    env["PYTHONUNBUFFERED"] = "1"
    status, code = "failed", EXIT_JOB_FAILED
    store.update(job_id, status="running", started=time.time())
    with open(log_path, "a", encoding="utf-8") as log:
        try:
            proc = subprocess.Popen(plan["command"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                    text=True, bufsize=1, cwd=str(job_dir), start_new_session=True)
        except OSError as exc:
            log.write(f"cannot start {plan['command'][0]}: {exc}\n")
            store.update(job_id, status="failed", finished=time.time(), exit_code=EXIT_JOB_FAILED)
            raise RunnerError(f"cannot start the entrypoint {plan['command'][0]}: {exc.strerror}", EXIT_JOB_FAILED) from None
        store.update(job_id, pid=proc.pid)
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                out.write(line)
                out.flush()
            rc = proc.wait()
            status, code = ("done", EXIT_OK) if rc == 0 else ("failed", EXIT_JOB_FAILED)
        except KeyboardInterrupt:
            try:
                os.killpg(proc.pid, signal.SIGINT)
                proc.wait(timeout=20)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                proc.kill()
                proc.wait()
            log.write("interrupted: job canceled\n")
            status, code, rc = "canceled", EXIT_INTERRUPTED, None
    kpis = _kpis(prep)
    store.update(job_id, status=status, finished=time.time(), exit_code=code if rc is None else rc, kpis=kpis)
    upload = None
    try:
        upload = _upload(prep)
    except Exception as exc:  # the job result stands; report the upload problem  # noqa: BLE001
        upload = {"error": str(exc)}
    record = store.get(job_id).as_dict()
    record["upload"] = upload
    record["runner_exit_code"] = code
    return record
