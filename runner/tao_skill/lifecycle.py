"""A job's training dies with its runner: own process group, parent-death signal, and a guard process.

Why three parts: the entrypoint runs in its own session (process group) so a stop reaches its data
loader workers too. On Linux the kernel sends it SIGKILL when the runner dies (``PR_SET_PDEATHSIG``),
but that reaches only the direct child and exists nowhere else. The guard covers the rest on every
POSIX system: a small process that holds the read end of a pipe whose write end only the runner
holds. When the runner ends for any reason (even ``kill -9``) the pipe reaches EOF and the guard
stops the whole training group (SIGTERM, then SIGKILL after a grace period).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Callable

_PR_SET_PDEATHSIG = 1
GUARD_GRACE_S = 10.0


def child_setup() -> None:
    """``preexec_fn`` of the entrypoint: SIGKILL when the runner dies (Linux only; harmless elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class Guard:
    """The guard process of one running entrypoint (see the module docstring)."""

    def __init__(self, pgid: int) -> None:
        read_fd, self._write_fd = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tao_skill.lifecycle", str(pgid)], stdin=read_fd,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
        finally:
            os.close(read_fd)

    def release(self) -> None:
        """The job ended normally: close the pipe; the guard reaps what is left of the group and exits."""
        if self._write_fd is not None:
            os.close(self._write_fd)
            self._write_fd = None
        try:
            self.proc.wait(timeout=GUARD_GRACE_S + 5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def heartbeat(stop: threading.Event, beat: Callable[[], None], every_s: float) -> threading.Thread:
    """Call ``beat`` every ``every_s`` seconds until ``stop`` is set (a daemon thread)."""

    def loop() -> None:
        while not stop.wait(every_s):
            try:
                beat()
            except Exception:  # noqa: BLE001 - a busy database must not stop the job
                pass

    thread = threading.Thread(target=loop, name="job-heartbeat", daemon=True)
    thread.start()
    return thread


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _guard(pgid: int) -> int:
    """Wait for EOF on stdin (the runner is gone or done), then stop what is left of group ``pgid``."""
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    while os.read(0, 1024):
        pass
    if not _group_alive(pgid):
        return 0
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return 0
    deadline = time.monotonic() + GUARD_GRACE_S
    while time.monotonic() < deadline and _group_alive(pgid):
        time.sleep(0.2)
    if _group_alive(pgid):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(_guard(int(sys.argv[1])))
