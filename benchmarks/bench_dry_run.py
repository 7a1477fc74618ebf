#!/usr/bin/env python3
"""Wall time of `tao-skill run nvpanoptix3d train ... --dry-run --json` against `python -c pass`.

Agents call the runner many times to plan; the plan path must stay cheap (target < 0.5 s on a laptop):
no torch import, lazy jsonschema/pydantic. Prints median seconds of each and the ratio.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 7


def _time(argv: list[str]) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    with tempfile.TemporaryDirectory() as ws:
        dry = [sys.executable, "-c", "import sys; from tao_skill.cli import main; sys.exit(main())", "run",
               "nvpanoptix3d", "train", "--train-dataset", "s3://bucket/data/train", "--eval-dataset",
               "s3://bucket/data/eval", "--workspace", ws, "--dry-run", "--json"]
        base = _time([sys.executable, "-c", "pass"])
        plan = _time(dry)
        probe = subprocess.run([sys.executable, "-c", "import sys; from tao_skill.cli import main; "
                                "from tao_skill.plan import prepare, RunRequest; "
                                f"prepare(RunRequest('nvpanoptix3d', 'train', train_dataset='s3://b/t', eval_dataset='s3://b/e', workspace='{ws}')); "
                                "print('torch' in sys.modules)"], capture_output=True, text=True)
    print(f"python -c pass      : {base:.3f} s (median of {RUNS})")
    print(f"tao-skill --dry-run : {plan:.3f} s (median of {RUNS})")
    print(f"ratio               : {plan / base:.1f}x")
    print(f"target < 0.5 s      : {'met' if plan < 0.5 else 'MISSED'}; torch imported on the plan path: {probe.stdout.strip()}")


if __name__ == "__main__":
    main()
