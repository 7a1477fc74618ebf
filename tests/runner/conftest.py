"""Fixtures for the runner tests: an isolated workspace and a copy of the toy skill directory with a dataset
for it (the CLI fixtures `tao` and `script` are in tests/conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOY_FIXTURE = REPO / "tests" / "fixtures" / "toy_skill"


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
                "MASTER_PORT", "NUM_GPU_PER_NODE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(var, raising=False)
    # no real AWS account and no instance-metadata lookup (0.5 s per plan) reach the plan's remote checks
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    return tmp_path


@pytest.fixture
def toy(tmp_path):
    """A private copy of the toy skill (tests may break it) and a dataset in its layout."""
    skill = tmp_path / "toy_skill"
    shutil.copytree(TOY_FIXTURE, skill, ignore=shutil.ignore_patterns("__pycache__"))
    return {"skill": skill, "data": make_dataset(tmp_path / "data"), "ws": tmp_path / "ws", "tmp": tmp_path}


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

    def call(action: str = "train", *extra: str, dataset: bool = True, env: dict[str, str] | None = None):
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
