"""The NVPanoptix3D experiment spec: pydantic models that are the single source of truth.

Schemas (`schemas/<action>.schema.json`), spec templates and the runner's validation are all generated
from these models; `tao-skill schemas check` fails when the packaged files drift from them. Key names,
nesting and defaults are compatible with NVIDIA's TAO spec for this network.
"""

from importlib import import_module
from typing import Any

# Names resolve on first use (PEP 562), so importing a light submodule (``config.rules``, which the
# runner's fast validation path imports) does not build the pydantic models.
_HOME = {
    "ACTIONS": "experiment", "ExperimentConfig": "experiment", "action_models": "experiment",
    "SpecError": "loader", "SpecIssue": "loader", "load_spec": "loader", "set_dotted": "loader",
    "validate_spec": "loader",
    "DOWNSAMPLE_BY_DATASET": "rules", "RuleError": "rules", "check_rules": "rules", "check_spec": "rules",
    "resolve_secret": "rules",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))


__all__ = [
    "ACTIONS",
    "DOWNSAMPLE_BY_DATASET",
    "ExperimentConfig",
    "RuleError",
    "SpecError",
    "SpecIssue",
    "action_models",
    "check_rules",
    "check_spec",
    "load_spec",
    "resolve_secret",
    "set_dotted",
    "validate_spec",
]
