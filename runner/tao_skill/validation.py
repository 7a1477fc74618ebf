"""Validation of a resolved spec: the generated JSON Schema, then the config's own cross-field rules."""

from __future__ import annotations

import importlib
from typing import Any

from tao_skill.errors import ErrorItem
from tao_skill.spec import REDACTED, leaf_schemas

_SECRET_SAFE = REDACTED


def _dotted(path: Any) -> str:
    return ".".join(str(p) for p in path)


def schema_errors(schema: dict[str, Any], spec: dict[str, Any]) -> list[ErrorItem]:
    from jsonschema import Draft202012Validator  # noqa: PLC0415 - keep `tao-skill --help` fast

    leaves = leaf_schemas(schema)
    errors = []
    for err in sorted(Draft202012Validator(schema).iter_errors(spec), key=lambda e: list(map(str, e.path))):
        key = _dotted(err.absolute_path) or None
        secret = bool(key and (leaves.get(key, {}).get("x-tao-secret")))
        got = _SECRET_SAFE if secret else err.instance
        if err.validator == "additionalProperties":
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            for name in extra:
                full = f"{key}.{name}" if key else name
                errors.append(ErrorItem(full, "is not a known key", got=full))
            continue
        if err.validator == "type":
            msg = f"must be of type {err.validator_value}"
        elif err.validator == "enum":
            msg = f"must be one of {', '.join(map(str, err.validator_value))}"
        elif err.validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            op = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[err.validator]
            msg = f"must be a number {op} {err.validator_value}"
        elif err.validator in ("minItems", "maxItems"):
            msg = f"must have {'at least' if err.validator == 'minItems' else 'at most'} {err.validator_value} items"
        else:
            msg = err.message if not secret else f"fails the `{err.validator}` rule"
        errors.append(ErrorItem(key, msg, expected=err.validator_value if not secret else None, got=got))
    return errors


def config_errors(entry: str | None, action: str, spec: dict[str, Any]) -> list[ErrorItem]:
    """Cross-field rules of the network's pydantic config (``config_entry``), located at their keys."""
    if not entry:
        return []
    module_name, _, func = entry.partition(":")
    try:
        models = getattr(importlib.import_module(module_name), func)()
    except (ImportError, AttributeError) as exc:
        return [ErrorItem(None, f"cannot load the config entry {entry}: {exc}")]
    model = models.get(action)
    if model is None:
        return []
    from pydantic import ValidationError  # noqa: PLC0415

    try:
        model.model_validate(spec)
    except ValidationError as exc:
        out = []
        for err in exc.errors():
            if err["type"] != "cross_field":
                continue  # field-level problems are already reported from the JSON Schema
            out.append(ErrorItem(_dotted(err["loc"]), err["msg"], expected=(err.get("ctx") or {}).get("expected"),
                                 got=err.get("input")))
        return out
    return []


def validate(schema: dict[str, Any], spec: dict[str, Any], *, entry: str | None, action: str) -> list[ErrorItem]:
    errors = schema_errors(schema, spec)
    if not errors:
        errors = config_errors(entry, action, spec)
    return errors
