"""Validation of a resolved spec: the generated JSON Schema, then the config's own cross-field rules.

Two paths give one verdict. The full path (:func:`schema_errors` with jsonschema, then the network's
pydantic config, :func:`config_errors`) finds every problem and words it (keys, did-you-mean, secrets
masked); importing both costs ~0.2 s. The fast path only ever ACCEPTS: the action's compiled validator
(``schemas/<action>_validator.py``, written by `tao-skill schemas generate`, see
:mod:`tao_skill.schemagen.compiled`) and the config's cross-field rules over a plain dict (the skill's
``rules_entry``), neither of which imports jsonschema or pydantic. Whenever it does not accept — a
refused value, a doubtful one, a missing or stale compiled module, no rules entry, any exception —
the full path decides, so error reports are exactly the full path's. tests/runner/test_fast_validation.py
checks over a broad corpus that both paths give the same verdict.
"""

from __future__ import annotations

import importlib
import math
import re
import sys
from pathlib import Path
from typing import Any

from tao_skill.errors import ErrorItem
from tao_skill.spec import REDACTED, leaf_schemas

_SECRET_SAFE = REDACTED
_NAMED_FIELD = re.compile(r"^Field `([^`]+)`")
_TYPE_WORDS = {"number": "a number", "integer": "an integer", "string": "a string", "boolean": "true or false",
               "array": "a list", "object": "a mapping", "null": "null"}


def _dotted(path: Any) -> str:
    return ".".join(str(p) for p in path)


def schema_errors(schema: dict[str, Any], spec: dict[str, Any]) -> list[ErrorItem]:
    from jsonschema import Draft202012Validator  # noqa: PLC0415 - keep `tao-skill --help` fast

    leaves = leaf_schemas(schema)
    errors = nonfinite_errors(spec)
    flagged = {e.key for e in errors}
    for err in sorted(Draft202012Validator(schema).iter_errors(spec), key=lambda e: list(map(str, e.path))):
        key = _dotted(err.absolute_path) or None
        if key in flagged:  # `x=.inf` is reported once, as not finite, not again as "must be <= 1"
            continue
        secret = bool(key and (leaves.get(key, {}).get("x-tao-secret") or leaves.get(key, {}).get("writeOnly")))
        got = _SECRET_SAFE if secret else err.instance
        suggestion = None
        if err.validator == "additionalProperties":
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            for name in extra:
                full = f"{key}.{name}" if key else name
                errors.append(ErrorItem(full, f"Field `{full}` is not a known key", got=full))
            continue
        if err.validator == "type":
            kinds = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
            msg = "must be " + " or ".join(_TYPE_WORDS.get(k, k) for k in kinds)
        elif err.validator == "enum":
            msg = f"must be one of {', '.join(map(str, err.validator_value))}"
            suggestion = None if secret else enum_suggestion(err.instance, err.validator_value)
        elif err.validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            op = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[err.validator]
            msg = f"must be a number {op} {err.validator_value}"
        elif err.validator in ("minItems", "maxItems"):
            msg = f"must have {'at least' if err.validator == 'minItems' else 'at most'} {err.validator_value} items"
        else:
            msg = err.message if not secret else f"fails the `{err.validator}` rule"
        errors.append(ErrorItem(key, f"Field `{key}` {msg}" if key else f"The spec {msg}",
                                expected=err.validator_value if not secret else None, got=got,
                                suggestion=suggestion))
    return errors


