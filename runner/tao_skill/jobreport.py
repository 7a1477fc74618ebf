"""What `jobs show` and `jobs wait` say about one job: status, KPIs, checkpoints, parent chain, timings, why.

Why a module of its own: the job store holds rows; an agent needs the answer to "what happened and what
can I chain from it", which reads the results folder and the parent rows too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tao_skill.artifacts import find_checkpoints
from tao_skill.jobs import Job, JobStore, pid_alive, this_host

_DEFAULT_GLOB = "*.pth"


def _checkpoint_glob(job: Job) -> str:
    skill_dir = (job.plan or {}).get("skill_dir")
    if skill_dir:
        try:
            from tao_skill.skills import load_skill_dir  # noqa: PLC0415

            return load_skill_dir(Path(skill_dir)).info.get("artifacts", {}).get("checkpoint_glob", _DEFAULT_GLOB)
        except Exception:  # noqa: BLE001 - a moved skill dir must not break `jobs show`
            pass
    return _DEFAULT_GLOB


def parent_chain(store: JobStore, job: Job, limit: int = 20) -> list[dict[str, Any]]:
    """The job's ancestors, nearest first (id, action, route, status)."""
    chain, seen, pid = [], {job.id}, job.parent_id
    while pid and pid not in seen and len(chain) < limit:
        seen.add(pid)
        if not store.exists(pid):
            chain.append({"job_id": pid, "missing": True})
            break
        parent = store.get(pid)
        chain.append({"job_id": parent.id, "action": parent.action, "route": parent.route, "status": parent.status})
        pid = parent.parent_id
    return chain


def _timings(job: Job) -> dict[str, Any]:
    end = job.finished
    return {"created": job.created, "started": job.started, "finished": end,
            "duration_s": round(end - job.started, 3) if end and job.started else None,
            "heartbeat": job.heartbeat}


def describe_job(store: JobStore, job: Job) -> dict[str, Any]:
    """One JSON-ready document about ``job`` (secrets are already ``***`` in the recorded plan)."""
    doc = job.as_dict()
    detail = dict(job.detail or {})
    doc["spec"] = (job.plan or {}).get("spec")
    doc["kpis"] = job.kpis
    doc["best"] = (job.kpis or {}).get("best")
    doc["last"] = (job.kpis or {}).get("last")
    ckpts = find_checkpoints(Path(job.results_dir), _checkpoint_glob(job)) if Path(job.results_dir).is_dir() else []
    doc["checkpoints"] = [str(p) for p in ckpts]
    doc["parent_chain"] = parent_chain(store, job)
    doc["timings"] = _timings(job)
    doc["lineage"] = detail.get("lineage") or (job.plan or {}).get("lineage")
    reason = detail.get("reason")
    if not (doc["best"] or doc["last"]) and job.finished_state:
        reason = reason or detail.get("no_kpi_reason") or {
            "canceled": "the job was canceled before it reported a KPI",
            "failed": "the job failed before it reported a KPI"}.get(job.status, "no KPI was recorded")
    doc["reason"] = reason
    doc["upload"] = detail.get("upload")
    from tao_skill.progress_display import read_progress  # noqa: PLC0415 - the live display's last update
    doc["progress"] = read_progress(job.job_dir)
    report = Path(job.results_dir) / "report.html"
    doc["report"] = str(report) if report.is_file() else None
    local = job.host == this_host()
    doc["processes"] = {"runner_pid": job.runner_pid, "runner_alive": pid_alive(job.runner_pid) if local else None,
                        "pid": job.pid, "alive": pid_alive(job.pid) if local and job.pid else None, "host": job.host}
    if job.route == "automl":
        doc["children"] = [{"job_id": c.id, "status": c.status, "best": (c.kpis or {}).get("best")}
                           for c in store.list(job.id)]
    return doc
