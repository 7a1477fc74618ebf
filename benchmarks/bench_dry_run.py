#!/usr/bin/env python3
"""Wall time of `tao-skill run nvpanoptix3d train ... --dry-run --json` against `python -c pass`.

Agents plan many times; the target is a plan in <= 0.15 s and <= 12x a bare interpreter start, for the
first plan of a spec too. Prints: the bare start; the first plan of a spec in a fresh cache (cold: no
remembered verdict, no memory estimate; tao_skill.validation's fast path accepts it through the compiled
validator and the config's rules on a plain dict), median of COLD_RUNS fresh caches; the median of later
plans of the same spec with fresh job ids (warm: the verdict is remembered, tao_skill.verdicts); wall and
CPU time (user+sys) of each with its ratio to the bare start, the load average, and which heavy modules
the cold and the warm plan import. `--importtime` also prints the slowest top-level imports of one cold
and one warm plan (python -X importtime).
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
COLD_RUNS = 5
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
    from tao_skill.skills import get_skill  # noqa: PLC0415 - the skill's compiled validators (schemas/*_validator.py)

    schemas = get_skill("nvpanoptix3d").root / "schemas"
    if not any(str(schemas).startswith(d) for d in dirs):  # an installed wheel has them under tao_skill/bank
        dirs.append(str(schemas))
    subprocess.run([sys.executable, "-m", "compileall", "-q", *dirs], check=False, capture_output=True)
    return dirs


def _estimators(cache: str) -> list[str]:
    """Pids of estimator children still running for ``cache`` (their command line names the result file
    under it); [] where /proc cannot tell."""
    out = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cache.encode() in cmdline.read_bytes():
                out.append(cmdline.parent.name)
        except OSError:
            continue
    return out


def _wait_for_estimate(cache: str) -> float:
    """The first plan of a configuration starts its memory estimate in the background (tao_skill.preflight):
    let it finish and its process exit (tearing down torch takes a while after the file appears, and on
    two vCPUs it slows whatever runs beside it), so that the next timed plan runs alone; seconds waited."""
    waited = time.monotonic()
    while not list(Path(cache, "estimates").glob("*.json")) and time.monotonic() - waited < 120:
        time.sleep(0.2)
    while _estimators(cache) and time.monotonic() - waited < 120:
        time.sleep(0.1)
    return time.monotonic() - waited


def _probe(dry: list[str], env: dict[str, str]) -> str:
    """Which heavy modules one plan imports (run in-process after the CLI returns)."""
    proc = subprocess.run([sys.executable, "-c", (
        "import sys, io, json, contextlib; from tao_skill.cli import main\n"
        f"sys.argv = {dry[3:]!r}\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(sys.argv)\n"
        "print(json.dumps({m: m in sys.modules for m in ('torch', 'jsonschema', 'pydantic', 'fastjsonschema', 'boto3', 'optuna')}))")],
        capture_output=True, text=True, env=env)
    return proc.stdout.strip() or proc.stderr.strip()[-300:]


def main() -> None:
    compiled = _bytecode()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as ws, tempfile.TemporaryDirectory() as caches:
        def dry_run(cache: str) -> tuple[list[str], dict[str, str]]:
            env = {**os.environ, "TAO_SKILL_CACHE": cache}
            return [sys.executable, "-c", ENTRY, "run", "nvpanoptix3d", "train", "--train-dataset",
                    "s3://bucket/data/train", "--eval-dataset", "s3://bucket/data/eval", "--workspace", ws,
                    "--dry-run", "--json"], env

        bare = [sys.executable, "-c", "pass"]
        base = statistics.median(_time(bare, dict(os.environ)))
        cold_walls, cold_cpus, waits, paired_walls, paired_cpus = [], [], [], [], []
        for i in range(COLD_RUNS):  # each in a fresh cache: no verdict, no estimate remembered
            cache = str(Path(caches, f"cold{i}"))
            dry, env = dry_run(cache)
            # a bare interpreter start first, as before every warm sample but the first: after seconds of
            # sleep while the estimator ran, the first process pays the CPU's wake-up, which is not the plan's
            subprocess.run(bare, check=True, capture_output=True)
            cold_walls.append(_time(dry, env, runs=1)[0])
            cold_cpus.append(CPU.pop(id(dry))[0])
            waits.append(_wait_for_estimate(cache))
            # the same spec again right after the same wait: warm, under the cold plan's conditions (the
            # estimator's seconds of work have just left the CPU caches cold for both)
            paired_walls.append(_time(dry, env, runs=1)[0])
            paired_cpus.append(CPU.pop(id(dry))[0])
        cold_probe_dry, cold_probe_env = dry_run(str(Path(caches, "probe")))
        cold_imports = _probe(cold_probe_dry, cold_probe_env)
        _wait_for_estimate(str(Path(caches, "probe")))
        cache = str(Path(caches, "cold0"))  # warm: the cache of the first cold plan
        dry, env = dry_run(cache)
        warm = statistics.median(_time(dry, env))
        warm_imports = _probe(dry, env)
        imports = []
        if "--importtime" in sys.argv:
            imports = [("cold", _importtime(*dry_run(str(Path(caches, "importtime"))))), ("warm", _importtime(dry, env))]
    cold = statistics.median(cold_walls)
    print(f"bytecode compiled for   : {', '.join(compiled)}")
    print(f"python -c pass          : {base:.3f} s (median of {RUNS})")
    print(f"plan, first (cold)      : {cold:.3f} s (median of {COLD_RUNS} fresh caches, {cold / base:.1f}x; "
          f"each: {', '.join(f'{w:.3f}' for w in cold_walls)})")
    print(f"background estimate     : ready {statistics.median(waits):.1f} s after the first plan")
    paired = statistics.median(paired_walls)
    print(f"plan, again after it    : {paired:.3f} s (warm, each right after its cold plan's wait, {paired / base:.1f}x)")
    print(f"plan, again (warm)      : {warm:.3f} s (median of {RUNS} back to back, {warm / base:.1f}x)")
    for name, t in (("cold", cold), ("warm", warm)):
        met = t <= 0.15 and t <= 12 * base
        print(f"target <= 0.15 s and <= 12x: {'met' if met else 'MISSED'} ({name})")
    cpu_base, cpu_warm = statistics.median(CPU[id(bare)]), statistics.median(CPU[id(dry)])
    cpu_cold, cpu_paired = statistics.median(cold_cpus), statistics.median(paired_cpus)
    print(f"CPU time (user+sys)     : bare {cpu_base:.3f} s, cold plan {cpu_cold:.3f} s ({cpu_cold / cpu_base:.1f}x), "
          f"warm after it {cpu_paired:.3f} s ({cpu_paired / cpu_base:.1f}x), "
          f"warm back to back {cpu_warm:.3f} s ({cpu_warm / cpu_base:.1f}x)")
    print(f"load average (1 min)    : {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs")
    print(f"imported on the cold plan path: {cold_imports}")
    print(f"imported on the warm plan path: {warm_imports}")
    for label, rows in imports:
        print(f"slowest imports ({label}):")
        for seconds, name in rows:
            print(f"  {seconds:6.3f} s  {name}")


if __name__ == "__main__":
    main()
