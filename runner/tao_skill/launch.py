"""Run a prepared job: record it, stage its data, launch the entrypoint, stream its log, collect KPIs.

The entrypoint is a subprocess in its own session (process group): Ctrl-C (or SIGTERM to the runner)
is forwarded to the whole group, the job is marked ``canceled`` and the runner exits 130; a job
canceled from another shell (`tao-skill jobs cancel`) keeps its ``canceled`` status. The training
dies with its runner (:mod:`tao_skill.lifecycle`: parent-death signal plus a guard process), and the
runner records its pid, host and a heartbeat, so the job store shows ``lost`` for a job whose runner
died. The encryption key reaches the child only as ``TAO_SKILL_ENCRYPTION_KEY`` (the spec file holds
``***``), and any line of child output that contains it is scrubbed before it reaches the console or
the log. A failed results upload is exit 3; the local results stay and are named.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, TextIO

import yaml

from tao_skill.artifacts import kpi_summary, read_status
from tao_skill.datasets import is_remote
from tao_skill.errors import EXIT_INTERRUPTED, EXIT_INVALID, EXIT_JOB_FAILED, EXIT_OK, EXIT_STAGING, ErrorItem, RunnerError
from tao_skill.jobs import HEARTBEAT_S, Job, JobStore, atomic_write, this_host
from tao_skill.lifecycle import Guard, child_setup, heartbeat
from tao_skill.plan import PASSTHROUGH_ENV, Prepared  # noqa: F401 - re-exported
from tao_skill.progress_display import PROGRESS_ENV, ProgressDisplay
from tao_skill.spec import REDACTED, get_dotted, redact, set_dotted

#: The variable through which the entrypoint receives the encryption key (the spec says ``***``).
KEY_ENV_FOR_CHILD = "TAO_SKILL_ENCRYPTION_KEY"
_STOP_GRACE_S = 20.0


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
        fix = getattr(exc, "fix", None)
        raise RunnerError(ErrorItem(None, str(exc), got=getattr(exc, "uri", None), suggestion=fix or None),
                          EXIT_STAGING) from None
    for key, path in local.items():
        set_dotted(spec, key, path)
    return spec


def _kpis(prep: Prepared) -> dict[str, Any] | None:
    arts = prep.skill.info.get("artifacts", {})
    mon = prep.skill.info.get("monitoring", {})
    return kpi_summary(read_status(prep.results_dir, arts.get("status_file", "status.json")),
                       mon.get("metric", ""), mon.get("direction", "maximize"))


def no_kpi_reason(prep: Prepared, status: str, kpis: dict[str, Any] | None) -> str | None:
    """Why a finished job has no KPI values, in words (None when it has some)."""
    if kpis and (kpis.get("last") or kpis.get("best")):
        return None
    name = prep.skill.info.get("artifacts", {}).get("status_file", "status.json")
    path = prep.results_dir / name
    if status == "canceled":
        return "the job was canceled before it reported a KPI"
    if status == "failed":
        return f"the entrypoint failed before it reported a KPI; see {Path(prep.plan['job_dir']) / 'log.txt'}"
    if not path.exists():
        return f"the entrypoint wrote no {name} in {prep.results_dir}"
    if kpis is None:
        return f"{path} is not a JSON object with KPI entries"
    return f"{path} has no KPI entries (status {kpis.get('status')!r}); this action reports no metrics"


def _upload(prep: Prepared) -> dict[str, Any] | None:
    if not prep.results_uri:
        return None
    from tao_skill.staging import upload_results  # noqa: PLC0415

    excludes = prep.skill.info["actions"][prep.plan["action"]].get("upload_excludes", [])
    return upload_results(prep.results_dir, prep.results_uri, excludes)


def _scrubber(secrets: list[str]) -> Callable[[str], str]:
    secrets = [s for s in secrets if s and s != REDACTED]

    def scrub(line: str) -> str:
        for secret in secrets:
            line = line.replace(secret, REDACTED)
        return line

    return scrub


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM to the runner behaves like Ctrl-C (child stopped, job canceled); main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stop(proc: subprocess.Popen) -> None:
    """SIGINT to the child's process group, then SIGKILL after a grace period."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=_STOP_GRACE_S)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def record(prep: Prepared, *, parent_id: str | None = None) -> Job:
    """Create the job in the store and write ``plan.json`` and the redacted ``spec.yaml`` to its folder."""
    plan, store = prep.plan, prep.store
    job = store.create(job_id=plan["job_id"], parent_id=parent_id or plan.get("parent_job"), network=plan["network"],
                       action=plan["action"], route=plan["route"], results_dir=prep.results_dir,
                       results_uri=prep.results_uri, plan=plan)
    store.update(job.id, runner_pid=os.getpid(), host=this_host(), heartbeat=time.time())
    if plan.get("lineage"):
        store.add_detail(job.id, lineage=plan["lineage"])
    job_dir = Path(job.job_dir)
    atomic_write(job_dir / "plan.json", json.dumps(plan, indent=2, default=str) + "\n")
    write_spec(prep, job_dir / "spec.yaml", prep.spec)
    return job


