"""Offline agent evals in NVIDIA's evals.json format (id, question, expected_skill, ground_truth,
expected_behavior) for every skill: each entry's prescribed `tao-skill` call (``tao_skill.call``) runs with
--dry-run --json in an isolated workspace, and the plan (or error document) must say what
``tao_skill.expect`` says.

Placeholders in a call: {question} the entry's question (passed as --request), {data} a local dataset root,
{ptm} a checkpoint file, {parent_train} / {parent_export} / {parent_engine} ids of finished jobs.
expect: exit_code; plan (dotted paths into the plan, spec.* into the resolved spec); mappings (spec key ->
spec_params function); errors (keys that must be reported); suggestion; search_space / not_searched (keys);
ranges ({key: [low, high]}); choices ({key: [...]}).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest


REPO = Path(__file__).resolve().parents[2]
EVALS = sorted((REPO / "skills").glob("*/evals/evals.json"))
CASES = [(path.parent.parent.name, case) for path in EVALS for case in json.loads(path.read_text())]


def test_every_skill_has_evals_covering_its_workflows():
    skills = {p.parent.name for p in (REPO / "skills").glob("*/SKILL.md")}
    assert {p.parent.parent.name for p in EVALS} == skills
    nv = [c for s, c in CASES if s == "tao-train-nvpanoptix3d"]
    actions = {c["tao_skill"]["call"][2] for c in nv}
    assert actions >= {"train", "evaluate", "inference", "export", "gen_trt_engine"}
    flags = {a for c in nv for a in c["tao_skill"]["call"] if a.startswith("--")}
    assert flags >= {"--parent-job", "--ptm", "--resume", "--results-dir", "--request", "--automl-policy"}
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in c["question"]) for c in nv)
    assert len({c["id"] for _, c in CASES}) == len(CASES)


@pytest.fixture(scope="module")
def world(tmp_path_factory, eval_world):
    return eval_world(tmp_path_factory.mktemp("evals"))


def _get(doc, dotted):
    node = doc
    for part in dotted.split("."):
        node = node[part]
    return node


@pytest.mark.parametrize(("skill", "case"), CASES, ids=[f"{s}:{c['id']}" for s, c in CASES])
def test_eval_case(skill, case, world, tao):
    assert case["expected_skill"] == skill and case["expected_behavior"] and case["ground_truth"]
    ctx = {"question": case["question"], "data": world["data"], "ptm": world["ptm"],
           "parent_train": world["parent_train"], "parent_export": world["parent_export"],
           "parent_engine": world["parent_engine"]}
    call = [str(a).format(**ctx) for a in case["tao_skill"]["call"]]
    res = tao(*call, "--workspace", str(world["workspace"]), "--dry-run", "--json")
    expect = case["tao_skill"]["expect"]
    assert res.code == expect["exit_code"], res.out + res.err
    doc = res.doc
    for key, value in expect.get("plan", {}).items():
        value = value.format(**ctx) if isinstance(value, str) else value
        assert _get(doc, key) == value, f"{key}: {_get(doc, key)!r} != {value!r}"
    mapped = {m["key"]: m["function"] for m in doc.get("mappings", [])}
    for key, fn in expect.get("mappings", {}).items():
        assert mapped.get(key) == fn, f"{key} not mapped by {fn}: {doc.get('mappings')}"
    if "errors" in expect:
        assert set(expect["errors"]) <= {e["key"] for e in doc["errors"]}, doc["errors"]
    if "suggestion" in expect:
        assert expect["suggestion"] in {e.get("suggestion") for e in doc["errors"]}, doc["errors"]
    space = {p["key"]: p for p in (doc.get("automl") or {}).get("search_space", [])}
    assert set(expect.get("search_space", [])) <= set(space), list(space)
    assert not set(expect.get("not_searched", [])) & set(space), list(space)
    for key, (low, high) in expect.get("ranges", {}).items():
        assert (space[key]["low"], space[key]["high"]) == pytest.approx((low, high))
    for key, choices in expect.get("choices", {}).items():
        assert space[key]["choices"] == choices
