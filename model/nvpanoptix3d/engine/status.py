"""``results_dir/status.json``: one entry per validation or evaluation, rewritten atomically each time.

Format (docs/architecture.md)::

    {"network": "nvpanoptix3d", "action": "train", "status": "running|done|failed",
     "monitor": {"metric": "PRQ", "direction": "maximize"}, "best": {"metric", "value", "epoch", "step"},
     "started": iso-time, "updated": iso-time, "message": "...",
     "entries": [{"epoch", "step", "time", "elapsed_s", "kpi": {"PRQ", "RSQ", "RRQ", "PQ", ...},
                  "loss": {...}, "per_class": {...}}]}

The runner and AutoML read ``entries[*].kpi[metric]``; ``epoch``/``step`` equal the numbers in the
name of the checkpoint written at the same point, so the best entry names its checkpoint.
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nvpanoptix3d.engine.fsutil import atomic_write_json

MONITOR = {"metric": "PRQ", "direction": "maximize"}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """Floats only (NaN/inf become None so the file stays valid JSON)."""
    out = {}
    for k, v in values.items():
        if isinstance(v, dict):
            out[k] = _clean(v)
            continue
        v = float(v.item() if hasattr(v, "item") else v)
        out[k] = v if math.isfinite(v) else None
    return out


class StatusFile:
    """Accumulates entries and rewrites the whole file atomically after every change."""

    def __init__(self, results_dir: str | Path, *, action: str, metric: str = MONITOR["metric"],
                 direction: str = MONITOR["direction"], network: str = "nvpanoptix3d", enabled: bool = True) -> None:
        if direction not in ("maximize", "minimize"):
            raise ValueError(f"direction must be maximize or minimize, got {direction!r}")
        self.path = Path(results_dir) / "status.json"
        self.enabled = enabled
        self._t0 = time.monotonic()
        self.data: dict[str, Any] = {
            "network": network, "action": action, "status": "running",
            "monitor": {"metric": metric, "direction": direction}, "best": None,
            "started": _now(), "updated": _now(), "message": "", "entries": [],
        }

    @property
    def entries(self) -> list[dict[str, Any]]:
        return self.data["entries"]

    def resume_from(self, previous: dict[str, Any] | None, *, up_to_step: int) -> None:
        """Keep the entries of an earlier run up to ``up_to_step`` (a resumed training continues its history)."""
        if not previous:
            return
        kept = [e for e in previous.get("entries", []) if isinstance(e, dict) and e.get("step", 0) <= up_to_step]
        self.data["entries"] = kept
        self._update_best()

    def add_entry(self, *, epoch: int, step: int, kpi: dict[str, Any], loss: dict[str, Any] | None = None,
                  per_class: dict[str, Any] | None = None) -> dict[str, Any]:
        entry = {"epoch": int(epoch), "step": int(step), "time": _now(),
                 "elapsed_s": round(time.monotonic() - self._t0, 3), "kpi": _clean(kpi), "loss": _clean(loss or {})}
        if per_class:
            entry["per_class"] = per_class
        self.entries.append(entry)
        self._update_best()
        self.write()
        return entry

    def _update_best(self) -> None:
        metric = self.data["monitor"]["metric"]
        scored = [e for e in self.entries if isinstance(e.get("kpi", {}).get(metric), (int, float))]
        if not scored:
            self.data["best"] = None
            return
        pick = max if self.data["monitor"]["direction"] == "maximize" else min
        best = pick(scored, key=lambda e: e["kpi"][metric])
        self.data["best"] = {"metric": metric, "value": best["kpi"][metric], "epoch": best["epoch"], "step": best["step"]}

    def finish(self, status: str = "done", message: str = "") -> None:
        if status not in ("running", "done", "failed"):
            raise ValueError(f"status must be running, done or failed, got {status!r}")
        self.data["status"] = status
        self.data["message"] = message
        self.write()

    def write(self) -> None:
        if not self.enabled:
            return
        self.data["updated"] = _now()
        atomic_write_json(self.path, self.data)
