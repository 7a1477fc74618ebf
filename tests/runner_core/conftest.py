from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "toy_network"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A generated toy skill directory, a dataset for it and an isolated workspace."""
    from tao_skill.schemagen import generate

    skill = tmp_path / "toy_skill"
    shutil.copytree(FIXTURE, skill)
    info = skill / "references" / "skill_info.yaml"
    info.write_text(info.read_text().replace("{fixture}", str(skill)))
    monkeypatch.syspath_prepend(str(skill))
    monkeypatch.setenv("PYTHONPATH", str(skill))
    sys.modules.pop("toynet_config", None)
    generate(skill)
    data = tmp_path / "data"
    data.mkdir()
    (data / "labels.json").write_text("{}")
    ws = tmp_path / "ws"
    monkeypatch.setenv("TAO_SKILL_WORKSPACE", str(ws))
    monkeypatch.delenv("TAO_SKILL_KEY", raising=False)
    return {"skill": skill, "data": data, "ws": ws, "tmp": tmp_path}


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def repo():
    return REPO


def run_cli(*args: str, env: dict | None = None, check_json: bool = True):
    """Run the real CLI in a subprocess; returns (exit code, parsed JSON or None, stdout, stderr)."""
    import os

    proc = subprocess.run([sys.executable, "-c", "import sys; from tao_skill.cli import main; sys.exit(main())", *args],
                          capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})
    doc = None
    if check_json and "--json" in args:
        doc = json.loads(proc.stdout)
    return proc.returncode, doc, proc.stdout, proc.stderr
