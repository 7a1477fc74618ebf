"""`tao-skill jobs list|show|logs|cancel`."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import click


def _store(workspace: Path | None):
    from tao_skill.jobs import JobStore, default_workspace  # noqa: PLC0415

    return JobStore(workspace or default_workspace())


def register(cli: click.Group) -> None:
    ws = click.option("--workspace", type=click.Path(path_type=Path), default=None)
    js = click.option("--json", "json_mode", is_flag=True)

    @cli.group("jobs")
    def jobs() -> None:
        """Jobs recorded in the workspace."""

    @jobs.command("list")
    @click.option("--parent", "parent_id", default=None, help="Only children of this job (e.g. AutoML trials).")
    @ws
    @js
    def list_cmd(parent_id: str | None, workspace: Path | None, json_mode: bool) -> int:
        from tao_skill.app import App  # noqa: PLC0415

        rows = [j.as_dict() for j in _store(workspace).list(parent_id)]
        for r in rows:
            r.pop("plan", None)
        human = "\n".join(f"{r['job_id']:<36} {r['action']:<14} {r['status']:<9} parent={r['parent_id'] or '-'}"
                          for r in rows) or "no jobs"
        App(json_mode).emit({"ok": True, "jobs": rows}, human)
        return 0

    @jobs.command("show")
    @click.argument("job_id")
    @ws
    @js
    def show_cmd(job_id: str, workspace: Path | None, json_mode: bool) -> int:
        from tao_skill.app import App  # noqa: PLC0415

        job = _store(workspace).get(job_id).as_dict()
        human = "\n".join(f"{k}: {v}" for k, v in job.items() if k != "plan")
        App(json_mode).emit({"ok": True, **job}, human)
        return 0

    @jobs.command("logs")
    @click.argument("job_id")
    @click.option("--tail", type=int, default=0, help="Only the last N lines.")
    @ws
    @js
    def logs_cmd(job_id: str, tail: int, workspace: Path | None, json_mode: bool) -> int:
        from tao_skill.app import App  # noqa: PLC0415

        job = _store(workspace).get(job_id)
        path = Path(job.job_dir) / "log.txt"
        text = path.read_text(errors="replace") if path.exists() else ""
        if tail:
            text = "\n".join(text.splitlines()[-tail:]) + "\n"
        App(json_mode).emit({"ok": True, "job_id": job_id, "log": text, "path": str(path)}, text.rstrip("\n"))
        return 0

    @jobs.command("cancel")
    @click.argument("job_id")
    @ws
    @js
    def cancel_cmd(job_id: str, workspace: Path | None, json_mode: bool) -> int:
        from tao_skill.app import App  # noqa: PLC0415

        store = _store(workspace)
        job = store.get(job_id)
        signalled = False
        if job.status in ("pending", "running") and job.pid:
            try:
                os.killpg(job.pid, signal.SIGTERM)
                signalled = True
            except (ProcessLookupError, PermissionError):
                signalled = False
        if job.status in ("pending", "running"):
            store.update(job_id, status="canceled", finished=time.time())
        App(json_mode).emit({"ok": True, "job_id": job_id, "status": store.get(job_id).status, "signalled": signalled},
                            f"job {job_id}: {store.get(job_id).status}")
        return 0
