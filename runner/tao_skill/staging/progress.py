"""A byte-progress bar for transfers (rich, on stderr), silent when not on a terminal."""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from typing import Callable, Iterator


def progress_wanted(progress: bool) -> bool:
    """A bar is drawn only when asked for and stderr is an interactive terminal."""
    try:
        return bool(progress) and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def transfer_progress(description: str, total_bytes: int, *, enabled: bool) -> Iterator[Callable[[int], None]]:
    """Yield an ``advance(n_bytes)`` callback, thread-safe, drawing a bar when ``enabled``.

    Args:
        description: Label of the bar (e.g. ``"s3://bucket/prefix (120 files)"``).
        total_bytes: Expected number of bytes.
        enabled: Draw the bar (see :func:`progress_wanted`); otherwise the callback only counts.
    """
    lock = threading.Lock()
    done = [0]
    if not enabled:
        def count(n: int) -> None:
            with lock:
                done[0] += n
        yield count
        return

    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=max(total_bytes, 1))

        def advance(n: int) -> None:
            bar.update(task, advance=n)  # rich's Progress is internally locked

        yield advance
