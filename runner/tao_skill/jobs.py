"""The job store: one SQLite file in the workspace, one folder per job.

Workspace layout: ``jobs.sqlite``, ``jobs/<job_id>/{spec.yaml, plan.json, log.txt, results/}``,
``cache/``. Secrets never reach this store: specs and plans are redacted before they are recorded.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from tao_skill.errors import ErrorItem, RunnerError, note_recorded

#: pruned: an AutoML trial stopped early; lost: the runner that owned a pending/running job died (resumable).
STATUSES = ("pending", "running", "done", "failed", "canceled", "pruned", "lost")
FINISHED = ("done", "failed", "canceled", "pruned", "lost")
#: A running job's runner writes its heartbeat this often; a job on another host whose heartbeat is older
#: than LOST_AFTER_S is ``lost`` (on this host the runner's pid decides at once).
HEARTBEAT_S = 5.0
LOST_AFTER_S = 60.0
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
#: Columns added after the first release (older workspaces get them on first open).
_ADDED = {"runner_pid": "INTEGER", "host": "TEXT", "heartbeat": "REAL", "detail": "TEXT"}


def _token() -> str:
    """Six hex digits from the OS's CSPRNG (what ``secrets.token_hex(3)`` returns, without importing secrets)."""
    return os.urandom(3).hex()


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
    runner_pid: int | None = None  # the tao-skill process that owns the job (its death makes the job lost)
    host: str | None = None
    heartbeat: float | None = None
    detail: dict[str, Any] | None = None  # why (no KPIs, lost, upload failed), lineage, checkpoints

    @property
    def finished_state(self) -> bool:
        return self.status in FINISHED

    @property
    def settled(self) -> bool:
        """Finished, and its runner has recorded the outcome (exit code, reasons, upload) or is gone.

        `jobs cancel` marks a job canceled at once; its runner settles it a moment later."""
        if not self.finished_state:
            return False
        if (self.detail or {}).get("runner_exit_code") is not None or self.status == "lost":
            return True
        if self.runner_pid and self.host == this_host() and pid_alive(self.runner_pid):
            return bool(self.finished and time.time() - self.finished > LOST_AFTER_S / 2)
        return True

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["job_id"] = d.pop("id")
        d["log"] = str(Path(self.job_dir) / "log.txt")
        return d


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary sibling and a rename; no half-written file, and no
    temporary left behind when the write fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


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
            have = {r[1] for r in conn.execute("PRAGMA table_info(jobs)")}
            for col, kind in _ADDED.items():
                if col not in have:
                    conn.execute(f"ALTER TABLE jobs ADD COLUMN {col} {kind}")
            yield conn
            conn.commit()
        finally:
            conn.close()

    def new_id(self, action: str) -> str:
        return f"{action.replace('_', '-')}-{time.strftime('%Y%m%d-%H%M%S')}-{_token()}"

    def job_dir(self, job_id: str) -> Path:
        return self.workspace / "jobs" / job_id

    def create(self, *, job_id: str, parent_id: str | None, network: str, action: str, route: str,
               results_dir: Path, results_uri: str | None, plan: dict[str, Any]) -> Job:
        job_dir = self.job_dir(job_id)
        job_dir.mkdir(parents=True, exist_ok=True)
        if self.exists(job_id):  # recorded already by `run --detach`; the background runner takes it over
            self.update(job_id, plan=plan, route=route, results_dir=str(results_dir), results_uri=results_uri)
            return self.get(job_id)
        with self._db() as db:
            db.execute(
                "INSERT INTO jobs (id, parent_id, network, action, route, status, created, job_dir, results_dir, "
                "results_uri, plan) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (job_id, parent_id, network, action, route, "pending", time.time(), str(job_dir), str(results_dir),
                 results_uri, json.dumps(plan)),
            )
        note_recorded(job_id, str(job_dir / "log.txt"))  # a later error document of this command names the job
        return self.get(job_id)

    def update(self, job_id: str, **fields: Any) -> None:
        if "status" in fields and fields["status"] not in STATUSES:
            raise ValueError(f"unknown job status {fields['status']}")
        if "kpis" in fields and fields["kpis"] is not None:
            fields["kpis"] = json.dumps(fields["kpis"])
        if "plan" in fields:
            fields["plan"] = json.dumps(fields["plan"])
        if "detail" in fields and fields["detail"] is not None:
            fields["detail"] = json.dumps(fields["detail"], default=str)
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self._db() as db:
            db.execute(f"UPDATE jobs SET {cols} WHERE id = ?", (*fields.values(), job_id))

    def add_detail(self, job_id: str, **items: Any) -> None:
        """Merge ``items`` into the job's ``detail`` document (reasons, lineage, upload outcome)."""
        detail = dict(self.get(job_id).detail or {})
        detail.update(items)
        self.update(job_id, detail=detail)

    def _row(self, row: sqlite3.Row) -> Job:
        data = dict(row)
        for key in ("kpis", "plan", "detail"):
            data[key] = json.loads(data[key]) if data.get(key) else None
        job = Job(**data)
        return self._settle(job)

    def _settle(self, job: Job) -> Job:
        """A pending/running job whose runner is gone is ``lost``: the store never reports a dead job as live."""
        if job.status not in ("pending", "running"):
            return job
        reason = lost_reason(job)
        if reason:
            detail = {**(job.detail or {}), "reason": reason}
            now = time.time()
            with self._db() as db:  # only if still live: the runner may have finished it meanwhile
                db.execute("UPDATE jobs SET status = 'lost', finished = ?, detail = ? WHERE id = ? "
                           "AND status IN ('pending', 'running')", (now, json.dumps(detail), job.id))
            job.status, job.finished, job.detail = "lost", now, detail
        return job

    def exists(self, job_id: str) -> bool:
        with self._db() as db:
            return db.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone() is not None

    def get(self, job_id: str) -> Job:
        with self._db() as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            known = [j.id for j in self.list()][-50:]
            import difflib  # noqa: PLC0415 - only for an unknown id

            close = difflib.get_close_matches(job_id, known, n=1)
            raise RunnerError(ErrorItem("job_id", f"no job `{job_id}` in workspace {self.workspace}", got=job_id,
                                        suggestion=f"did you mean {close[0]}?" if close else
                                        "`tao-skill jobs list` shows the recorded jobs"))
        return self._row(row)

    def list(self, parent_id: str | None = None) -> list[Job]:
        with self._db() as db:
            db.row_factory = sqlite3.Row
            if parent_id:
                rows = db.execute("SELECT * FROM jobs WHERE parent_id = ? ORDER BY created", (parent_id,)).fetchall()
            else:
                rows = db.execute("SELECT * FROM jobs ORDER BY created").fetchall()
        return [self._row(r) for r in rows]


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this pid exists on this machine (zombies count as gone)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped) is dead for our purposes
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return True


def this_host() -> str:
    import socket  # noqa: PLC0415 - a job's host, when one is recorded

    return socket.gethostname()


def lost_reason(job: Job, now: float | None = None) -> str | None:
    """Why a pending/running job cannot be live any more, or None while it may be."""
    now = time.time() if now is None else now
    if job.runner_pid and job.host == this_host():
        if not pid_alive(job.runner_pid):
            return f"its runner (pid {job.runner_pid}) is gone; `tao-skill run ... --resume {job.id}` continues it"
        return None
    beat = job.heartbeat or job.started or job.created
    if job.runner_pid and beat and now - beat > LOST_AFTER_S:
        return f"no heartbeat from its runner on {job.host} for {now - beat:.0f} s"
    return None


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

    The runner that launched the job sees its child end, reads the ``canceled`` status and keeps it (a
    runner still staging data checks the status before it starts the entrypoint). Finished jobs are left
    as they are; the caller reports that nothing changed.
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
