"""Machine-readable progress for the runner: ``TAO_PROGRESS {json}`` lines on stderr when ``TAO_SKILL_PROGRESS=1``.

The runner (``tao_skill.progress_display``) turns them into one live display; docs/architecture.md gives the
format. Training emits them from a Lightning callback (``engine.callbacks.ProgressReporter``); loops outside
Lightning (evaluate, inference) use :class:`StepProgress`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, TextIO

PROGRESS_ENV = "TAO_SKILL_PROGRESS"
PROGRESS_PREFIX = "TAO_PROGRESS "


def progress_requested(env: dict[str, str] | None = None) -> bool:
    return (os.environ if env is None else env).get(PROGRESS_ENV) == "1"


def emit_progress(doc: dict[str, Any], stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    stream.write(PROGRESS_PREFIX + json.dumps(doc) + "\n")
    stream.flush()


class StepProgress:
    """Progress of a plain loop of ``total`` steps (``phase`` evaluate or inference): at most one line every
    ``interval_s`` seconds, and always the first and the last. Silent unless the runner asked for it."""

    def __init__(self, phase: str, total: int, *, interval_s: float = 1.0, enabled: bool | None = None,
                 stream: TextIO | None = None) -> None:
        self.phase, self.total, self.interval_s, self.stream = phase, int(total), interval_s, stream
        self.enabled = progress_requested() if enabled is None else enabled
        self._t0 = time.monotonic()
        self._last: float | None = None

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        final = done >= self.total
        if self._last is not None and not final and now - self._last < self.interval_s:
            return
        self._last = now
        elapsed = now - self._t0
        rate = done / elapsed if elapsed > 0 and done > 0 else None
        emit_progress({"phase": "done" if final else self.phase, "step": int(done), "total": self.total,
                       "elapsed_s": round(elapsed, 2),
                       "eta_s": round((self.total - done) / rate, 1) if rate else None}, self.stream)
