"""Skill discovery: the packaged skill bank and any directory with the same layout.

A skill directory holds ``references/skill_info.yaml`` (hand-written), ``schemas/<action>.schema.json``
and ``references/spec_template_<action>.yaml`` (generated) and ``skills/*/SKILL.md``. In an installed
wheel the bank lives in the package data ``tao_skill/bank/<network>/``; in a source checkout (editable
install) the repository root is the skill directory of this repo's network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from tao_skill.errors import ErrorItem, RunnerError
from tao_skill.yamlio import InputError, load_file, load_yaml_file

SKILL_INFO = Path("references") / "skill_info.yaml"


def _package_dir() -> Path:
    """The installed ``tao_skill`` folder: a wheel installs its package data (``bank/``) as files (read from
    here rather than through importlib.resources, which would import tempfile, shutil, zipfile on every plan)."""
    return Path(__file__).resolve().parent


def _bank_roots() -> list[Path]:
    roots: list[Path] = []
    bank = _package_dir() / "bank"
    if bank.is_dir():
        roots += sorted(p for p in bank.iterdir() if (p / SKILL_INFO).is_file())
    # Source checkout / editable install: <repo>/runner/tao_skill -> <repo>
    repo = Path(__file__).resolve().parents[2]
    if (repo / SKILL_INFO).is_file() and (repo / "runner" / "tao_skill").is_dir():
        roots.append(repo)
    return roots


@dataclass
class Skill:
    """A loaded skill directory."""

    root: Path
    info: dict[str, Any] = field(repr=False)

    @property
    def network(self) -> str:
        return self.info["network_arch"]

    @property
    def actions(self) -> list[str]:
        return list(self.info.get("actions", {}))

    def _parsed(self, path: Path) -> Any:
        """A generated file parsed once per process (JSON for *.json, else YAML); errors propagate."""
        cache = self.__dict__.setdefault("_files", {})
        if path not in cache:
            cache[path] = load_file(path, what=f"{self.network} skill file")
        return cache[path]

    def schema_path(self, action: str) -> Path:
        return self.root / "schemas" / f"{action}.schema.json"

    def template_path(self, action: str) -> Path:
        rel = self.info.get("spec_templates", {}).get(action, f"references/spec_template_{action}.yaml")
        return self.root / rel

    def load_schema(self, action: str) -> dict[str, Any]:
        path = self.schema_path(action)
        try:
            return self._parsed(path)
        except InputError as exc:
            if exc.kind == "missing":
                raise RunnerError(ErrorItem(None, f"{path} is missing; generate it with `tao-skill schemas generate`",
                                            expected="a generated schema")) from None
            raise RunnerError(f"{exc} (regenerate with `tao-skill schemas generate`)") from None

    def schema_or_generated(self, action: str) -> tuple[dict[str, Any], str | None]:
        """The action's schema, and None; or, when the file is missing or broken, the schema generated in
        memory from the skill's config (nothing is written) and a note saying so.

        Raises:
            RunnerError: the file is unusable and the config cannot generate it either.
        """
        try:
            return self.load_schema(action), None
        except RunnerError as original:
            try:
                schema = json.loads(_generate_in_memory(self.root)[f"schemas/{action}.schema.json"])
            except Exception:  # noqa: BLE001 - any failure: report the file problem the user can fix
                raise original from None
        return schema, (f"{self.schema_path(action).relative_to(self.root)} is missing or broken; validated "
                        "against the schema generated in memory from the config (run `tao-skill schemas generate`)")

    def load_template(self, action: str) -> dict[str, Any]:
        path = self.template_path(action)
        try:
            data = self._parsed(path)
        except InputError as exc:
            if exc.kind == "missing":
                raise RunnerError(f"{path} is missing; generate it with `tao-skill schemas generate`") from None
            raise RunnerError(f"{exc} (regenerate with `tao-skill schemas generate`)") from None
        if not isinstance(data, dict):
            raise RunnerError(f"{path} must hold a mapping; regenerate with `tao-skill schemas generate`")
        return data

    @cached_property
    def automl_problem(self) -> str | None:
        """Why AutoML cannot run for this skill now (None when it can)."""
        if not self.info.get("automl_enabled", False):
            return "AutoML is not enabled for this model (skill_info.yaml automl_enabled: false)"
        for path in (self.schema_path("train"), self.template_path("train")):
            try:
                data = self._parsed(path)
            except RunnerError:
                data = None
            if not isinstance(data, dict):
                return ("AutoML is enabled but not runnable for this model until schemas are generated "
                        f"({path.relative_to(self.root)} is missing or does not parse; run `tao-skill schemas generate`)")
        return None


def _generate_in_memory(root: Path) -> dict[str, str]:
    """The generated files of a skill directory as {relative path: text}; its root may hold its config."""
    import sys  # noqa: PLC0415

    from tao_skill.schemagen.generate import build_outputs  # noqa: PLC0415

    sys.path.insert(0, str(root))
    try:
        return build_outputs(root)
    finally:
        sys.path.remove(str(root))


def load_skill_dir(root: Path) -> Skill:
    typed = root
    root = Path(root).resolve()
    path = root / SKILL_INFO
    if root.exists() and not root.is_dir():
        raise RunnerError(ErrorItem("--skill-dir", f"--skill-dir {typed} is a file, expected a skill directory "
                                                   f"(holding {SKILL_INFO})", expected="a directory", got=str(typed)))
    try:
        info = load_yaml_file(path, what="skill file", key="--skill-dir")
    except InputError as exc:
        if exc.kind == "missing":
            raise RunnerError(ErrorItem("--skill-dir", f"{typed} is not a skill directory: {SKILL_INFO} is missing",
                                        expected=f"a directory holding {SKILL_INFO}", got=str(typed))) from None
        raise
    problem = _info_problem(info)
    if problem:
        raise RunnerError(ErrorItem("--skill-dir", f"{path}: {problem}", got=str(typed)))
    return Skill(root, info)


def _info_problem(info: Any) -> str | None:
    """Why a parsed skill_info.yaml cannot drive the runner (None when its shape is usable)."""
    if not isinstance(info, dict):
        return f"must be a mapping, not a {type(info).__name__}"
    if not isinstance(info.get("network_arch"), str) or not info["network_arch"]:
        return "`network_arch` must be a non-empty string"
    actions = info.get("actions", {})
    if not isinstance(actions, dict):
        return "`actions` must be a mapping of action names"
    for name, action in actions.items():
        if not isinstance(action, dict):
            return f"`actions.{name}` must be a mapping"
        command = action.get("command")
        if command is not None and (not isinstance(command, list) or not all(isinstance(a, str) for a in command)):
            return f"`actions.{name}.command` must be a list of strings"
        if not isinstance(action.get("inputs", {}), dict):
            return f"`actions.{name}.inputs` must be a mapping"
    for section in ("data_sources", "spec_params", "spec_shorthand_keys", "spec_templates", "tools"):
        if not isinstance(info.get(section, {}), dict):
            return f"`{section}` must be a mapping"
    for name, action in actions.items():
        for key, meta in action.get("inputs", {}).items():
            if not isinstance(meta, dict) or meta.get("type", "file") not in ("file", "folder"):
                return f"`actions.{name}.inputs.{key}` must be a mapping with `type: file` or `type: folder`"
    from tao_skill.datasets import SOURCE_FLAGS  # noqa: PLC0415

    for name, table in info.get("data_sources", {}).items():
        if not isinstance(table, dict):
            return f"`data_sources.{name}` must be a mapping of spec keys"
        for key, entry in table.items():
            if not isinstance(entry, dict) or entry.get("source") not in SOURCE_FLAGS \
                    or not isinstance(entry.get("path", ""), str):
                return (f"`data_sources.{name}.{key}` must be a mapping with `source` (one of "
                        f"{', '.join(SOURCE_FLAGS)}) and a string `path`")
    for name, params in info.get("spec_params", {}).items():
        if not isinstance(params, dict):
            return f"`spec_params.{name}` must be a mapping of spec keys"
        for key, how in params.items():
            if not isinstance(how, str) and not (isinstance(how, dict) and isinstance(how.get("function"), str)):
                return f"`spec_params.{name}.{key}` must be a function name or a mapping with `function`"
    return None


def discover(skill_dir: Path | None = None) -> dict[str, Skill]:
    """Skills by network name; ``skill_dir`` (when given) is searched first and wins."""
    found: dict[str, Skill] = {}
    roots = ([Path(skill_dir)] if skill_dir else []) + _bank_roots()
    for root in roots:
        skill = load_skill_dir(root)
        found.setdefault(skill.network, skill)
    return found


def get_skill(network: str, skill_dir: Path | None = None) -> Skill:
    skills = discover(skill_dir)
    if network in skills:
        return skills[network]
    import difflib  # noqa: PLC0415 - only for an unknown name

    close = difflib.get_close_matches(network, list(skills), n=1)
    raise RunnerError(ErrorItem("network", f"unknown network `{network}`; known: {', '.join(sorted(skills)) or 'none'}",
                                expected=sorted(skills), got=network, suggestion=close[0] if close else None))


def require_action(skill: Skill, action: str) -> None:
    if action not in skill.actions:
        import difflib  # noqa: PLC0415

        close = difflib.get_close_matches(action, skill.actions, n=1)
        raise RunnerError(ErrorItem("action", f"`{skill.network}` has no action `{action}`; actions: "
                                    f"{', '.join(skill.actions)}", expected=skill.actions, got=action,
                                    suggestion=close[0] if close else None))