def _nonfinite_word(value: float) -> str:
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def nonfinite_errors(spec: Any, prefix: str = "") -> list[ErrorItem]:
    """NaN and ±Infinity anywhere in the spec (``.nan``, ``.inf``, ``1e400``, JSON ``NaN``), each at its key.

    JSON Schema's ``number`` admits them, but no spec value can mean them and strict JSON cannot carry
    them, so they are refused wherever they appear, before any other rule looks at the value.
    """
    out: list[ErrorItem] = []
    stack: list[tuple[Any, str]] = [(spec, prefix)]
    while stack:
        value, key = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            word = _nonfinite_word(value)
            out.append(ErrorItem(key or None, f"Field `{key}` must be a finite number, got {word}",
                                 expected="a finite number", got=word))
        elif isinstance(value, dict):
            stack.extend((v, f"{key}.{k}" if key else str(k)) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend((v, f"{key}.{i}") for i, v in enumerate(value))
    return sorted(out, key=lambda e: e.key or "")


def enum_suggestion(value: Any, choices: list[Any]) -> str | None:
    """The allowed value a user most likely meant: same letters in another case (`fp16` -> `FP16`,
    `front3D` -> `front3d`), else the closest spelling ignoring case."""
    import difflib  # noqa: PLC0415

    if not isinstance(value, str):
        return None
    by_lower = {str(c).lower(): str(c) for c in choices}
    if value.lower() in by_lower:
        return by_lower[value.lower()]
    close = difflib.get_close_matches(value.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


def _import_entry(module_name: str, skill_root: Path | None):
    """Import the config module; a skill directory outside the bank may carry it at its root."""
    try:
        return importlib.import_module(module_name)
    except ImportError:
        top = module_name.split(".")[0]
        if skill_root is None or not ((skill_root / f"{top}.py").is_file() or (skill_root / top).is_dir()):
            raise
    sys.path.insert(0, str(skill_root))
    try:
        return importlib.import_module(module_name)
    finally:
        sys.path.remove(str(skill_root))


def config_errors(entry: str | None, action: str, spec: dict[str, Any],
                  skill_root: Path | None = None, secrets: set[str] = frozenset()) -> list[ErrorItem]:
    """Rules of the network's pydantic config (``config_entry``: "module:function" returning
    {action: model}), cross-field ones included, located at their dotted keys."""
    if not entry:
        return []
    module_name, _, func = entry.partition(":")
    try:
        models = getattr(_import_entry(module_name, skill_root), func)()
    except (ImportError, AttributeError) as exc:
        return [ErrorItem("config_entry", f"cannot load the config entry {entry}: {exc}",
                          expected="module:function returning {action: pydantic model}", got=entry)]
    model = models.get(action)
    if model is None:
        return []
    from pydantic import ValidationError  # noqa: PLC0415

    try:
        model.model_validate(spec)
    except ValidationError as exc:
        out = []
        for err in exc.errors(include_url=False):
            key = _dotted(err["loc"]) or None
            named = _NAMED_FIELD.match(err["msg"])
            if named:  # a model-level rule that names its field: locate the error there
                key = named.group(1)
            secret = bool(key and key in secrets)
            msg = err["msg"]
            out.append(ErrorItem(key, msg if named or not key else f"Field `{key}`: {msg}",
                                 expected=(err.get("ctx") or {}).get("expected"),
                                 got=_SECRET_SAFE if secret else _plain(err.get("input"))))
        return out
    return []


def _plain(value: Any) -> Any:
    """A JSON-friendly, short form of a pydantic error's input (the whole spec is never echoed)."""
    if isinstance(value, dict):
        return "{...}"
    return value


class _Doubt(Exception):
    """A value the fast path leaves to the full path."""


def _types(schema: dict[str, Any]) -> tuple[str, ...]:
    kind = schema.get("type")
    return (kind,) if isinstance(kind, str) else tuple(kind) if isinstance(kind, list) else ()


def filled_spec(schema: dict[str, Any], value: Any) -> Any:
    """A copy of ``value`` with the schema's defaults applied, as the config reads the spec: a missing key
    takes its ``default`` (a missing section is built from its own keys' defaults), and so does a
    ``null`` where the schema allows null and gives a default (the generator emits null only for
    fields where it means the default).

    Raises:
        _Doubt: a value on which JSON Schema and the strict config may disagree, so that only the full
            path may judge it: a non-finite number, a float where the schema wants an integer (JSON
            Schema takes 1.0 as an integer, the strict config does not), a tuple, a non-string key.
    """
    if isinstance(value, float):
        kinds = _types(schema)
        if not math.isfinite(value) or ("integer" in kinds and "number" not in kinds):
            raise _Doubt
        return value
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        out: dict[str, Any] = {}
        for name, item in value.items():
            if not isinstance(name, str):
                raise _Doubt
            sub = props.get(name, extra if isinstance(extra, dict) else {})
            if item is None and "null" in _types(sub) and "default" in sub:
                item = sub["default"]
            out[name] = filled_spec(sub, item)
        for name, sub in props.items():
            if name in out:
                continue
            if "default" in sub:
                out[name] = filled_spec(sub, sub["default"])
            elif "object" in _types(sub):
                out[name] = filled_spec(sub, {})
        return out
    if isinstance(value, list):
        items = schema.get("items")
        return [filled_spec(items if isinstance(items, dict) else {}, v) for v in value]
    if isinstance(value, tuple):
        raise _Doubt
    return value


_COMPILED: dict[tuple[str, int, int], Any] = {}


def _compiled_validator(skill_root: Path | None, action: str) -> Any:
    """The action's compiled validator module (imported once per process and file version), or None."""
    if skill_root is None:
        return None
    path = Path(skill_root) / "schemas" / f"{action}_validator.py"
    try:
        st = path.stat()
    except OSError:
        return None
    cache_key = (str(path), st.st_size, st.st_mtime_ns)
    if cache_key not in _COMPILED:
        import importlib.util  # noqa: PLC0415

        try:
            spec = importlib.util.spec_from_file_location(f"_tao_skill_compiled_{action}", path)
            module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - a broken generated file: the full path judges
            module = None
        _COMPILED[cache_key] = module
    return _COMPILED[cache_key]


def fast_accepts(schema: dict[str, Any], spec: dict[str, Any], *, entry: str | None, action: str,
                 skill_root: Path | None, schema_sha256: str) -> bool:
    """True only when the spec is certainly valid: the compiled validator of this very schema accepts it,
    nothing in it is doubtful (:func:`filled_spec`) and the config's rules (``RULES_ENTRY`` of the
    compiled module, from skill_info.yaml ``rules_entry``) find nothing. False means "ask the full path"."""
    module = _compiled_validator(skill_root, action)
    if module is None or getattr(module, "SCHEMA_SHA256", None) != schema_sha256:
        return False
    rules_entry = getattr(module, "RULES_ENTRY", None)
    if entry and not rules_entry:  # the config has rules the fast path cannot run
        return False
    try:
        module.validate(spec)
        filled = filled_spec(schema, spec)
        if rules_entry:
            module_name, _, func = rules_entry.partition(":")
            if getattr(_import_entry(module_name, skill_root), func)(filled, spec):
                return False
    except Exception:  # noqa: BLE001 - refused, doubtful or broken: the full path decides and words it
        return False
    return True


def validate(schema: dict[str, Any], spec: dict[str, Any], *, entry: str | None, action: str,
             skill_root: Path | None = None) -> list[ErrorItem]:
    """Every problem of a resolved spec: JSON Schema (Draft 2020-12) first, then the config's rules.

    The config's rules run only on a spec the schema accepts, so one mistake is reported once. A spec
    that passed before under the same schema, config and validators is not checked again
    (:mod:`tao_skill.verdicts`); a spec the fast path accepts (see the module docstring) is valid
    without either validator: both then cost neither jsonschema's nor the config's imports.
    """
    from tao_skill import verdicts  # noqa: PLC0415

    schema_sha256 = verdicts.schema_digest(schema)
    digest = verdicts.key(schema, spec, entry=entry, action=action, skill_root=skill_root,
                          schema_sha256=schema_sha256)
    if verdicts.known_valid(digest):
        return []
    if fast_accepts(schema, spec, entry=entry, action=action, skill_root=skill_root, schema_sha256=schema_sha256):
        verdicts.remember_valid(digest)
        return []
    errors = schema_errors(schema, spec)
    if not errors:
        secrets = {k for k, leaf in leaf_schemas(schema).items() if leaf.get("x-tao-secret") or leaf.get("writeOnly")}
        errors = config_errors(entry, action, spec, skill_root, secrets)
    if not errors:
        verdicts.remember_valid(digest)
    return errors


def other_action_sections(skill: Any, action: str) -> dict[str, dict[str, Any]]:
    """{section: schema} of the top-level sections that other actions of ``skill`` use and ``action`` lacks.

    A TAO experiment spec holds the sections of every action (``train``, ``evaluate``, ``inference``,
    ``export``, ...); each action uses its own and the common ones. The others are checked against the
    schema of an action that uses them and then left out, so one spec file serves every action.
    """
    from tao_skill.errors import RunnerError  # noqa: PLC0415

    def schema_of(name: str) -> dict[str, Any]:
        try:
            return skill.schema_or_generated(name)[0]
        except RunnerError:
            return {}

    own = set(schema_of(action).get("properties", {}))
    out: dict[str, dict[str, Any]] = {}
    for other in skill.actions:
        if other == action:
            continue
        for name, prop in schema_of(other).get("properties", {}).items():
            if name not in own and name not in out and prop.get("type") == "object":
                out[name] = prop
    return out
