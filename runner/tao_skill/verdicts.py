"""Remembered validation verdicts, so planning the same spec again skips the validators' imports.

Agents plan many times (`run ... --dry-run --json`, then the same call without `--dry-run`). Importing
jsonschema and building the network's pydantic config costs about 0.2 s of a 0.3 s plan; the verdict for
a given spec never changes while the schema, the config source and the validators stay the same. So a
spec that passed validation is remembered under a key made of all of them:

- the spec's canonical JSON, with its own ``results_dir`` (which holds the fresh job id) replaced by a
  placeholder, so two plans that differ only in the job id share a key;
- the action, the config entry and the sha256 of the schema's canonical JSON (:func:`schema_digest`,
  which also names the schema a compiled validator was made from);
- size and mtime of every source file the verdict depends on: the config package (or the skill
  directory's own config module), tao_skill's validation and spec modules, and the installed
  jsonschema / pydantic / pydantic_core packages.

Only passing verdicts are stored (a failing spec is fixed and changes anyway), as empty files named by
the key under ``$TAO_SKILL_CACHE`` (default ``$XDG_CACHE_HOME/tao-skill`` or ``~/.cache/tao-skill``).
``TAO_SKILL_NO_CACHE=1`` turns the cache off. A cache that cannot be written is silently skipped.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from tao_skill.jobs import atomic_write

_PLACEHOLDER = "\x00results_dir\x00"


def cache_dir() -> Path:
    base = os.environ.get("TAO_SKILL_CACHE")
    if base:
        return Path(base) / "verdicts"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "tao-skill" / "verdicts"


def enabled() -> bool:
    return os.environ.get("TAO_SKILL_NO_CACHE", "") in ("", "0")


def _stat_tree(path: Path) -> list[str]:
    """``name:size:mtime_ns`` of a module file, or of every .py file under a package directory (found with
    os.scandir: every plan stats the network's package, ~100 files, and pathlib's rglob costs ~5x more)."""
    if not path.is_dir():
        try:
            st = path.stat()
        except OSError:
            return []
        return [f"{path}:{st.st_size}:{st.st_mtime_ns}"]
    out = []
    stack = [str(path)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        stack.append(entry.path)
                elif entry.name.endswith(".py"):
                    st = entry.stat()
                    out.append(f"{entry.path}:{st.st_size}:{st.st_mtime_ns}")
            except OSError:
                continue
    return sorted(out)


def _package_path(name: str, skill_root: Path | None) -> Path | None:
    """Where a top-level module lives, found without importing it."""
    if skill_root is not None:
        for candidate in (skill_root / f"{name}.py", skill_root / name):
            if candidate.exists():
                return candidate
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin) if spec.origin else None


def _sources(entry: str | None, skill_root: Path | None) -> list[str]:
    here = Path(__file__).resolve().parent
    parts = _stat_tree(here / "validation.py") + _stat_tree(here / "spec.py") + _stat_tree(Path(__file__))
    names = ["jsonschema", "pydantic", "pydantic_core"]
    if entry:
        module = entry.partition(":")[0]
        top = module.split(".")[0]
        root = _package_path(top, skill_root)
        if root is not None and root.is_dir() and "." in module:
            sub = root.joinpath(*module.split(".")[1:])
            root = sub if sub.is_dir() else sub.with_suffix(".py")
        parts += _stat_tree(root) if root is not None else [f"missing:{module}"]
    for name in names:
        path = _package_path(name, None)
        parts.append(f"{name}:" + (";".join(_stat_tree(path / "__init__.py")) if path else "missing"))
    return parts


def schema_digest(schema: dict[str, Any]) -> str:
    """sha256 of a schema's canonical JSON (sorted keys, no spaces): equal for equal schemas, whatever
    file formatting or key order they were read from."""
    text = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str,
                      allow_nan=True)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def key(schema: dict[str, Any], spec: dict[str, Any], *, entry: str | None, action: str,
        skill_root: Path | None, schema_sha256: str | None = None) -> str:
    """The cache key of one validation (see the module docstring for what goes in); ``schema_sha256`` is
    :func:`schema_digest` of ``schema`` when the caller has it already."""
    text = json.dumps(spec, sort_keys=True, default=str, allow_nan=True)
    results = spec.get("results_dir")
    if isinstance(results, str) and len(results) > 1:
        text = text.replace(json.dumps(results)[1:-1], _PLACEHOLDER)
    h = hashlib.sha256()
    for part in (text, action, entry or "", schema_sha256 or schema_digest(schema), *_sources(entry, skill_root)):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def known_valid(digest: str) -> bool:
    return enabled() and (cache_dir() / digest).is_file()


def remember_valid(digest: str) -> None:
    if not enabled():
        return
    try:
        atomic_write(cache_dir() / digest, "")
    except OSError:
        pass
