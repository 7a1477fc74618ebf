"""The job store: one SQLite file in the workspace, one folder per job.

Workspace layout: ``jobs.sqlite``, ``jobs/<job_id>/{spec.yaml, plan.json, log.txt, results/}``,
``cache/``. Secrets never reach this store: specs and plans are redacted before they are recorded.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from tao_skill.errors import ErrorItem, RunnerError

STATUSES = ("pending", "running", "done", "failed", "canceled", "pruned")  # pruned: an AutoML trial stopped early
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    parent_id TEXT,
    network TEXT NOT NULL,
    action TEXT NOT NULL,
    route TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    exit_code INTEGER,
    pid INTEGER,
    job_dir TEXT NOT NULL,
    results_dir TEXT NOT NULL,
    results_uri TEXT,
    kpis TEXT,
    plan TEXT
)
"""


def default_workspace() -> Path:
    return Path(os.environ.get("TAO_SKILL_WORKSPACE", "tao-workspace")).resolve()


@dataclass
class Job:
    id: str
    parent_id: str | None
    network: str
    action: str
    route: str
    status: str
    created: float
    started: float | None
    finished: float | None
    exit_code: int | None
    pid: int | None
    job_dir: str
    results_dir: str
    results_uri: str | None
    kpis: dict[str, Any] | None
    plan: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["job_id"] = d.pop("id")
        d["log"] = str(Path(self.job_dir) / "log.txt")
        return d


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class JobStore:
    def __init__(self, workspace: Path) -> None:
        self.workspace = Path(workspace).resolve()
        self.db_path = self.workspace / "jobs.sqlite"

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.workspace.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.db_path, timeout=30)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)
            yield conn
            conn.commit()
        finally:
            conn.close()

    def new_id(self, action: str) -> str:
        return f"{action.replace('_', '-')}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"

    def job_dir(self, job_id: str) -> Path:
        return self.workspace / "jobs" / job_id

    def create(self, *, job_id: str, parent_id: str | None, network: str, action: str, route: str,
               results_dir: Path, results_uri: str | None, plan: dict[str, Any]) -> Job:
        job_dir = self.job_dir(job_id)
        job_dir.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute(
                "INSERT INTO jobs (id, parent_id, network, action, route, status, created, job_dir, results_dir, "
                "results_uri, plan) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (job_id, parent_id, network, action, route, "pending", time.time(), str(job_dir), str(results_dir),
                 results_uri, json.dumps(plan)),
            )
        return self.get(job_id)

    def update(self, job_id: str, **fields: Any) -> None:
        if "status" in fields and fields["status"] not in STATUSES:
            raise ValueError(f"unknown job status {fields['status']}")
        if "kpis" in fields and fields["kpis"] is not None:
            fields["kpis"] = json.dumps(fields["kpis"])
        if "plan" in fields:
            fields["plan"] = json.dumps(fields["plan"])
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self._db() as db:
            db.execute(f"UPDATE jobs SET {cols} WHERE id = ?", (*fields.values(), job_id))

    def _row(self, row: tuple) -> Job:
        job = Job(*row)
        job.kpis = json.loads(job.kpis) if job.kpis else None
        job.plan = json.loads(job.plan) if job.plan else None
        return job

    def get(self, job_id: str) -> Job:
        with self._db() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise RunnerError(ErrorItem("job_id", f"no job `{job_id}` in workspace {self.workspace}", got=job_id))
        return self._row(row)

    def list(self, parent_id: str | None = None) -> list[Job]:
        with self._db() as db:
            if parent_id:
                rows = db.execute("SELECT * FROM jobs WHERE parent_id = ? ORDER BY created", (parent_id,)).fetchall()
            else:
                rows = db.execute("SELECT * FROM jobs ORDER BY created").fetchall()
        return [self._row(r) for r in rows]


def _owns_process(pid: int, job_dir: str) -> bool:
    """Whether ``pid`` still runs this job's entrypoint (guards against a recycled pid)."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not Path("/proc").is_dir():
        return True  # no procfs: trust the recorded pid
    try:
        return job_dir.encode() in cmdline.read_bytes()
    except OSError:
        return False


def cancel_job(store: JobStore, job_id: str) -> tuple[str, bool]:
    """Mark a pending/running job canceled and stop its process group. Returns (status, signalled).

    The runner that launched the job sees its child end, reads the ``canceled`` status and keeps it.
    Finished jobs are left as they are.
    """
    import signal  # noqa: PLC0415

    job = store.get(job_id)
    if job.status not in ("pending", "running"):
        return job.status, False
    store.update(job_id, status="canceled", finished=time.time())
    signalled = False
    if job.pid and _owns_process(job.pid, job.job_dir):
        try:
            os.killpg(job.pid, signal.SIGTERM)
            signalled = True
        except (ProcessLookupError, PermissionError):
            signalled = False
    return "canceled", signalled
