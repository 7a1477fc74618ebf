"""Turn a pydantic model into a self-contained JSON Schema draft 2020-12 document with ``x-tao-*`` metadata."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel

from tao_skill.spec import leaf_kind

DRAFT = "https://json-schema.org/draft/2020-12/schema"
_DROP = {"title"}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """Replace every ``$ref`` into ``$defs`` by the definition itself (spec models are not recursive)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = defs[node["$ref"].rsplit("/", 1)[-1]]
            merged = {**_inline(target, defs), **{k: _inline(v, defs) for k, v in node.items() if k != "$ref"}}
            return merged
        return {k: _inline(v, defs) for k, v in node.items() if k not in _DROP and k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def _is_leaf(node: dict[str, Any]) -> bool:
    return node.get("type") != "object"


def walk_leaves(schema: dict[str, Any], prefix: str = ""):
    """Yield ``(dotted_key, property_schema)`` for every leaf property."""
    for name, prop in schema.get("properties", {}).items():
        key = f"{prefix}{name}"
        if _is_leaf(prop):
            yield key, prop
        else:
            yield from walk_leaves(prop, key + ".")


def _never_searchable(prop: dict[str, Any]) -> bool:
    """AutoML can sample numbers with bounds, booleans and enums; never lists, free strings or secrets."""
    if prop.get("x-tao-automl") == "disabled" or prop.get("x-tao-secret") or prop.get("x-tao-path"):
        return True
    kind = leaf_kind(prop)
    if "enum" in prop or "const" in prop:
        return False
    return kind not in ("number", "integer", "boolean")


def _assert_finite(node: Any, where: str = "$") -> None:
    if isinstance(node, float) and not math.isfinite(node):
        raise ValueError(f"non-finite number at {where}")
    if isinstance(node, dict):
        for k, v in node.items():
            _assert_finite(v, f"{where}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _assert_finite(v, f"{where}[{i}]")


def _normalise_leaf(prop: dict[str, Any]) -> None:
    # pydantic writes Literal[...] of one value as `const`; an enum of one is clearer to tools and agents.
    if "const" in prop and "enum" not in prop:
        prop["enum"] = [prop.pop("const")]
    automl = prop.pop("x-tao-automl", None)
    prop["x-tao-automl-enabled"] = automl in ("default", "enabled")


def build_schema(model: type[BaseModel], *, action: str, network_arch: str, generator_version: str) -> dict[str, Any]:
    """The action's schema: inlined properties, full default spec, TAO metadata under ``x-tao-*``."""
    raw = model.model_json_schema(mode="validation")
    body = _inline(raw, raw.get("$defs", {}))
    body.pop("description", None)
    default_leaves = []
    disabled = []
    popular = []
    for key, prop in walk_leaves(body):
        automl = prop.get("x-tao-automl")
        if _never_searchable(prop):
            disabled.append(key)
        elif automl == "default":
            default_leaves.append(key)
        if prop.get("x-tao-popular"):
            popular.append(key)
        _normalise_leaf(prop)
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": f"https://tao-skill-bank.invalid/{network_arch}/{action}.schema.json",
        "title": f"{network_arch} {action} spec",
        "description": f"Experiment spec of the `{action}` action of {network_arch}. Generated from the pydantic config; "
        "do not edit by hand (`tao-skill schemas generate`).",
        "type": "object",
        "properties": body["properties"],
        "additionalProperties": False,
        "default": model().model_dump(mode="json"),
        "x-tao-schema": {
            "action": action,
            "network_arch": network_arch,
            "schema_version": 1,
            "generator": "tao_skill.schemagen",
            "generator_version": generator_version,
            "source": f"{model.__module__}.{model.__qualname__}",
        },
        "x-tao-automl-default-parameters": default_leaves,
        "x-tao-automl-disabled-parameters": disabled,
        "x-tao-popular": popular,
    }
    _assert_finite(schema)
    return schema
