"""Plugin packaging (NVIDIA's tao-skill-bank layout): Claude Code marketplace + plugin manifests, the Codex
plugin manifest and the `.agents` marketplace; required fields, one version, and every skill path exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tao_skill.skillcheck import split_frontmatter

REPO = Path(__file__).resolve().parents[2]
VERSION = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M).group(1)


def _load(rel: str) -> dict:
    path = REPO / rel
    assert path.is_file(), f"{rel} is missing"
    return json.loads(path.read_text())


def _skill_folders(ref: str) -> list[Path]:
    """A skills entry: one skill folder, or a folder of skill folders."""
    path = (REPO / ref).resolve()
    assert REPO.resolve() in [path, *path.parents], f"{ref} points outside the repository"
    assert path.is_dir(), f"{ref} does not exist"
    if (path / "SKILL.md").is_file():
        return [path]
    found = sorted(p.parent for p in path.glob("*/SKILL.md"))
    assert found, f"{ref} holds no skill folder (*/SKILL.md)"
    return found


def _check_skill(folder: Path) -> None:
    meta, _, problem = split_frontmatter((folder / "SKILL.md").read_text())
    assert problem is None and meta["name"] == folder.name, folder


def _nonempty(doc: dict, *keys: str) -> None:
    for key in keys:
        assert isinstance(doc.get(key), str) and doc[key].strip(), f"`{key}` must be a non-empty string"


def test_claude_plugin():
    doc = _load(".claude-plugin/plugin.json")
    _nonempty(doc, "name", "description", "version")
    assert doc["version"] == VERSION
    for folder in _skill_folders("./skills/"):  # Claude Code finds a plugin's skills in <root>/skills/
        _check_skill(folder)
    server = doc["mcpServers"]["tao-skill"]
    assert server["command"] == "tao-skill" and server["args"][0] == "mcp"
    from tao_skill.cli import cli

    assert "mcp" in cli.commands


def test_claude_marketplace():
    doc = _load(".claude-plugin/marketplace.json")
    _nonempty(doc, "name")
    _nonempty(doc["owner"], "name")
    assert doc["metadata"]["version"] == VERSION
    assert doc["plugins"], "a marketplace lists at least one plugin"
    names = set()
    for plugin in doc["plugins"]:
        _nonempty(plugin, "name", "description", "source")
        assert (REPO / plugin["source"]).is_dir()
        assert plugin["skills"], plugin["name"]
        for ref in plugin["skills"]:
            assert ref.startswith("./skills/"), ref
            for folder in _skill_folders(ref):
                _check_skill(folder)
        names.add(plugin["name"])
    listed = {Path(r).name for p in doc["plugins"] for r in p["skills"]}
    assert listed == {p.parent.name for p in (REPO / "skills").glob("*/SKILL.md")}, "every skill is in the marketplace"
    assert _load(".claude-plugin/plugin.json")["name"] in names


def test_codex_plugin():
    doc = _load(".codex-plugin/plugin.json")
    _nonempty(doc, "name", "version", "description", "skills")
    assert doc["version"] == VERSION
    for folder in _skill_folders(doc["skills"]):
        _check_skill(folder)
    ui = doc["interface"]
    _nonempty(ui, "displayName", "shortDescription", "longDescription", "developerName", "category")
    assert ui["defaultPrompt"] and all(isinstance(p, str) and p for p in ui["defaultPrompt"])
    assert re.fullmatch(r"#[0-9A-Fa-f]{6}", ui["brandColor"])


def test_agents_marketplace():
    doc = _load(".agents/plugins/marketplace.json")
    _nonempty(doc, "name")
    _nonempty(doc["interface"], "displayName")
    codex_name = _load(".codex-plugin/plugin.json")["name"]
    assert [p["name"] for p in doc["plugins"]] == [codex_name]
    for plugin in doc["plugins"]:
        assert plugin["source"]["source"] == "local"
        root = (REPO / plugin["source"]["path"]).resolve()
        assert (root / ".codex-plugin" / "plugin.json").is_file(), "the local source must be a Codex plugin root"
        assert plugin["policy"]["installation"] in ("AVAILABLE", "INSTALLED_BY_DEFAULT", "NOT_AVAILABLE")
        _nonempty(plugin, "category")


@pytest.mark.parametrize("rel", [".claude-plugin/plugin.json", ".claude-plugin/marketplace.json",
                                 ".codex-plugin/plugin.json", ".agents/plugins/marketplace.json"])
def test_manifests_are_strict_json(rel):
    json.loads((REPO / rel).read_text(), parse_constant=lambda c: pytest.fail(f"{rel}: {c} is not JSON"))
