"""Checks that each skill folder is self-contained and follows the Agent Skills specification.

A skill folder (``skills/<name>/``) is installed on its own by Claude Code, Codex and other clients, so
everything its SKILL.md points at must live inside it. The rules checked here:

- frontmatter: ``name`` (1-64 chars of ``a-z0-9-``, no leading, trailing or doubled hyphen, equal to the
  folder name), ``description`` (1-1024 chars, no ``<``/``>``: signers reject XML-like tokens),
  ``compatibility`` (1-500 chars; required here, since the tao-skill CLI must be installed), ``license``,
  ``metadata`` (a map of strings), ``allowed-tools`` (a space-separated string); no other fields;
- the body (after the frontmatter) is at most 500 lines;
- every backticked dotted spec key (``train.optim.lr``) is a key of one of the skill's action schemas;
- every relative reference (a Markdown link, or a backticked path under ``references/``, ``scripts/``,
  ``assets/``, ``evals/``, ``docs/``, ``schemas/`` or ``skills/``) resolves to a file inside the folder;
- files copied into a skill folder from the rest of the skill directory (``skills/copies.yaml``) are
  byte-identical to their source (``tao-skill skills sync`` rewrites them);
- ``evals/evals.json`` (NVIDIA's format) is a non-empty list of {id, question, expected_skill = name,
  ground_truth, expected_behavior (non-empty list)} with unique ids.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tao_skill.yamlio import load_yaml

MAX_BODY_LINES = 500
ALLOWED_FIELDS = {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}
_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_CODE = re.compile(r"`([^`\s]+)`")
_DOTTED = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+$")
_TICKED = re.compile(r"`((?:references|scripts|assets|evals|docs|schemas|skills)/[^`\s]+)`")
COPIES = Path("skills") / "copies.yaml"


@dataclass
class Problem:
    """One rule a skill breaks, where, and what to do."""

    skill: str
    where: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"skill": self.skill, "where": self.where, "message": self.message}


def split_frontmatter(text: str) -> tuple[dict[str, Any] | None, str, str | None]:
    """(frontmatter mapping, body, problem): the YAML between the leading ``---`` lines and the rest."""
    if not text.startswith("---\n"):
        return None, text, "SKILL.md must start with a `---` frontmatter block"
    end = text.find("\n---\n", 4)
    if end < 0:
        return None, text, "the frontmatter block is not closed by a `---` line"
    try:
        data = load_yaml(text[4:end])
    except Exception as exc:  # noqa: BLE001 - any YAML error is the user's to fix
        return None, text[end + 5:], f"the frontmatter is not valid YAML: {exc}"
    if not isinstance(data, dict):
        return None, text[end + 5:], "the frontmatter must be a mapping"
    return data, text[end + 5:], None


def _frontmatter_problems(folder: Path, meta: dict[str, Any]) -> list[str]:
    out = []
    for key in sorted(set(meta) - ALLOWED_FIELDS):
        out.append(f"frontmatter field `{key}` is not in the Agent Skills spec ({', '.join(sorted(ALLOWED_FIELDS))})")
    name = meta.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 64 or not _NAME.match(name):
        out.append(f"`name` must be 1-64 characters of a-z, 0-9 and single hyphens, got {name!r}")
    elif name != folder.name:
        out.append(f"`name` {name!r} must equal the folder name {folder.name!r}")
    desc = meta.get("description")
    if not isinstance(desc, str) or not 1 <= len(desc.strip()) <= 1024:
        out.append("`description` must be 1-1024 characters saying what the skill does and when to use it")
    elif "<" in desc or ">" in desc:
        out.append("`description` must not contain `<` or `>` (XML-like tokens are rejected by skill signers)")
    comp = meta.get("compatibility")
    if not isinstance(comp, str) or not 1 <= len(comp.strip()) <= 500:
        out.append("`compatibility` (1-500 characters) must say what the skill needs, e.g. the tao-skill CLI")
    if "metadata" in meta and (not isinstance(meta["metadata"], dict)
                               or not all(isinstance(v, str) for v in meta["metadata"].values())):
        out.append("`metadata` must map keys to strings (quote numbers and versions)")
    if "allowed-tools" in meta and not isinstance(meta["allowed-tools"], str):
        out.append("`allowed-tools` must be a space-separated string, e.g. `Bash Read`")
    return out


def _reference_problems(folder: Path, body: str, offset: int = 0) -> list[tuple[str, str]]:
    out = []
    refs = [(m.group(1), "link") for m in _LINK.finditer(body)] + [(m.group(1), "path") for m in _TICKED.finditer(body)]
    for ref, kind in refs:
        target = ref.split("#", 1)[0]
        if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target) or any(c in target for c in "{}<>*$"):
            continue  # URLs, anchors, placeholders and globs are not files of the skill
        line = body[: body.find(ref)].count("\n") + 1 + offset
        path = (folder / target).resolve()
        if target.startswith("/") or folder.resolve() not in path.parents:
            out.append((f"SKILL.md line {line}", f"{kind} `{ref}` points outside the skill folder; copy the file into "
                                             "the folder (skills/copies.yaml) and point at the copy"))
        elif not path.exists():
            out.append((f"SKILL.md line {line}", f"{kind} `{ref}` does not exist in the skill folder"))
    return out


def spec_keys(skill_root: Path) -> tuple[set[str], set[str]]:
    """(every leaf and section key of the skill directory's action schemas, their top-level names)."""
    from tao_skill.spec import leaf_schemas  # noqa: PLC0415

    keys: set[str] = set()
    from tao_skill.yamlio import load_json_file  # noqa: PLC0415 - binary/duplicate-key schemas: exit 2 naming them

    for path in sorted((Path(skill_root) / "schemas").glob("*.schema.json")):
        for leaf in leaf_schemas(load_json_file(path, what="schema")):
            parts = leaf.split(".")
            keys.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return keys, {k for k in keys if "." not in k}


def _key_problems(body: str, keys: set[str], tops: set[str], offset: int) -> list[tuple[str, str]]:
    """A backticked dotted spec key (`train.optim.lr`, `gen_trt_engine.tensorrt.data_type=FP16`) that no
    schema has: agents copy these, so a doc/schema mismatch (NVIDIA's `model.backbone_type`) must fail."""
    import difflib  # noqa: PLC0415

    out = []
    for m in _CODE.finditer(body):
        token = m.group(1).split("=", 1)[0]
        if not _DOTTED.match(token) or token.split(".")[0] not in tops or token in keys:
            continue
        if body[m.end():m.end() + 4].strip().startswith(("→", "->")):
            continue  # a misspelling shown on purpose: "`train.num_epoch` → `train.num_epochs`"
        close = difflib.get_close_matches(token, sorted(keys), n=1)
        line = body[: m.start()].count("\n") + 1 + offset
        out.append((f"SKILL.md line {line}", f"`{token}` is not a spec key of any action"
                                            + (f" (did you mean `{close[0]}`?)" if close else "")))
    return out


def _evals_problems(folder: Path, name: str) -> list[tuple[str, str]]:
    path = folder / "evals" / "evals.json"
    if not path.exists():
        return [("evals/evals.json", "missing: NVIDIA's eval format (id, question, expected_skill, ground_truth, "
                                     "expected_behavior) is required")]
    try:
        cases = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        return [("evals/evals.json", f"not valid JSON: {exc}")]
    if not isinstance(cases, list) or not cases:
        return [("evals/evals.json", "must be a non-empty JSON array")]
    out, seen = [], set()
    for i, case in enumerate(cases):
        where = f"evals/evals.json[{i}]"
        if not isinstance(case, dict):
            out.append((where, "must be an object"))
            continue
        for key in ("id", "question", "expected_skill", "ground_truth"):
            if not isinstance(case.get(key), str) or not case[key].strip():
                out.append((where, f"`{key}` must be a non-empty string"))
        if case.get("expected_skill") not in (None, name) and isinstance(case.get("expected_skill"), str):
            out.append((where, f"`expected_skill` is {case['expected_skill']!r}, expected {name!r}"))
        beh = case.get("expected_behavior")
        if not isinstance(beh, list) or not beh or not all(isinstance(b, str) and b.strip() for b in beh):
            out.append((where, "`expected_behavior` must be a non-empty list of strings"))
        if case.get("id") in seen:
            out.append((where, f"duplicate id {case.get('id')!r}"))
        seen.add(case.get("id"))
    return out


def load_copies(skill_root: Path) -> dict[str, dict[str, str]]:
    """{skill folder name: {path in the folder: source path relative to the skill directory}}."""
    path = Path(skill_root) / COPIES
    if not path.exists():
        return {}
    data = load_yaml(path.read_text(encoding="utf-8")) or {}
    return {str(k): {str(d): str(s) for d, s in (v or {}).items()} for k, v in data.items()}


def copy_problems(skill_root: Path) -> list[Problem]:
    out = []
    for skill, table in load_copies(skill_root).items():
        for dest, source in table.items():
            src, dst = Path(skill_root) / source, Path(skill_root) / "skills" / skill / dest
            if not src.is_file():
                out.append(Problem(skill, str(COPIES), f"source `{source}` of `{dest}` does not exist"))
            elif not dst.is_file() or dst.read_bytes() != src.read_bytes():
                out.append(Problem(skill, dest, f"differs from its source `{source}`; run `tao-skill schemas generate` (or `tao-skill skills sync`)"))
    return out


def sync_copies(skill_root: Path) -> list[str]:
    """Rewrite every copy that differs from its source (atomically); returns the paths written."""
    import os  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    written = []
    for skill, table in load_copies(skill_root).items():
        for dest, source in table.items():
            src, dst = Path(skill_root) / source, Path(skill_root) / "skills" / skill / dest
            data = src.read_bytes()
            if dst.is_file() and dst.read_bytes() == data:
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, dst)
            written.append(str(dst))
    return written


