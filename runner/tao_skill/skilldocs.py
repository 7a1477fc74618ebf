"""Keep the tables of a skill's SKILL.md files generated from skill_info.yaml and the schemas.

Agents read SKILL.md first; a table written by hand drifts from the code. Each SKILL.md marks the
generated parts with ``<!-- BEGIN GENERATED: <table> -->`` / ``<!-- END GENERATED: <table> -->``;
`tao-skill schemas generate` rewrites what is between the markers and `tao-skill schemas check`
reports drift. Prose outside the markers is ours to write.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

_BLOCK = re.compile(r"(<!-- BEGIN GENERATED: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- END GENERATED: (?P=name) -->)", re.S)


def _md_table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        text = v if isinstance(v, str) else json.dumps(v)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _leaf(schema: dict[str, Any], dotted: str) -> dict[str, Any]:
    node = schema
    for part in dotted.split("."):
        node = node["properties"][part]
    return node


def _dataset_table(info: dict, schemas: dict) -> str:
    inputs = {a: v.get("inputs", {}) for a, v in info["actions"].items()}
    rows = []
    for action, table in info["data_sources"].items():
        for key, entry in table.items():
            optional = inputs.get(action, {}).get(key, {}).get("optional", False)
            rows.append([action, f"`{key}`", entry["source"], f"`{entry['path']}`" if entry["path"] else "(the directory)",
                         "no" if optional else "yes"])
    return _md_table(["action", "spec key", "data source", "expected file", "mandatory"], rows)


def _spec_params(info: dict, schemas: dict) -> str:
    rows = []
    for action, table in info["spec_params"].items():
        for key, fn in table.items():
            name = fn if isinstance(fn, str) else fn["function"]
            extra = "" if isinstance(fn, str) else ", ".join(f"{k}={v}" for k, v in fn.items() if k != "function")
            rows.append([action, f"`{key}`", f"`{name}`", extra])
    return _md_table(["action", "spec key", "mapping", "options"], rows)


def _important(info: dict, schemas: dict) -> str:
    train = schemas["train"]
    rows = []
    for key in train["x-tao-popular"]:
        leaf = _leaf(train, key)
        choices = leaf.get("enum")
        bounds = [f"{op} {leaf[k]}" for k, op in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="))
                  if k in leaf]
        allowed = ", ".join(map(str, choices)) if choices else ", ".join(bounds)
        rows.append([f"`{key}`", leaf.get("default"), allowed, leaf.get("description", "")])
    return _md_table(["key", "default", "allowed", "meaning"], rows)


def _shorthand(info: dict, schemas: dict) -> str:
    return _md_table(["shorthand", "spec key"], [[f"`{k}`", f"`{v}`"] for k, v in info["spec_shorthand_keys"].items()])


def _automl_params(info: dict, schemas: dict) -> str:
    train = schemas["train"]
    rows = []
    for key in train["x-tao-automl-default-parameters"]:
        leaf = _leaf(train, key)
        scale = "log" if leaf.get("x-tao-log-scale") else "linear"
        rows.append([f"`{key}`", leaf.get("default"), leaf.get("minimum"), leaf.get("maximum"), scale])
    return _md_table(["searched by default", "default", "min", "max", "scale"], rows)


def _hardware(info: dict, schemas: dict) -> str:
    g = info["gpu_guidance"]
    mon = info["monitoring"]
    return (
        f"- GPUs: minimum {g['min_gpus']}, recommended {g['recommended_gpus']}, {g['min_vram_gb']} GB+ memory each "
        f"(spec key `{info['gpu_spec_key']}`).\n- {g['notes'].strip()}\n"
        f"- Monitored KPI: `{mon['metric']}` ({mon['direction']}), read from `status.json`.\n"
    )


TABLES: dict[str, Callable[[dict, dict], str]] = {
    "dataset-table": _dataset_table,
    "spec-params": _spec_params,
    "important-parameters": _important,
    "shorthand-keys": _shorthand,
    "automl-parameters": _automl_params,
    "hardware": _hardware,
}


def render(text: str, info: dict, schemas: dict) -> str:
    """``text`` with every marked block regenerated; an unknown block name is an error."""

    def repl(match: re.Match) -> str:
        name = match.group("name")
        if name not in TABLES:
            raise ValueError(f"SKILL.md block `{name}` is unknown (known: {', '.join(sorted(TABLES))})")
        return match.group(1) + TABLES[name](info, schemas) + match.group(4)

    return _BLOCK.sub(repl, text)


def generate_skill_docs(skill_dir: Path, info: dict, outputs: dict[str, str]) -> dict[str, str]:
    """Hook of tao_skill.schemagen: regenerated SKILL.md files (relative path -> text) of the skill directory."""
    schemas = {rel.split("/")[1].removesuffix(".schema.json"): json.loads(text)
               for rel, text in outputs.items() if rel.endswith(".schema.json")}
    result = {}
    for path in sorted((Path(skill_dir) / "skills").glob("*/SKILL.md")):
        text = path.read_text(encoding="utf-8")
        if _BLOCK.search(text):
            result[str(path.relative_to(skill_dir))] = render(text, info, schemas)
    # Files copied into skill folders (skills/copies.yaml) so each folder is self-contained when installed
    # alone: regenerated with the tables, so `schemas check` catches a copy that drifted from its source.
    from tao_skill.skillcheck import load_copies  # noqa: PLC0415

    for skill, table in load_copies(Path(skill_dir)).items():
        for dest, source in table.items():
            src = Path(skill_dir) / source
            if src.is_file():
                result[f"skills/{skill}/{dest}"] = src.read_text(encoding="utf-8")
    return result
