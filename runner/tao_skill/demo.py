"""`tao-skill demo NETWORK`: run a skill's built-in end-to-end recipe through the public CLI.

A skill declares its demo in ``references/skill_info.yaml`` (``demo.steps``): dataset tools and
runner jobs, each step able to name an earlier job as its parent. Every step is executed as a real
``tao-skill`` command in a subprocess — the demo exercises exactly what a user or an agent runs, and
the runner stays network-agnostic. The summary lists each job, its status, its KPIs and its outputs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

CLI = [sys.executable, "-c", "import sys; from tao_skill.cli import main; sys.exit(main())"]


@dataclass
class StepResult:
    name: str
    kind: str
    exit_code: int
    seconds: float
    job_id: str | None = None
    job: dict[str, Any] = field(default_factory=dict)
    error: str = ""


class DemoError(RuntimeError):
    pass


def _fill(value: str, ctx: dict[str, str]) -> str:
    for key, sub in ctx.items():
        value = value.replace("{" + key + "}", sub)
    return value


def _last_json(text: str) -> dict[str, Any]:
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        start = text.rfind("\n{")
        return json.loads(text[start + 1:]) if start >= 0 else {}


def run_demo(
    network: str,
    steps: list[dict[str, Any]],
    *,
    workdir: Path,
    workspace: Path,
    skill_dir: Path,
    extra_cli: list[str] | None = None,
    echo: Callable[[str], None] = print,
) -> list[StepResult]:
    """Execute the recipe; stop at the first failing step. Returns one result per executed step."""
    workdir.mkdir(parents=True, exist_ok=True)
    ctx = {"workdir": str(workdir), "workspace": str(workspace), "skill_dir": str(skill_dir), "python": sys.executable}
    results: list[StepResult] = []
    jobs: dict[str, str] = {}
    common = ["--workspace", str(workspace), *(extra_cli or [])]
    for step in steps:
        name = step["name"]
        args = [_fill(str(a), ctx) for a in step.get("args", [])]
        if "tool" in step:
            argv = [*CLI, "dataset", step["tool"], network, *args]
            kind = f"dataset {step['tool']}"
        else:
            argv = [*CLI, "run", network, step["run"], *args, *common, "--json"]
            if step.get("parent"):
                if step["parent"] not in jobs:
                    raise DemoError(f"demo step `{name}` names parent `{step['parent']}`, which produced no job")
                argv += ["--parent-job", jobs[step["parent"]]]
            kind = f"run {step['run']}"
        echo(f"[demo] {name}: tao-skill {' '.join(argv[len(CLI):])}")
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        result = StepResult(name, kind, proc.returncode, seconds)
        if "run" in step:
            doc = _last_json(proc.stdout)
            result.job_id = doc.get("job_id") or (doc.get("job") or {}).get("job_id")
            if result.job_id:
                jobs[name] = result.job_id
                show = subprocess.run([*CLI, "jobs", "show", result.job_id, *common, "--json"],
                                      capture_output=True, text=True)
                result.job = _last_json(show.stdout) if show.returncode == 0 else {}
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
            result.error = "\n".join(tail)
        results.append(result)
        echo(f"[demo] {name}: exit {proc.returncode} in {seconds:.1f} s" + (f", job {result.job_id}" if result.job_id else ""))
        if proc.returncode != 0:
            break
    return results
