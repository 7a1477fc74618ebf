"""SKILL.md tables are generated from skill_info.yaml and the schemas; hand edits are caught as drift."""

from __future__ import annotations

import shutil

import pytest

from tao_skill.schemagen import check, generate


@pytest.fixture
def skill_copy(repo, tmp_path):
    skill = tmp_path / "skill"
    for part in ("schemas", "references", "skills"):
        shutil.copytree(repo / part, skill / part)
    return skill


def test_skill_md_tables_are_in_sync(repo):
    text = (repo / "skills" / "tao-train-nvpanoptix3d" / "SKILL.md").read_text()
    assert "| train | `dataset.train.json_path` | train_datasets | `meta/train.json` | yes |" in text
    assert "| export | `export.onnx_file_3d` | `create_onnx_file_3d` |  |" in text
    assert not [line for line in check(repo) if "SKILL.md" in line]


def test_hand_edited_table_is_drift(skill_copy):
    md = skill_copy / "skills" / "tao-train-nvpanoptix3d" / "SKILL.md"
    md.write_text(md.read_text().replace("`meta/train.json` | yes", "`meta/training.json` | yes"))
    diff = "".join(check(skill_copy))
    assert "SKILL.md" in diff and "meta/training.json" in diff
    generate(skill_copy)
    assert check(skill_copy) == []


def test_table_follows_skill_info(skill_copy):
    info = skill_copy / "references" / "skill_info.yaml"
    info.write_text(info.read_text().replace("  lr: train.optim.lr\n", "  lr: train.optim.lr\n  epochs: train.num_epochs\n"))
    assert any("`epochs`" in line for line in check(skill_copy))


def test_unknown_block_name_is_an_error(skill_copy):
    md = skill_copy / "skills" / "tao-train-nvpanoptix3d" / "SKILL.md"
    md.write_text(md.read_text() + "\n<!-- BEGIN GENERATED: nonsense -->\n<!-- END GENERATED: nonsense -->\n")
    with pytest.raises(ValueError, match="nonsense"):
        check(skill_copy)
