from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ACTIONS = ["train", "evaluate", "inference", "export", "gen_trt_engine"]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def schemas() -> dict[str, dict]:
    return {a: json.loads((REPO / "schemas" / f"{a}.schema.json").read_text()) for a in ACTIONS}
