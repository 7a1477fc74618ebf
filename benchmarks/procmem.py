"""Peak resident memory of this process on Linux, for the CPU figures of the benchmarks (/proc/self)."""

from __future__ import annotations


def status_mib(field: str) -> float:
    """A memory line of /proc/self/status (VmRSS, VmHWM, ...) in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


def reset_peak_rss() -> None:
    """Writing 5 to clear_refs resets the peak resident set (VmHWM) to the current one."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
