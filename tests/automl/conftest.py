"""Fixtures for the AutoML tests: a generated copy of the `hpotoy` skill (KPI a known function of lr,
wd and optimizer), a dataset for it, an isolated workspace, and the CLI as a background process (the
in-process `tao` fixture is in tests/conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "automl_skill"


@pytest.fixture(scope="session")
def generated_skill(tmp_path_factory) -> Path:
    """The fixture skill with its schema and template generated once per session."""
    from tao_skill.schemagen import generate

    skill = tmp_path_factory.mktemp("hpotoy") / "skill"
    shutil.copytree(FIXTURE, skill, ignore=shutil.ignore_patterns("__pycache__"))
    sys.path.insert(0, str(skill))
    try:
        generate(skill)
    finally:
        sys.path.remove(str(skill))
    return skill


@pytest.fixture
def hpo(generated_skill, tmp_path, monkeypatch):
    """A private copy of the generated skill, a dataset, an isolated workspace, no key in the environment."""
    skill = tmp_path / "skill"
    shutil.copytree(generated_skill, skill)
    data = tmp_path / "data"
    data.mkdir()
    (data / "labels.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TAO_SKILL_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("PYTHONPATH", str(skill) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    monkeypatch.syspath_prepend(str(skill))
    for var in ("TAO_SKILL_KEY", "TAO_SKILL_ENCRYPTION_KEY"):
        monkeypatch.delenv(var, raising=False)
    return {"skill": skill, "data": data, "ws": tmp_path / "ws", "tmp": tmp_path}


def train_args(hpo: dict, *extra: str) -> list[str]:
    return ["run", "hpotoy", "train", "--skill-dir", str(hpo["skill"]), "--train-dataset", str(hpo["data"]),
            "--json", *extra]


def spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """The installed CLI as a background process (for parallel workers and crash tests)."""
    return subprocess.Popen([sys.executable, "-c", "import sys; from tao_skill.cli import main; sys.exit(main())",
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, start_new_session=True)


def seen(ws: Path, job_id: str) -> dict:
    """What the fixture entrypoint of a trial job ran with (results/seen.json)."""
    return json.loads((ws / "jobs" / job_id / "results" / "seen.json").read_text())


def children(tao, parent: str) -> list[dict]:
    res = tao("jobs", "list", "--parent", parent, "--json")
    assert res.code == 0, res.out
    return res.doc["jobs"]
