"""Read a YAML spec file into a validated ExperimentConfig with errors that name the key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from nvpanoptix3d.config.experiment import ExperimentConfig


@dataclass(frozen=True)
class SpecIssue:
    key: str
    message: str

    def __str__(self) -> str:
        return f"Field `{self.key}` {self.message}" if self.key else self.message


class SpecError(ValueError):
    """A spec that does not validate; ``issues`` lists every problem, each naming its key."""

    def __init__(self, issues: list[SpecIssue], source: str = "spec") -> None:
        self.issues = issues
        self.source = source
        super().__init__(f"{source} is invalid:\n" + "\n".join(f"  - {i}" for i in issues))


def issues_from_validation_error(exc: ValidationError) -> list[SpecIssue]:
    """Translate pydantic errors into one readable line per key (secrets never echoed)."""
    issues = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            msg = "is not a known key"
        elif kind == "cross_field":
            msg = err["msg"]
        else:
            got = "***" if key == "encryption_key" else repr(err.get("input"))
            msg = f"{err['msg'][0].lower()}{err['msg'][1:]} (got {got})"
        issues.append(SpecIssue(key, msg))
    return issues


def set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c = value`` in a nested dict, creating sections on the way."""
    node = tree
    parts = dotted.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def validate_spec(data: dict[str, Any], source: str = "spec") -> ExperimentConfig:
    """Validate a nested dict; raise SpecError listing every problem."""
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise SpecError(issues_from_validation_error(exc), source) from None


def load_spec(path: str | Path, overrides: dict[str, Any] | None = None) -> ExperimentConfig:
    """Load and validate a YAML spec; ``overrides`` maps dotted keys to values applied on top."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise SpecError([SpecIssue("", f"spec file {path} does not exist")], str(path)) from None
    except yaml.YAMLError as exc:
        raise SpecError([SpecIssue("", f"spec file {path} is not valid YAML: {exc}")], str(path)) from None
    if not isinstance(data, dict):
        raise SpecError([SpecIssue("", f"spec file {path} must hold a mapping at the top level")], str(path))
    for key, value in (overrides or {}).items():
        set_dotted(data, key, value)
    return validate_spec(data, str(path))
