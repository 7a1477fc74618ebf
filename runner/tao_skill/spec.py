"""Spec assembly: template <- --spec file <- --override KEY=VALUE <- --overrides-json, with shorthand keys.

Every key is checked against the action's generated schema before anything runs, so a typo fails with
a suggestion instead of being silently ignored or rejected deep inside the training code. A spec file may
be a whole TAO experiment spec: the sections of other actions are checked against their own schema and
then left out (``ignored_sections``). Relative data-source paths from the user resolve against the data
source root given for them, else against the spec file's folder (``anchor_sources``).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Iterable

from tao_skill.errors import ErrorItem, RunnerError
from tao_skill.yamlio import InputError, load_json, load_json_file, load_yaml, load_yaml_file

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
REDACTED = "***"
MAX_SUGGESTIONS = 50


def leaf_schemas(schema: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """{dotted key: property schema} of every leaf of a generated schema."""
    out: dict[str, dict[str, Any]] = {}
    for name, prop in schema.get("properties", {}).items():
        key = prefix + name
        if prop.get("type") == "object" and "properties" in prop:
            out.update(leaf_schemas(prop, key + "."))
        else:
            out[key] = prop
    return out


def get_dotted(tree: dict[str, Any], dotted: str, default: Any = None) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    node = tree
    parts = dotted.split(".")
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def leaf_kind(leaf: dict[str, Any] | None) -> str | None:
    """The JSON type of a leaf; for a nullable leaf (``["string", "null"]``) the non-null one."""
    kind = (leaf or {}).get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        return kinds[0] if len(kinds) == 1 else None
    return kind


def parse_value(raw: str, leaf: dict[str, Any] | None) -> Any:
    """YAML-typed value of ``--override KEY=VALUE``, guided by the schema type of the key."""
    try:
        value = load_yaml(raw, source="--override value", key="--override") if raw != "" else ""
    except InputError as exc:
        if exc.kind != "syntax":  # aliases, NUL characters: refused, not read as a plain string
            raise
        value = raw
    kind = leaf_kind(leaf)
    if kind == "string":
        return raw
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        # PyYAML (YAML 1.1) reads 2e-4 as a string; every user means the number.
        number = float(value)
        return int(number) if kind == "integer" and number.is_integer() else number
    if kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def coerce_numbers(value: Any, leaf: dict[str, Any]) -> Any:
    """Numbers that YAML 1.1 left as strings (``2e-4``, ``[1e-4, 5e-5]``) become numbers where the schema
    wants numbers; everything else is returned unchanged (the schema then reports real type errors)."""
    kind = leaf_kind(leaf)
    if isinstance(value, str) and kind in ("number", "integer") and _NUMBER.match(value.strip()):
        number = float(value)
        return int(number) if kind == "integer" and number.is_integer() else number
    if isinstance(value, list) and kind == "array" and isinstance(leaf.get("items"), dict):
        return [coerce_numbers(v, leaf["items"]) for v in value]
    return value


class SpecBuilder:
    """Collects values from every source, remembering which keys the user set explicitly."""

    def __init__(self, template: dict[str, Any], schema: dict[str, Any], shorthand: dict[str, str],
                 other_sections: dict[str, dict[str, Any]] | None = None) -> None:
        """``other_sections``: {top-level section: its schema} of the other actions (validation's
        ``other_action_sections``), accepted in a spec file, checked against that schema, and not used."""
        self.spec = copy.deepcopy(template)
        self.leaves = leaf_schemas(schema)
        self.sections = {".".join(k.split(".")[:i]) for k in self.leaves for i in range(1, k.count(".") + 1)}
        self.shorthand = shorthand
        self.other_sections = {k: v for k, v in (other_sections or {}).items()
                               if k not in self.leaves and k not in self.sections}
        self.ignored_sections: dict[str, str] = {}   # section of another action -> the spec file that held it
        self.file_dirs: dict[str, Path] = {}         # key -> folder of the spec file that set it
        self.explicit: dict[str, str] = {}
        self.derived: dict[str, str] = {}  # key -> what it was derived from (num_gpus -> gpu_ids)
        self.errors: list[ErrorItem] = []

    def _resolve_key(self, key: str, source: str) -> str | None:
        key = self.shorthand.get(key, key)
        if key in self.leaves:
            return key
        candidates = list(self.leaves) + list(self.shorthand)
        # A did-you-mean costs a fuzzy match against every key: only the first few unknown keys get one
        # (a generated file of 100,000 unknown keys must not take minutes), and never an absurdly long key.
        suggest = len(self.errors) < MAX_SUGGESTIONS and len(key) <= 200
        if suggest:
            import difflib  # noqa: PLC0415 - only for an unknown key
        close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6) if suggest else []
        if not close and suggest:
            last = key.rsplit(".", 1)[-1]
            tails = [k for k in self.leaves if k.rsplit(".", 1)[-1] == last]
            close = tails[:1]
        self.errors.append(ErrorItem(key, f"Unknown key `{key}` (from {source}): not a key of this action's spec",
                                     got=key, suggestion=self.shorthand.get(close[0], close[0]) if close else None))
        return None

    def set(self, key: str, value: Any, source: str) -> None:
        resolved = self._resolve_key(key, source)
        if resolved is not None:
            set_dotted(self.spec, resolved, coerce_numbers(value, self.leaves[resolved]))
            self.explicit[resolved] = source
            self.derived.pop(resolved, None)
            self._derive_gpu_ids(resolved, source)

    def _derive_gpu_ids(self, key: str, source: str) -> None:
        """``num_gpus=N`` (TAO's sibling keys ``<section>.num_gpus`` / ``<section>.gpu_ids``) also sets
        ``gpu_ids`` to ``[0 .. N-1]`` unless the user gave the ids: asking for 8 GPUs must not fail with
        "gpu_ids lists 1 ids". A later explicit ``gpu_ids`` still wins."""
        if not key.endswith("num_gpus"):
            return
        ids_key = key[: -len("num_gpus")] + "gpu_ids"
        count = get_dotted(self.spec, key)
        if ids_key not in self.leaves or ids_key in self.explicit or not isinstance(count, int) \
                or isinstance(count, bool) or not 0 < count <= 1024:
            return
        set_dotted(self.spec, ids_key, list(range(count)))
        self.derived[ids_key] = f"{key}={count} ({source})"

    def merge_file(self, path: Path) -> None:
        """Merge a ``--spec`` file; its problems join :attr:`errors` (reported with everything else)."""
        try:
            data = load_yaml_file(path, what="spec file", key="--spec")
        except InputError as exc:
            self.errors.extend(exc.errors)
            return
        if not isinstance(data, dict):
            self.errors.append(ErrorItem("--spec", f"spec file {path} must hold a mapping of spec keys, not a "
                                                   f"{type(data).__name__}", expected="mapping",
                                         got=type(data).__name__))
            return
        source = f"--spec {Path(path).name}"
        for name in [n for n in data if n in self.other_sections]:
            self._check_other_section(name, data.pop(name), source)
        self._merge_tree(data, "", source, {})
        folder = Path(path).expanduser().resolve().parent
        self.file_dirs.update({k: folder for k, src in self.explicit.items() if src == source})

    def _check_other_section(self, name: str, value: Any, source: str) -> None:
        """A section another action uses: its keys and values must be right for that action; then it is dropped."""
        from tao_skill.validation import schema_errors  # noqa: PLC0415 - validation imports this module

        schema = {"type": "object", "properties": {name: self.other_sections[name]}}
        check = SpecBuilder({}, schema, {})
        check._merge_tree({name: value}, "", source)
        for err in check.errors:  # the key is unknown to that section, not to "this action"
            err.message = err.message.replace("not a key of this action's spec", f"not a key of the `{name}` section")
        self.errors.extend(check.errors + schema_errors(schema, check.spec))
        self.ignored_sections[name] = source

    def anchor_sources(self, table: dict[str, dict[str, Any]], sources: dict[str, str | None]) -> None:
        """Relative paths the user set for data-source keys (``table``: the action's data_sources) join the
        root of the matching data source when one is given, else the folder of the spec file that set them
        (``--override`` values stay relative to the working directory)."""
        from tao_skill.datasets import is_remote, join_uri  # noqa: PLC0415 - datasets imports this module

        for key, entry in table.items():
            value = get_dotted(self.spec, key)
            if key not in self.explicit or not isinstance(value, str) or value in ("", "???") or is_remote(value) \
                    or value.lower().startswith("file://") or value.startswith("~") or Path(value).is_absolute():
                continue
            root = sources.get(entry.get("source", ""))
            if root:
                set_dotted(self.spec, key, join_uri(root, value))
            elif key in self.file_dirs:
                set_dotted(self.spec, key, str(self.file_dirs[key] / value))

    def _merge_tree(self, data: dict[str, Any], prefix: str, source: str,
                    seen: dict[str, str] | None = None) -> None:
        """Set every leaf of a nested mapping; a mapping-valued leaf (free-form object) is set whole.

        ``seen`` (one per file or JSON document) refuses a key given twice in different spellings
        (``train.lr`` and ``train: {lr}``, or a shorthand and its key): which one wins would be a guess.
        """
        for name, value in data.items():
            key = f"{prefix}{name}"
            if isinstance(value, dict) and key not in self.leaves and self.shorthand.get(key) not in self.leaves:
                if not value and key in self.sections:
                    continue
                if value:
                    self._merge_tree(value, key + ".", source, seen)
                    continue
            if seen is not None:
                resolved = self.shorthand.get(key, key)
                if resolved in seen:
                    self.errors.append(ErrorItem(resolved, f"`{resolved}` is set twice in {source} (as `{seen[resolved]}` "
                                                           f"and as `{key}`); keep one", got=key))
                    continue
                seen[resolved] = key
            self.set(key, value, source)

    def apply_overrides(self, items: Iterable[str]) -> None:
        for item in items:
            if "=" not in item:
                self.errors.append(ErrorItem(None, f"--override `{item}` must look like KEY=VALUE", got=item))
                continue
            key, raw = item.split("=", 1)
            key = key.strip()
            resolved = self.shorthand.get(key, key)
            try:
                value = parse_value(raw, self.leaves.get(resolved))
            except InputError as exc:
                # the value is not echoed: it may be a secret (encryption_key)
                self.errors.extend(ErrorItem(key, f"--override {key}: {e.message}") for e in exc.errors)
                continue
            self.set(key, value, "--override")

    def apply_json(self, text: str) -> None:
        """Merge ``--overrides-json`` (inline JSON or ``@FILE``); its problems join :attr:`errors`."""
        try:
            if text.startswith("@"):
                data = load_json_file(text[1:], what="--overrides-json file", key="--overrides-json")
            else:
                data = load_json(text, source="--overrides-json", key="--overrides-json")
        except InputError as exc:
            self.errors.extend(exc.errors)
            return
        if not isinstance(data, dict):
            self.errors.append(ErrorItem("--overrides-json", "must be a JSON object of dotted keys",
                                         expected="object", got=type(data).__name__))
            return
        self._merge_tree(data, "", "--overrides-json", {})

    def raise_errors(self) -> None:
        if self.errors:
            raise RunnerError(self.errors)


def redact(spec: dict[str, Any], secret_keys: Iterable[str]) -> dict[str, Any]:
    """A copy with every non-empty secret value replaced by ***."""
    out = copy.deepcopy(spec)
    for key in secret_keys:
        if get_dotted(out, key):
            set_dotted(out, key, REDACTED)
    return out


def secret_keys(schema: dict[str, Any]) -> list[str]:
    return [k for k, leaf in leaf_schemas(schema).items() if leaf.get("x-tao-secret") or leaf.get("writeOnly")]
