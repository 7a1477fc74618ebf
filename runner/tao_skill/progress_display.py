"""One live progress display of a running job, drawn from the entrypoint's structured progress lines.

Protocol (network-agnostic): the runner starts the entrypoint with ``TAO_SKILL_PROGRESS=1``; an entrypoint
that supports it writes lines ``TAO_PROGRESS {json}`` to its output, with at least ``step`` and ``total``
and optionally ``phase``, ``epoch``, ``epochs``, ``loss``, ``eta_s``, ``elapsed_s``. Those lines never
reach the console or ``log.txt``: on a terminal they drive one rich progress bar (the job's other output
scrolls above it), elsewhere a plain ``progress: ...`` line is printed at most every ``interval_s``
seconds (and at the first and the last update). The latest update is kept in ``progress.json`` beside
the job's log, so other commands can say how far a job is.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from tao_skill.jobs import atomic_write

PROGRESS_ENV = "TAO_SKILL_PROGRESS"
PROGRESS_PREFIX = "TAO_PROGRESS "


def parse_progress(line: str) -> dict[str, Any] | None:
    """The progress document of a ``TAO_PROGRESS {...}`` line (None for any other line, or a malformed one)."""
    if not line.startswith(PROGRESS_PREFIX):
        return None
    try:
        doc = json.loads(line[len(PROGRESS_PREFIX):])
    except ValueError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("step"), int) or not isinstance(doc.get("total"), int):
        return None
    return doc


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}"


def _details(doc: dict[str, Any]) -> list[str]:
    parts = []
    if isinstance(doc.get("loss"), (int, float)):
        parts.append(f"loss {doc['loss']:.4g}")
    if doc.get("elapsed_s") is not None:
        parts.append(f"elapsed {format_duration(doc['elapsed_s'])}")
    parts.append(f"eta {format_duration(doc.get('eta_s'))}")
    return parts


def _epoch(doc: dict[str, Any]) -> list[str]:
    return [f"epoch {doc.get('epoch', '?')}/{doc['epochs']}"] if doc.get("epochs") else []


def describe(doc: dict[str, Any]) -> str:
    """``train epoch 1/2 step 3/4 (75%) loss 0.5231 elapsed 0:00:07 eta 0:00:02``."""
    total, step = doc["total"], doc["step"]
    pct = f" ({100 * step / total:.0f}%)" if total > 0 else ""
    return " ".join([str(doc.get("phase") or "run"), *_epoch(doc), f"step {step}/{total}{pct}", *_details(doc)])


class ProgressDisplay:
    """Context manager owning the job's console output while it runs.

    ``feed(line)`` returns True when the line was a progress update (consumed); ``echo(line)`` prints any
    other line of the job so that it scrolls above the live bar.

    Args:
        stream: where the job's output goes (stdout, or stderr under ``--json``).
        live: draw a rich live bar; default: when ``stream`` is a terminal.
        interval_s: the least time between two plain progress lines.
        state_file: where the latest update is kept (``progress.json``), or None.
    """

    def __init__(self, stream: TextIO, *, live: bool | None = None, interval_s: float = 10.0,
                 state_file: Path | None = None) -> None:
        self.stream = stream
        self.live = _isatty(stream) if live is None else live
        self.interval_s = interval_s
        self.state_file = state_file
        self.last: dict[str, Any] | None = None
        self._printed_at: float | None = None
        self._last_printed: dict[str, Any] | None = None
        self._saved_at = 0.0
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressDisplay:
        if self.live:
            from rich.console import Console  # noqa: PLC0415
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn  # noqa: PLC0415

            console = Console(file=self.stream, force_terminal=True, highlight=False)
            self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn("{task.fields[detail]}"), console=console, transient=False,
                                      refresh_per_second=4, redirect_stdout=False, redirect_stderr=False)
            self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        elif self.last is not None and self.last is not self._last_printed:
            self._plain(self.last)  # the final state, also when the last update fell inside an interval
        self._save(force=True)

    def feed(self, line: str) -> bool:
        doc = parse_progress(line)
        if doc is None:
            return False
        self.last = doc
        if self._progress is not None:
            self._draw(doc)
        else:
            now = time.monotonic()
            final = doc.get("phase") == "done" or (doc["total"] > 0 and doc["step"] >= doc["total"]
                                                   and doc.get("phase") != "validate")
            if self._printed_at is None or now - self._printed_at >= self.interval_s or final:
                self._plain(doc)
        self._save()
        return True

    def echo(self, line: str) -> None:
        if self._progress is not None:
            self._progress.console.print(line.rstrip("\n"), markup=False, highlight=False, soft_wrap=True)
        else:
            self.stream.write(line)
            self.stream.flush()

    # ------------------------------------------------------------------ internals
    def _draw(self, doc: dict[str, Any]) -> None:
        fields = {"detail": "  ".join([*_epoch(doc), *_details(doc)])}
        kw = dict(description=str(doc.get("phase") or "run"), total=max(doc["total"], 1), completed=doc["step"])
        if self._task is None:
            self._task = self._progress.add_task(**kw, **fields)
        else:
            self._progress.update(self._task, **kw, **fields)

    def _plain(self, doc: dict[str, Any]) -> None:
        self.stream.write(f"progress: {describe(doc)}\n")
        self.stream.flush()
        self._printed_at = time.monotonic()
        self._last_printed = doc

    def _save(self, force: bool = False) -> None:
        if self.state_file is None or self.last is None:
            return
        now = time.monotonic()
        if not force and now - self._saved_at < 2.0:
            return
        self._saved_at = now
        try:
            atomic_write(self.state_file, json.dumps({**self.last, "updated": time.time()}) + "\n")
        except OSError:
            pass  # the display matters more than the state file


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def read_progress(job_dir: str | Path) -> dict[str, Any] | None:
    """The latest progress update of a job (``progress.json``), or None."""
    try:
        doc = json.loads((Path(job_dir) / "progress.json").read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None
