"""One helper to declare a spec field with its TAO metadata.

TAO tooling (the runner's `describe`, AutoML, SKILL.md tables) needs more than a type and a default:
whether a field is popular, whether AutoML may search it, a human condition such as "> 0", weights for
enum options, and dependencies on other fields. pydantic carries these in ``json_schema_extra`` and the
schema generator emits them as ``x-tao-*`` keywords, so the metadata lives next to the field it
describes instead of in a second table that could drift.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

AutoML = Literal["default", "enabled", "disabled"]


class SpecSection(BaseModel):
    """Base of every spec section: unknown keys are errors, types are strict (a quoted "10" is not an int)."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True, use_attribute_docstrings=False)

    @model_validator(mode="before")
    @classmethod
    def _null_means_default(cls, data: Any) -> Any:
        """`null` where NVIDIA's config allows None (fields declared ``nullable``) means the field's default,
        which has the same meaning here (empty path, -1 = whole split, no key)."""
        if not isinstance(data, dict):
            return data
        nulls = [name for name, value in data.items() if value is None and name in cls.model_fields
                 and _is_nullable(cls.model_fields[name])]
        return {k: v for k, v in data.items() if k not in nulls} if nulls else data


def _is_nullable(info: Any) -> bool:
    extra = info.json_schema_extra
    return callable(extra) and getattr(extra, "nullable", False)


class _NullableSchema:
    """``json_schema_extra`` of a nullable field: its metadata plus ``null`` among the JSON types."""

    nullable = True

    def __init__(self, extra: dict[str, Any]) -> None:
        self.extra = extra

    def __call__(self, schema: dict[str, Any]) -> None:
        schema.update(self.extra)
        kind = schema.get("type")
        if isinstance(kind, str):
            schema["type"] = [kind, "null"]


def tao_field(
    default: Any = ...,
    description: str = "",
    *,
    popular: bool = False,
    automl: AutoML | None = None,
    math_cond: str | None = None,
    option_weights: dict[str, float] | None = None,
    depends_on: list[str] | None = None,
    log_scale: bool = False,
    secret: bool = False,
    path: Literal["file", "folder"] | None = None,
    nullable: bool = False,
    **constraints: Any,
) -> Any:
    """A pydantic ``Field`` with TAO metadata.

    Args:
        default: the default value (compatible with NVIDIA's spec unless noted in ``description``).
        description: one sentence a user or agent can act on; becomes the YAML template comment.
        popular: listed among the important parameters by ``tao-skill describe`` and SKILL.md.
        automl: ``default`` searched by AutoML unless the user fixes it, ``enabled`` searchable on request
            (``--param``), ``disabled`` never searched.
        math_cond: a human-readable condition (``"> 0"``) also enforced through ``constraints``.
        option_weights: sampling weights of enum options for AutoML.
        depends_on: conditions on other fields that must hold for this field to matter, e.g.
            ``["train.optim.lr_scheduler == 'MultiStep'"]``.
        log_scale: AutoML samples the range on a log scale.
        secret: the value is a credential; the runner never prints or stores it.
        path: the value is a file or folder path (data staging may localise it).
        nullable: ``null`` is accepted and means the default, as NVIDIA's config types the field Optional.
        constraints: pydantic constraints (``ge``, ``gt``, ``le``, ``lt``, ``min_length``, ...).
    """
    extra: dict[str, Any] = {}
    if popular:
        extra["x-tao-popular"] = True
    if automl is not None:
        extra["x-tao-automl"] = automl
    if math_cond:
        extra["x-tao-math-cond"] = math_cond
    if option_weights:
        extra["x-tao-option-weights"] = option_weights
    if depends_on:
        extra["x-tao-depends-on"] = depends_on
    if log_scale:
        extra["x-tao-log-scale"] = True
    if secret:
        extra["x-tao-secret"] = True
        extra["writeOnly"] = True
    if path:
        extra["x-tao-path"] = path
    schema_extra: Any = _NullableSchema(extra) if nullable else (extra or None)
    return Field(default, description=description, json_schema_extra=schema_extra, repr=not secret, **constraints)
