#!/usr/bin/env python3
"""Wall time of `tao-skill run nvpanoptix3d train ... --dry-run --json` against `python -c pass`.

Agents plan many times; the target is a plan in <= 0.15 s and <= 12x a bare interpreter start. Prints:
the bare start, the first plan of a spec (cold: jsonschema and the pydantic config are imported to
validate it), the median of later plans of the same spec with fresh job ids (warm: the verdict is
remembered, tao_skill.verdicts), the ratio, and which heavy modules the warm plan path imports.
`--importtime` also prints the slowest top-level imports of one warm plan (python -X importtime).
"""

from __future__ import annotations

import json
import os
import re
import statistics
from pathlib import Path
import subprocess
import sys
import tempfile
import time

RUNS = 9
ENTRY = "import sys; from tao_skill.cli import main; sys.exit(main())"


CPU: dict[int, list[float]] = {}


def _time(argv: list[str], env: dict[str, str], runs: int = RUNS) -> list[float]:
    """Wall seconds per run; the child's CPU seconds (user + system) go to CPU[id(argv)] (a loaded
    machine stretches wall time, much less CPU time)."""
    import resource

    samples = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        samples.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        CPU.setdefault(id(argv), []).append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return samples


def _importtime(argv: list[str], env: dict[str, str], top: int = 12) -> list[tuple[float, str]]:
    proc = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], capture_output=True, text=True, env=env)
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| ( *)(\S+)", line)
        if m and len(m.group(2)) <= 2:
            rows.append((int(m.group(1)) / 1e6, ("  " * len(m.group(2))) + m.group(3)))
    return sorted(rows, reverse=True)[:top]


def _bytecode() -> list[str]:
    """Compile tao_skill and the model package to bytecode, as `pip install` does for a wheel: with
    PYTHONDONTWRITEBYTECODE=1 (or a read-only tree) every plan would otherwise recompile the sources."""
    import importlib.util

    dirs = []
    for name in ("tao_skill", "nvpanoptix3d"):
        spec = importlib.util.find_spec(name)
        if spec and spec.submodule_search_locations:
            dirs.append(next(iter(spec.submodule_search_locations)))
    subprocess.run([sys.executable, "-m", "compileall", "-q", *dirs], check=False, capture_output=True)
    return dirs


def main() -> None:
    compiled = _bytecode()
    with tempfile.TemporaryDirectory() as ws, tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "TAO_SKILL_CACHE": cache}
        dry = [sys.executable, "-c", ENTRY, "run", "nvpanoptix3d", "train", "--train-dataset",
               "s3://bucket/data/train", "--eval-dataset", "s3://bucket/data/eval", "--workspace", ws,
               "--dry-run", "--json"]
        bare = [sys.executable, "-c", "pass"]
        base = statistics.median(_time(bare, env))
        cold = _time(dry, env, runs=1)[0]
        # the first plan of a configuration starts its memory estimate in the background (tao_skill.preflight):
        # let it finish, so the repeated plans are timed alone and find it
        waited = time.monotonic()
        while not list(Path(cache, "estimates").glob("*.json")) and time.monotonic() - waited < 120:
            time.sleep(0.2)
        waited = time.monotonic() - waited
        warm = statistics.median(_time(dry, env))
        probe = subprocess.run([sys.executable, "-c", (
            "import sys, io, json, contextlib; from tao_skill.cli import main\n"
            f"sys.argv = {dry[3:]!r}\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(sys.argv)\n"
            "print(json.dumps({m: m in sys.modules for m in ('torch', 'jsonschema', 'pydantic', 'boto3', 'optuna')}))")],
            capture_output=True, text=True, env=env)
        imports = _importtime(dry, env) if "--importtime" in sys.argv else []
    print(f"bytecode compiled for   : {', '.join(compiled)}")
    print(f"python -c pass          : {base:.3f} s (median of {RUNS})")
    print(f"plan, first (cold)      : {cold:.3f} s ({cold / base:.1f}x)")
    print(f"background estimate     : ready {waited:.1f} s after the first plan")
    print(f"plan, again (warm)      : {warm:.3f} s (median of {RUNS}, {warm / base:.1f}x)")
    met = warm <= 0.15 and warm <= 12 * base
    print(f"target <= 0.15 s and <= 12x: {'met' if met else 'MISSED'} (warm)")
    cpu_base, cpu_warm = statistics.median(CPU[id(bare)]), statistics.median(CPU[id(dry)][1:])
    print(f"CPU time (user+sys)     : bare {cpu_base:.3f} s, warm plan {cpu_warm:.3f} s ({cpu_warm / cpu_base:.1f}x); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"imported on the warm plan path: {probe.stdout.strip() or probe.stderr.strip()[-300:]}")
    for seconds, name in imports:
        print(f"  {seconds:6.3f} s  {name}")


if __name__ == "__main__":
    main()
