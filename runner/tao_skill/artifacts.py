"""Reading a job's results: status.json KPIs and the checkpoint or files a child job should use."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

_EPOCH_STEP = re.compile(r"epoch_(\d+)_step_(\d+)")


def read_status(results_dir: Path, name: str = "status.json") -> dict[str, Any] | None:
    path = Path(results_dir) / name
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):  # missing, half-written, binary or absurd: no KPIs yet
        return None
    return data if isinstance(data, dict) else None


def kpi_summary(status: dict[str, Any] | None, metric: str, direction: str) -> dict[str, Any] | None:
    """Last and best values of every KPI in status.json, and the best entry of the monitored metric."""
    if not status:
        return None
    entries = [e for e in status.get("entries", []) if isinstance(e, dict)]
    if not entries:
        return {"status": status.get("status")} if status.get("status") else None
    last = entries[-1].get("kpi", {})
    scored = [e for e in entries if isinstance(e.get("kpi", {}).get(metric), (int, float))]
    best = None
    if scored:
        pick = max if direction == "maximize" else min
        best = pick(scored, key=lambda e: e["kpi"][metric])
    return {
        "status": status.get("status"),
        "last": last,
        "best": {"metric": metric, "value": best["kpi"][metric], "epoch": best.get("epoch"), "step": best.get("step")}
        if best else None,
    }


def _epoch_step(path: Path) -> tuple[int, int]:
    match = _EPOCH_STEP.search(path.name)
    return (int(match.group(1)), int(match.group(2))) if match else (-1, -1)


def find_checkpoints(results_dir: Path, pattern: str) -> list[Path]:
    """Checkpoints under a results dir, oldest first by (epoch, step)."""
    found = [p for p in Path(results_dir).rglob(pattern) if p.is_file()]
    return sorted(found, key=lambda p: (_epoch_step(p), str(p)))


def choose_checkpoint(results_dir: Path, pattern: str, metric: str, direction: str,
                      status_name: str = "status.json") -> tuple[Path | None, str]:
    """The best checkpoint by the monitored KPI when status.json says which, else the latest; and why."""
    ckpts = find_checkpoints(results_dir, pattern)
    if not ckpts:
        return None, f"no file matching {pattern} under {results_dir}"
    summary = kpi_summary(read_status(results_dir, status_name), metric, direction)
    best = (summary or {}).get("best")
    if best:
        for ckpt in ckpts:
            if _epoch_step(ckpt) == (best.get("epoch"), best.get("step")):
                return ckpt, f"best {metric} {best['value']:.4g} at epoch {best['epoch']} step {best['step']}"
    return ckpts[-1], "latest checkpoint by epoch/step" + ("" if summary else " (no KPI in status.json)")
