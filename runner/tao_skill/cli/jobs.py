"""`tao-skill jobs list|show|logs|cancel`: the jobs recorded in the workspace."""

from __future__ import annotations

from pathlib import Path

import click

from tao_skill.cli.options import JSON_OPTION, WORKSPACE_OPTION, workspace_path


def _store(workspace: Path | None):
    from tao_skill.jobs import JobStore  # noqa: PLC0415

    return JobStore(workspace_path(workspace))


def _human_job(job: dict) -> str:
    lines = [f"job {job['job_id']}: {job['network']} {job['action']} ({job['route']}) {job['status']}"
             + (f", exit {job['exit_code']}" if job.get("exit_code") is not None else "")]
    for key in ("parent_id", "job_dir", "results_dir", "results_uri", "log"):
        if job.get(key):
            lines.append(f"  {key}: {job[key]}")
    if job.get("kpis"):
        lines.append(f"  kpis: {job['kpis']}")
    return "\n".join(lines)


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
        """Everything recorded about one job, including its plan and resolved spec (secrets as ***)."""
        app.json_mode = json_mode
        job = _store(workspace).get(job_id).as_dict()
        job["spec"] = (job.get("plan") or {}).get("spec")
        app.emit({"ok": True, **job}, _human_job(job))
        return 0

    @jobs.command("logs")
    @click.argument("job_id")
    @click.option("--tail", type=int, default=0, help="Only the last N lines.")
    @ws
    @js
    @click.pass_obj
    def logs_cmd(app, job_id: str, tail: int, workspace: Path | None, json_mode: bool) -> int:
        """Print a job's log (the entrypoint's stdout and stderr)."""
        app.json_mode = json_mode
        job = _store(workspace).get(job_id)
        path = Path(job.job_dir) / "log.txt"
        text = path.read_text(errors="replace") if path.exists() else ""
        if tail:
            text = "\n".join(text.splitlines()[-tail:]) + "\n"
        app.emit({"ok": True, "job_id": job_id, "log": text, "path": str(path)}, text.rstrip("\n"))
        return 0

    @jobs.command("cancel")
    @click.argument("job_id")
    @ws
    @js
    @click.pass_obj
    def cancel_cmd(app, job_id: str, workspace: Path | None, json_mode: bool) -> int:
        """Stop a pending or running job (its process group gets SIGTERM) and mark it canceled."""
        from tao_skill.jobs import cancel_job  # noqa: PLC0415

        app.json_mode = json_mode
        status, signalled = cancel_job(_store(workspace), job_id)
        app.emit({"ok": True, "job_id": job_id, "status": status, "signalled": signalled},
                 f"job {job_id}: {status}" + (" (process stopped)" if signalled else ""))
        return 0