def write_spec(prep: Prepared, path: Path, spec: dict[str, Any]) -> None:
    """The spec file the entrypoint reads: secrets as ``***`` (the key travels in the environment)."""
    atomic_write(path, yaml.safe_dump(redact(spec, prep.secret_keys), sort_keys=False))


def _watch(proc: subprocess.Popen, monitor: Callable[[], str | None], poll_s: float, stopped: dict[str, str],
           on_stop: Callable[[str], None]) -> threading.Thread:
    """Call ``monitor`` every ``poll_s`` while the child runs; a status it returns stops the child.

    AutoML uses this to read status.json after each validation and prune a trial (``"pruned"``) or to
    stop it when the study was canceled (``"canceled"``).
    """

    def loop() -> None:
        while proc.poll() is None:
            try:
                verdict = monitor()
            except Exception as exc:  # noqa: BLE001 - a monitor bug must not kill the job it watches
                verdict = None
                stopped.setdefault("monitor_error", f"{type(exc).__name__}: {exc}")
            if verdict:
                stopped["status"] = verdict
                on_stop(verdict)
                _stop(proc)
                return
            try:
                proc.wait(timeout=poll_s)  # returns as soon as the child ends
            except subprocess.TimeoutExpired:
                pass

    thread = threading.Thread(target=loop, name="job-monitor", daemon=True)
    thread.start()
    return thread


