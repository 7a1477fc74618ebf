"""Fixtures for the runner tests: the CLI in-process (click's CliRunner) and as a real subprocess,
an isolated workspace, and a copy of the toy skill directory with a dataset for it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
TOY_FIXTURE = REPO / "tests" / "fixtures" / "toy_skill"


@dataclass
class Outcome:
    """What a CLI call produced: exit code, stdout, stderr, and stdout parsed as JSON (when --json)."""

    code: int
    out: str
    err: str
    doc: Any = None


def make_dataset(root: Path) -> Path:
    """The toy layout: labels.json, meta/val.json, images/."""
    (root / "meta").mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    (root / "labels.json").write_text("{}")
    (root / "meta" / "val.json").write_text("{}")
    (root / "images" / "a.png").write_bytes(b"png")
    return root


@pytest.fixture(autouse=True)
def isolation(tmp_path, monkeypatch):
    """Every test runs in its own folder with its own workspace and no key in the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TAO_SKILL_WORKSPACE", str(tmp_path / "ws"))
    for var in ("TAO_SKILL_KEY", "TAO_SKILL_ENCRYPTION_KEY", "WORLD_SIZE", "NODE_RANK", "MASTER_ADDR",
                "MASTER_PORT", "NUM_GPU_PER_NODE"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


@pytest.fixture
def toy(tmp_path):
    """A private copy of the toy skill (tests may break it) and a dataset in its layout."""
    skill = tmp_path / "toy_skill"
    shutil.copytree(TOY_FIXTURE, skill, ignore=shutil.ignore_patterns("__pycache__"))
    return {"skill": skill, "data": make_dataset(tmp_path / "data"), "ws": tmp_path / "ws", "tmp": tmp_path}


@pytest.fixture
def tao():
    """``tao("run", ...)``: the CLI in-process through click's CliRunner, exactly as the script runs it."""
    from tao_skill.app import Application
    from tao_skill.cli import cli

    def invoke(*args: str, env: dict[str, str] | None = None) -> Outcome:
        result = CliRunner().invoke(cli, list(args), obj=Application(), env=env, catch_exceptions=False)
        doc = json.loads(result.stdout) if "--json" in args and result.stdout.strip() else None
        return Outcome(result.exit_code, result.stdout, result.stderr, doc)

    return invoke


def run_script(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Outcome:
    """The installed entry point (``tao_skill.cli:main``) in a subprocess."""
    proc = subprocess.run([sys.executable, "-c", "import sys; from tao_skill.cli import main; sys.exit(main())", *args],
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    doc = json.loads(proc.stdout) if "--json" in args and proc.stdout.strip() else None
    return Outcome(proc.returncode, proc.stdout, proc.stderr, doc)


@pytest.fixture
def script():
    return run_script


def toy_args(toy: dict, action: str = "train", *extra: str, dataset: bool = True) -> list[str]:
    """``run toyseg ACTION --skill-dir ... --json`` plus the dataset flags the action needs."""
    args = ["run", "toyseg", action, "--skill-dir", str(toy["skill"]), "--json"]
    if dataset and action == "train":
        args += ["--train-dataset", str(toy["data"]), "--eval-dataset", str(toy["data"]), "--automl-policy", "off"]
    elif dataset and action == "evaluate":
        args += ["--eval-dataset", str(toy["data"])]
    elif dataset and action == "inference":
        args += ["--inference-dataset", str(toy["data"])]
    return [*args, *extra]


@pytest.fixture
def toy_run(tao, toy):
    """``toy_run("train", "--override", ..., env=...)``: run a toy action in-process with its dataset flags."""

    def call(action: str = "train", *extra: str, dataset: bool = True, env: dict[str, str] | None = None) -> Outcome:
        return tao(*toy_args(toy, action, *extra, dataset=dataset), env=env)

    return call


@pytest.fixture
def mapping():
    """``mapping(plan, key)``: the plan's mapping entry for ``key``."""

    def find(plan: dict, key: str) -> dict:
        found = [m for m in plan["mappings"] if m["key"] == key]
        assert found, f"no mapping for {key}: {plan['mappings']}"
        return found[0]

    return find