def check_skill(folder: Path, keys: tuple[set[str], set[str]] | None = None) -> list[Problem]:
    """Every problem of one skill folder; ``keys`` (from :func:`spec_keys`) also checks the spec keys it names."""
    folder = Path(folder)
    skill = folder.name
    path = folder / "SKILL.md"
    if not path.is_file():
        return [Problem(skill, "SKILL.md", "missing")]
    text = path.read_text(encoding="utf-8")
    meta, body, problem = split_frontmatter(text)
    if problem:
        return [Problem(skill, "SKILL.md frontmatter", problem)]
    out = [Problem(skill, "SKILL.md frontmatter", p) for p in _frontmatter_problems(folder, meta)]
    lines = body.count("\n")
    if lines > MAX_BODY_LINES:
        out.append(Problem(skill, "SKILL.md", f"the body has {lines} lines; keep it at most {MAX_BODY_LINES} and "
                                              "move detail into references/"))
    offset = text.count("\n") - body.count("\n")
    out += [Problem(skill, where, msg) for where, msg in _reference_problems(folder, body, offset)]
    if keys is not None:
        out += [Problem(skill, where, msg) for where, msg in _key_problems(body, *keys, offset)]
    out += [Problem(skill, where, msg) for where, msg in _evals_problems(folder, str(meta.get("name")))]
    return out


def check_all(skill_root: Path) -> tuple[list[str], list[Problem]]:
    """(skill folders checked, problems) for ``<skill_root>/skills/*/``, the copies included."""
    folders = sorted(p.parent for p in (Path(skill_root) / "skills").glob("*/SKILL.md"))
    keys = spec_keys(skill_root)
    problems = [p for f in folders for p in check_skill(f, keys if keys[0] else None)] + copy_problems(skill_root)
    return [str(f) for f in folders], problems
