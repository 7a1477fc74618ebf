"""`tao-skill jobs list|show|logs|wait|cancel`: the jobs recorded in the workspace."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from tao_skill.cli.options import FINITE_FLOAT, JSON_OPTION, WORKSPACE_OPTION, workspace_path


def _store(workspace: Path | None):
    from tao_skill.jobs import JobStore  # noqa: PLC0415

    return JobStore(workspace_path(workspace))


def _human_job(job: dict) -> str:
    lines = [f"job {job['job_id']}: {job['network']} {job['action']} ({job['route']}) {job['status']}"
             + (f", exit {job['exit_code']}" if job.get("exit_code") is not None else "")]
    for key in ("parent_id", "job_dir", "results_dir", "results_uri", "log"):
        if job.get(key):
            lines.append(f"  {key}: {job[key]}")
    if job.get("best"):
        lines.append(f"  best: {job['best']}")
    if job.get("last"):
        lines.append(f"  last: {job['last']}")
    if job.get("reason"):
        lines.append(f"  reason: {job['reason']}")
    if job.get("checkpoints"):
        lines.append(f"  checkpoints: {len(job['checkpoints'])}, latest {job['checkpoints'][-1]}")
    if job.get("parent_chain"):
        lines.append("  parents: " + " <- ".join(f"{p['job_id']} ({p.get('action')}, {p.get('status')})"
                                                   for p in job["parent_chain"]))
    timings = job.get("timings") or {}
    if timings.get("duration_s") is not None:
        lines.append(f"  duration: {timings['duration_s']:.1f} s")
    if job.get("progress"):
        from tao_skill.progress_display import describe  # noqa: PLC0415

        lines.append(f"  progress: {describe(job['progress'])}")
    if job.get("report"):
        lines.append(f"  report: {job['report']}")
    return "\n".join(lines)


#: `jobs wait` exits with this code when --timeout passes first (like timeout(1)).
EXIT_WAIT_TIMEOUT = 124


def _exit_code_of(job) -> int:
    """The exit code a foreground run of this job gave (or would give): what `jobs wait` returns."""
    from tao_skill.errors import EXIT_INTERRUPTED, EXIT_JOB_FAILED, EXIT_OK  # noqa: PLC0415

    detail = job.detail or {}
    if detail.get("runner_exit_code") is not None and job.status != "lost":
        return int(detail["runner_exit_code"])
    return {"done": EXIT_OK, "pruned": EXIT_OK, "canceled": EXIT_INTERRUPTED}.get(job.status, EXIT_JOB_FAILED)


def _follow(path: Path, store, job_id: str, emit_line, poll_s: float = 0.5, timeout: float | None = None) -> str:
    """Print ``path`` as it grows until the job has finished and everything it wrote was read."""
    text, pos, start = [], 0, time.monotonic()
    while True:
        job = store.get(job_id)
        if path.exists():
            with open(path, encoding="utf-8", errors="replace") as fh:
                fh.seek(pos)
                chunk = fh.read()
                pos = fh.tell()
            if chunk:
                text.append(chunk)
                emit_line(chunk)
        if job.settled:
            if path.exists() and path.stat().st_size > pos:
                continue
            return "".join(text)
        if timeout is not None and time.monotonic() - start > timeout:
            return "".join(text)
        time.sleep(poll_s)


def register(cli: click.Group) -> None:
    ws, js = WORKSPACE_OPTION, JSON_OPTION

    @cli.group("jobs")
    def jobs() -> None:
        """Jobs recorded in the workspace: ids, parents, status, spec (redacted), plan, log, exit code, KPIs."""

    @jobs.command("list")
    @click.option("--parent", "parent_id", default=None, help="Only children of this job (e.g. AutoML trials).")
    @ws
    @js
    @click.pass_obj
    def list_cmd(app, parent_id: str | None, workspace: Path | None, json_mode: bool) -> int:
        """List jobs, oldest first."""
        app.json_mode = json_mode
        rows = [j.as_dict() for j in _store(workspace).list(parent_id)]
        for r in rows:
            r.pop("plan", None)
        human = "\n".join(f"{r['job_id']:<36} {r['action']:<14} {r['status']:<9} parent={r['parent_id'] or '-'}"
                          for r in rows) or "no jobs"
        app.emit({"ok": True, "jobs": rows}, human)
        return 0

    @jobs.command("show")
    @click.argument("job_id")
    @ws
    @js
    @click.pass_obj
    def show_cmd(app, job_id: str, workspace: Path | None, json_mode: bool) -> int:
        """Status, KPIs (best and last), checkpoints, parent chain, timings, and why there is no KPI."""
        from tao_skill.jobreport import describe_job  # noqa: PLC0415

        app.json_mode = json_mode
        store = _store(workspace)
        job = describe_job(store, store.get(job_id))
        app.emit({"ok": True, **job}, _human_job(job))
        return 0

    @jobs.command("logs")
    @click.argument("job_id")
    @click.option("--tail", type=click.IntRange(min=0), default=0, help="Only the last N lines.")
    @click.option("--follow", "-f", is_flag=True, help="Keep printing as the job writes, until it finishes "
                                                       "(with --json the lines go to stderr, the document at the end).")
    @ws
    @js
    @click.pass_obj
    def logs_cmd(app, job_id: str, tail: int, follow: bool, workspace: Path | None, json_mode: bool) -> int:
        """Print a job's log (the entrypoint's stdout and stderr)."""
        app.json_mode = json_mode
        store = _store(workspace)
        job = store.get(job_id)
        path = Path(job.job_dir) / "log.txt"
        if follow:
            stream = sys.stderr if json_mode else sys.stdout

            def emit_line(chunk: str) -> None:
                stream.write(chunk)
                stream.flush()

            text = _follow(path, store, job_id, emit_line)
            job = store.get(job_id)
            app.emit({"ok": True, "job_id": job_id, "status": job.status, "log": text, "path": str(path)})
            return 0
        text = path.read_text(errors="replace") if path.exists() else ""
        if tail:
            text = "\n".join(text.splitlines()[-tail:]) + "\n"
        app.emit({"ok": True, "job_id": job_id, "status": job.status, "log": text, "path": str(path)},
                 text.rstrip("\n"))
        return 0

    @jobs.command("wait")
    @click.argument("job_id")
    @click.option("--timeout", type=FINITE_FLOAT, default=None, metavar="SECONDS",
                  help=f"Give up after this long (exit {EXIT_WAIT_TIMEOUT}; the job keeps running).")
    @click.option("--poll", type=FINITE_FLOAT, default=1.0, metavar="SECONDS", help="How often to look.")
    @ws
    @js
    @click.pass_obj
    def wait_cmd(app, job_id: str, timeout: float | None, poll: float, workspace: Path | None,
                 json_mode: bool) -> int:
        """Wait until a job has finished; exit with the code its run gave (0 done, 3 upload, 4 failed/lost,
        130 canceled)."""
        from tao_skill.jobreport import describe_job  # noqa: PLC0415

        app.json_mode = json_mode
        store = _store(workspace)
        start = time.monotonic()
        job = store.get(job_id)
        while not job.settled:
            if timeout is not None and time.monotonic() - start >= timeout:
                doc = describe_job(store, job)
                app.emit({"ok": False, "timed_out": True, **doc, "errors": [{
                    "key": "--timeout", "message": f"job {job_id} is still {job.status} after {timeout:g} s",
                    "expected": None, "got": job.status, "suggestion": f"tao-skill jobs wait {job_id}"}]},
                    f"job {job_id} still {job.status} after {timeout:g} s")
                return EXIT_WAIT_TIMEOUT
            time.sleep(poll)
            job = store.get(job_id)
        code = _exit_code_of(job)
        doc = describe_job(store, job)
        app.emit({"ok": code == 0, **doc, "runner_exit_code": code}, _human_job(doc))
        return code

    @jobs.command("cancel")
    @click.argument("job_id")
    @ws
    @js
    @click.pass_obj
    def cancel_cmd(app, job_id: str, workspace: Path | None, json_mode: bool) -> int:
        """Stop a pending or running job (its process group gets SIGTERM) and mark it canceled.

        A job that has already finished is left as it is: the answer says so (ok false, exit 2)."""
        from tao_skill.errors import EXIT_INVALID  # noqa: PLC0415
        from tao_skill.jobs import cancel_job  # noqa: PLC0415

        app.json_mode = json_mode
        store = _store(workspace)
        job = store.get(job_id)
        if job.finished_state:
            message = f"job {job_id} has already finished ({job.status}); nothing was changed"
            app.emit({"ok": False, "job_id": job_id, "status": job.status, "signalled": False, "changed": False,
                      "errors": [{"key": "job_id", "message": message, "expected": "a pending or running job",
                                  "got": job.status, "suggestion": None}]}, message)
            return EXIT_INVALID
        status, signalled = cancel_job(store, job_id)
        app.emit({"ok": True, "job_id": job_id, "status": status, "signalled": signalled},
                 f"job {job_id}: {status}" + (" (process stopped)" if signalled else ""))
        return 0

    from tao_skill.cli.report import register_report  # noqa: PLC0415 - `jobs report`, in its own module

    register_report(jobs)
