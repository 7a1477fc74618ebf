"""Offline agent evals: each request's prescribed `tao-skill` call, run with --dry-run --json, yields the
expected plan (skills/tao-train-nvpanoptix3d/evals/cases.yaml)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tao_skill.jobs import JobStore

REPO = Path(__file__).resolve().parents[2]
CASES = yaml.safe_load((REPO / "skills" / "tao-train-nvpanoptix3d" / "evals" / "cases.yaml").read_text())["cases"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("evals")
    data = root / "data"
    for rel in ("meta/frustum_mask.npz", "meta/colormap.json", "meta/train.json", "meta/val.json", "meta/test.json",
                "images.tar.gz"):
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_bytes(b"placeholder")
    workspace = root / "ws"
    store = JobStore(workspace)
    ids = {}
    for name, action, files in (("parent_train", "train", ["model_epoch_000_step_00004.pth"]),
                                ("parent_export", "export", ["model_2d.onnx", "model_3d.onnx"])):
        job_id = store.new_id(action) + name[-3:]
        results = store.job_dir(job_id) / "results"
        store.create(job_id=job_id, parent_id=None, network="nvpanoptix3d", action=action, route="direct",
                     results_dir=results, results_uri=None, plan={})
        results.mkdir(parents=True, exist_ok=True)
        for f in files:
            (results / f).write_bytes(b"weights")
        store.update(job_id, status="done", finished=time.time(), exit_code=0)
        ids[name] = job_id
    return {"data": str(data), "workspace": workspace, **ids}


def _get(doc, dotted):
    node = doc
    for part in dotted.split("."):
        node = node[part]
    return node


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_eval_case(case, world):
    ctx = {"request": case["request"], "data": world["data"], "parent_train": world["parent_train"],
           "parent_export": world["parent_export"]}
    call = [str(a).format(**ctx) for a in case["call"]]
    argv = [sys.executable, "-c", "import sys; from tao_skill.cli import main; sys.exit(main())", *call,
            "--workspace", str(world["workspace"]), "--dry-run", "--json"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    expect = case["expect"]
    assert proc.returncode == expect["exit_code"], proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    for key, value in expect.get("plan", {}).items():
        assert _get(doc, key) == value, f"{key}: {_get(doc, key)!r} != {value!r}"
    mapped = {m["key"]: m["function"] for m in doc.get("mappings", [])}
    for key, fn in expect.get("mappings", {}).items():
        assert mapped.get(key) == fn, f"{key} not mapped by {fn}: {doc.get('mappings')}"
    if "errors" in expect:
        keys = {e["key"] for e in doc["errors"]}
        assert set(expect["errors"]) <= keys, doc["errors"]
    if "suggestion" in expect:
        assert expect["suggestion"] in {e.get("suggestion") for e in doc["errors"]}