def execute(prep: Prepared, *, out: TextIO, parent_id: str | None = None,
            on_start: Callable[[str], None] | None = None, monitor: Callable[[], str | None] | None = None,
            poll_s: float = 0.5) -> dict[str, Any]:
    """Run the job to completion and return its record (status, exit_code, kpis, paths, runner_exit_code).

    ``monitor`` (AutoML trials) is polled while the child runs; when it returns a status (``pruned``,
    ``canceled``) the job gets that status and its process group is stopped. The record says
    ``interrupted: true`` when Ctrl-C/SIGTERM reached this process.

    Raises:
        RunnerError: exit 3 when staging fails, exit 4 when the entrypoint cannot start.
    """
    plan, store = prep.plan, prep.store
    job_id = plan["job_id"]
    job = record(prep, parent_id=parent_id)
    job_dir = Path(job.job_dir)
    if on_start:
        on_start(job_id)
    try:
        prep.results_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # e.g. --results-dir names a file: fail the job, never leave it pending
        reason = f"cannot create the results folder {prep.results_dir}: {exc.strerror or exc}"
        store.update(job_id, status="failed", finished=time.time(), exit_code=EXIT_INVALID)
        store.add_detail(job_id, reason=reason, runner_exit_code=EXIT_INVALID)
        raise RunnerError(ErrorItem("results_dir", reason, got=str(prep.results_dir),
                                    suggestion="pass --results-dir a folder (new or existing)"), EXIT_INVALID) from None
    log_path = job_dir / "log.txt"
    scrub = _scrubber(list(prep.secret_env.values()))
    status, code, rc = "failed", EXIT_JOB_FAILED, None
    with _sigterm_as_interrupt(), open(log_path, "a", encoding="utf-8") as log:
        try:
            spec = _stage(prep)
        except RunnerError as exc:
            log.write(f"staging failed: {exc}\n")
            store.update(job_id, status="failed", finished=time.time(), exit_code=EXIT_STAGING)
            store.add_detail(job_id, reason=f"data staging failed: {exc}", runner_exit_code=exc.code)
            raise
        except KeyboardInterrupt:
            log.write("interrupted while staging data: job canceled\n")
            store.update(job_id, status="canceled", finished=time.time(), exit_code=EXIT_INTERRUPTED)
            return _finish(prep, "canceled", EXIT_INTERRUPTED, upload=False)
        write_spec(prep, job_dir / "spec.yaml", spec)
        env = {**os.environ, **prep.secret_env, "TAO_SKILL_JOB_ID": job_id, "PYTHONUNBUFFERED": "1",
               PROGRESS_ENV: "1"}
        if store.get(job_id).status == "canceled":  # `jobs cancel` while the data was being staged
            log.write("canceled before the entrypoint started\n")
            return _finish(prep, "canceled", EXIT_INTERRUPTED, upload=False)
        store.update(job_id, status="running", started=time.time())
        try:
            proc = subprocess.Popen(plan["command"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                    text=True, errors="replace", bufsize=1, cwd=str(job_dir), start_new_session=True,
                                    preexec_fn=child_setup)
        except OSError as exc:
            log.write(f"cannot start {plan['command'][0]}: {exc}\n")
            store.update(job_id, status="failed", finished=time.time(), exit_code=EXIT_JOB_FAILED)
            store.add_detail(job_id, reason=f"cannot start the entrypoint {plan['command'][0]}: {exc.strerror}",
                             runner_exit_code=EXIT_JOB_FAILED)
            raise RunnerError(f"cannot start the entrypoint {plan['command'][0]}: {exc.strerror}",
                              EXIT_JOB_FAILED) from None
        guard = Guard(proc.pid)
        store.update(job_id, pid=proc.pid, heartbeat=time.time())
        beating = threading.Event()
        heartbeat(beating, lambda: store.update(job_id, heartbeat=time.time()), HEARTBEAT_S)
        stopped: dict[str, str] = {}
        watcher = _watch(proc, monitor, poll_s, stopped, lambda st: store.update(job_id, status=st)) \
            if monitor else None
        interrupted = False
        try:
            assert proc.stdout is not None
            # progress lines drive one live display (or periodic plain lines), never the log
            with ProgressDisplay(out, state_file=job_dir / "progress.json") as progress:
                for line in proc.stdout:
                    line = scrub(line)
                    if progress.feed(line):
                        continue
                    log.write(line)
                    log.flush()
                    progress.echo(line)
            rc = proc.wait()
            status, code = ("done", EXIT_OK) if rc == 0 else ("failed", EXIT_JOB_FAILED)
        except KeyboardInterrupt:
            _stop(proc)
            log.write("interrupted: job canceled\n")
            status, code, rc, interrupted = "canceled", EXIT_INTERRUPTED, None, True
        finally:
            beating.set()
            guard.release()
        if watcher is not None:
            watcher.join(timeout=_STOP_GRACE_S + 5)
            if stopped.get("status"):
                log.write(f"stopped by the runner: {stopped['status']}\n")
    current = store.get(job_id).status
    if current == "canceled":  # `tao-skill jobs cancel` from elsewhere stopped it
        status, code = "canceled", EXIT_INTERRUPTED
    elif current == "pruned":  # AutoML stopped a trial early: a normal outcome, not a failure
        status, code = "pruned", EXIT_OK
    kpis = _kpis(prep)
    store.update(job_id, status=status, finished=time.time(), exit_code=code if rc is None else rc, kpis=kpis)
    reason = no_kpi_reason(prep, status, kpis)
    if reason:
        store.add_detail(job_id, no_kpi_reason=reason)
    rec = _finish(prep, status, code, upload=True)
    if interrupted:
        rec["interrupted"] = True
    return rec


def _finish(prep: Prepared, status: str, code: int, *, upload: bool) -> dict[str, Any]:
    """Upload the results (when --results-dir is remote) and build the run's record.

    A failed upload makes the run exit 3 (the job's own status stands: its results are kept locally
    and the record names where), so an agent never reads ``ok`` for results that are not where it asked.
    """
    result = None
    job_id = prep.plan["job_id"]
    if upload and prep.results_uri:  # also after a failure: partial results and logs help debug it
        try:
            result = _upload(prep)
        except Exception as exc:  # noqa: BLE001 - the job's result stands; report the upload problem
            result = {"error": str(exc), "uri": prep.results_uri, "local_results": str(prep.results_dir)}
            if code == EXIT_OK:
                code = EXIT_STAGING
        prep.store.add_detail(job_id, upload=result)
    prep.store.add_detail(job_id, runner_exit_code=code)
    rec = prep.store.get(job_id).as_dict()
    rec["upload"] = result
    rec["runner_exit_code"] = code
    if result and result.get("error"):
        rec["errors"] = [ErrorItem("results_dir", f"results upload to {prep.results_uri} failed: {result['error']}; "
                                                  f"the results are kept in {prep.results_dir}",
                                   got=prep.results_uri, suggestion="fix the bucket or credentials and copy "
                                   f"{prep.results_dir} there").as_dict()]
    return rec
