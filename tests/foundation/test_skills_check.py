"""`tao-skill skills check`: the bank's skill folders are self-contained Agent Skills; each rule fails on a
broken copy with a message that says what to fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

GOOD = """---
name: tao-try-thing
description: >-
  Does a thing. Use it for "try the thing".
license: Apache-2.0
compatibility: Requires the tao-skill CLI.
metadata:
  version: "0.1.0"
allowed-tools: Bash Read
---

# Thing

See `references/notes.md` and [the notes](references/notes.md). Set `train.num_epochs`.
"""
EVALS = [{"id": "a", "question": "q?", "expected_skill": "tao-try-thing", "ground_truth": "t",
          "expected_behavior": ["does it"]}]


def test_the_bank_passes(tao):
    res = tao("skills", "check", "--json")
    assert res.code == 0, res.out
    assert res.doc["ok"] is True and len(res.doc["checked"]) == 2 and res.doc["problems"] == []


def test_bank_skills_are_self_contained_copies():
    """Installed alone, a skill folder still has every file its SKILL.md names."""
    for skill in ("tao-train-nvpanoptix3d", "tao-run-automl"):
        text = (REPO / "skills" / skill / "SKILL.md").read_text()
        assert "docs/" not in text and "../" not in text
    nv = REPO / "skills" / "tao-train-nvpanoptix3d"
    assert (nv / "references" / "skill_info.yaml").read_bytes() == (REPO / "references" / "skill_info.yaml").read_bytes()
    for key in ("gen_trt_engine.tensorrt.data_type", "model.backbone.pretrained_model_path", "train.checkpoint_2d",
                "export.max_voxels", "dataset.downsample_factor", "train.gpu_ids"):
        assert f"`{key}`" in (nv / "SKILL.md").read_text(), key


def _bank(tmp_path: Path, text: str = GOOD, evals=EVALS) -> Path:
    root = tmp_path / "bank"
    folder = root / "skills" / "tao-try-thing"
    (folder / "references").mkdir(parents=True)
    (folder / "evals").mkdir()
    (folder / "SKILL.md").write_text(text)
    (folder / "references" / "notes.md").write_text("notes")
    (folder / "evals" / "evals.json").write_text(json.dumps(evals))
    (root / "schemas").mkdir()
    shutil.copy(REPO / "schemas" / "train.schema.json", root / "schemas")
    return root


def _problems(tao, root: Path) -> list[str]:
    res = tao("skills", "check", "--skill-dir", str(root), "--json")
    assert res.code == (1 if res.doc["problems"] else 0)
    return [p["message"] for p in res.doc["problems"]]


def test_a_good_skill_passes(tao, tmp_path):
    assert _problems(tao, _bank(tmp_path)) == []


@pytest.mark.parametrize(("old", "new", "message"), [
    ("name: tao-try-thing", "name: tao-other", "must equal the folder name"),
    ("name: tao-try-thing", "name: Tao_Try", "a-z, 0-9 and single hyphens"),
    ("compatibility: Requires the tao-skill CLI.\n", "", "`compatibility`"),
    ("Does a thing.", "Does a <thing>.", "must not contain `<`"),
    ("allowed-tools: Bash Read", "allowed-tools: Bash Read\ntags: [x]", "`tags` is not in the Agent Skills spec"),
    ('version: "0.1.0"', "version: 1", "`metadata` must map keys to strings"),
    ("`references/notes.md`", "`docs/data-format.md`", "does not exist in the skill folder"),
    ("(references/notes.md)", "(../../README.md)", "points outside the skill folder"),
    ("`train.num_epochs`", "`train.num_epoch`", "did you mean `train.num_epochs`"),
    ("# Thing\n", "# Thing\n" + "line\n" * 501, "keep it at most 500"),
])
def test_each_rule_fails_clearly(tao, tmp_path, old, new, message):
    assert old in GOOD
    problems = _problems(tao, _bank(tmp_path, GOOD.replace(old, new)))
    assert any(message in p for p in problems), problems


@pytest.mark.parametrize(("evals", "message"), [
    ([], "non-empty JSON array"),
    ([{**EVALS[0], "expected_skill": "other"}], "expected 'tao-try-thing'"),
    ([{**EVALS[0], "expected_behavior": []}], "non-empty list of strings"),
    ([EVALS[0], EVALS[0]], "duplicate id"),
    ([{k: v for k, v in EVALS[0].items() if k != "ground_truth"}], "`ground_truth` must be a non-empty string"),
])
def test_evals_format(tao, tmp_path, evals, message):
    problems = _problems(tao, _bank(tmp_path, evals=evals))
    assert any(message in p for p in problems), problems


def test_stale_copy_fails_and_sync_fixes_it(tao, tmp_path):
    root = _bank(tmp_path)
    (root / "docs").mkdir()
    (root / "docs" / "notes.md").write_text("the source")
    (root / "skills" / "copies.yaml").write_text("tao-try-thing:\n  references/notes.md: docs/notes.md\n")
    assert any("differs from its source" in p for p in _problems(tao, root))
    synced = tao("skills", "sync", "--skill-dir", str(root), "--json")
    assert synced.code == 0 and len(synced.doc["written"]) == 1
    assert _problems(tao, root) == []
    assert (root / "skills" / "tao-try-thing" / "references" / "notes.md").read_text() == "the source"
