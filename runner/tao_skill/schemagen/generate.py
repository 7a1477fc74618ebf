"""Generation and drift check of ``schemas/`` and ``references/spec_template_*.yaml``."""

from __future__ import annotations

import difflib
import hashlib
import importlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tao_skill.schemagen import compiled
from tao_skill.schemagen.jsonschema_build import build_schema
from tao_skill.schemagen.skill_info import validate_skill_info
from tao_skill.schemagen.template import render_template

GENERATOR_VERSION = "1"


class SchemaGenError(RuntimeError):
    """The skill directory cannot be generated (bad skill_info.yaml or config entry)."""


def _load_entry(entry: str, what: str = "config_entry"):
    module_name, _, func_name = entry.partition(":")
    if not func_name:
        raise SchemaGenError(f"{what} `{entry}` must look like `package.module:function`")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SchemaGenError(f"{what} `{entry}`: cannot import {module_name} ({exc})") from None
    func = getattr(module, func_name, None)
    if func is None:
        raise SchemaGenError(f"{what} `{entry}`: {module_name} has no attribute {func_name}")
    return func


def _up_to_date(rel: str, actual: str, expected: str) -> bool:
    """Packaged text vs generated text; a compiled validator compares by its stamp (compiled.equivalent)."""
    if rel.endswith("_validator.py"):
        return compiled.equivalent(actual, expected)
    return actual == expected


def _dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def build_outputs(skill_dir: Path) -> dict[str, str]:
    """Every generated file of a skill directory, as ``{relative path: text}``, without writing anything."""
    info_path = Path(skill_dir) / "references" / "skill_info.yaml"
    from tao_skill.yamlio import InputError, load_yaml_file  # noqa: PLC0415 - the runner's one YAML path

    try:
        info = load_yaml_file(info_path, what="skill file")
    except InputError as exc:
        if exc.kind == "missing":
            raise SchemaGenError(f"{info_path} does not exist: not a skill directory") from None
        raise SchemaGenError(str(exc.errors[0].message)) from None
    if not isinstance(info, dict):
        raise SchemaGenError(f"{info_path} must be a mapping")
    entry = info.get("config_entry")
    if not entry:
        raise SchemaGenError(f"{info_path}: `config_entry` is missing (module:function returning action models)")
    models = _load_entry(entry)()
    network = info["network_arch"]
    actions = info.get("schema_actions") or list(models)
    unknown = [a for a in actions if a not in models]
    if unknown:
        raise SchemaGenError(f"{info_path}: schema_actions {unknown} have no model in {entry} (has {sorted(models)})")
    outputs: dict[str, str] = {}
    manifest_actions = {}
    schemas = {
        action: build_schema(models[action], action=action, network_arch=network, generator_version=GENERATOR_VERSION)
        for action in actions
    }
    problems = validate_skill_info(info, schemas)
    if problems:
        raise SchemaGenError("\n".join(problems))
    rules_entry = info.get("rules_entry")
    if rules_entry:
        _load_entry(rules_entry, what="rules_entry")
    for action in actions:
        schema = schemas[action]
        schema_rel = f"schemas/{action}.schema.json"
        template_rel = f"references/spec_template_{action}.yaml"
        outputs[schema_rel] = _dump_json(schema)
        header = (
            f"Spec template of `{network} {action}`, generated from the config by `tao-skill schemas generate`.\n"
            "Do not edit by hand. Copy it, or pass values with `tao-skill run ... --override key=value`."
        )
        outputs[template_rel] = render_template(schema, header)
        validator = compiled.build_module(schema, action, rules_entry) if rules_entry else None
        if validator is not None:  # the fast acceptance path of tao_skill.validation
            outputs[f"schemas/{compiled.file_name(action)}"] = validator
        manifest_actions[action] = {
            "schema": schema_rel,
            "schema_sha256": hashlib.sha256(outputs[schema_rel].encode()).hexdigest(),
            "spec_template": template_rel,
            "spec_template_sha256": hashlib.sha256(outputs[template_rel].encode()).hexdigest(),
            "automl_default_parameters": schema["x-tao-automl-default-parameters"],
        }
    outputs["schemas/manifest.json"] = _dump_json({
        "network_arch": network,
        "name": info.get("name", network),
        "automl_enabled": bool(info.get("automl_enabled", False)),
        "schema_version": 1,
        "generator": {"name": "tao_skill.schemagen", "version": GENERATOR_VERSION},
        "config_entry": entry,
        "actions": manifest_actions,
    })
    for hook in _post_hooks():
        outputs.update(hook(Path(skill_dir), info, outputs))
    return outputs


def _post_hooks():
    """Extra generated files (e.g. SKILL.md tables) registered by other modules; empty when none are installed."""
    try:
        from tao_skill.skilldocs import generate_skill_docs  # noqa: PLC0415 - optional, lands with the docs
    except ImportError:
        return []
    return [generate_skill_docs]


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def generate(skill_dir: Path, out_dir: Path | None = None) -> list[Path]:
    """Write the generated files into ``out_dir`` (default: the skill directory itself); return their paths."""
    target = Path(out_dir or skill_dir)
    written = []
    for rel, text in build_outputs(Path(skill_dir)).items():
        path = target / rel
        if not path.exists() or not _up_to_date(rel, path.read_text(encoding="utf-8"), text):
            _atomic_write(path, text)
        written.append(path)
    return written


def check(skill_dir: Path) -> list[str]:
    """Unified-diff lines between the packaged generated files and what the config generates now ([] = in sync)."""
    diff: list[str] = []
    for rel, expected in build_outputs(Path(skill_dir)).items():
        path = Path(skill_dir) / rel
        actual = path.read_text(encoding="utf-8") if path.exists() else ""
        if not _up_to_date(rel, actual, expected):
            if not path.exists():
                diff.append(f"--- {rel} is missing (run `tao-skill schemas generate`)\n")
                if rel.endswith("_validator.py"):
                    continue
            elif rel.endswith("_validator.py"):  # generated code: say what is stale, not 4000 lines of diff
                have = compiled.read_stamp(actual) or {}
                want = compiled.read_stamp(expected) or {}
                what = [f"{k} {have.get(k)} -> {want.get(k)}" for k in ("generator", "schema_sha256", "rules_entry")
                        if have.get(k) != want.get(k)] or ["its code differs from what its stamp says (edited by hand?)"]
                diff.append(f"--- {rel} is stale: {'; '.join(what)} (run `tao-skill schemas generate`)\n")
                continue
            diff.extend(difflib.unified_diff(
                actual.splitlines(keepends=True), expected.splitlines(keepends=True),
                fromfile=f"packaged/{rel}", tofile=f"generated/{rel}", n=2,
            ))
    return diff
