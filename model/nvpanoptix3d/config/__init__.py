"""The NVPanoptix3D experiment spec: pydantic models that are the single source of truth.

Schemas (`schemas/<action>.schema.json`), spec templates and the runner's validation are all generated
from these models; `tao-skill schemas check` fails when the packaged files drift from them. Key names,
nesting and defaults are compatible with NVIDIA's TAO spec for this network.
"""

from nvpanoptix3d.config.experiment import ACTIONS, ExperimentConfig, action_models
from nvpanoptix3d.config.loader import SpecError, SpecIssue, load_spec, set_dotted, validate_spec
from nvpanoptix3d.config.rules import DOWNSAMPLE_BY_DATASET, RuleError, check_rules, resolve_secret

__all__ = [
    "ACTIONS",
    "DOWNSAMPLE_BY_DATASET",
    "ExperimentConfig",
    "RuleError",
    "SpecError",
    "SpecIssue",
    "action_models",
    "check_rules",
    "load_spec",
    "resolve_secret",
    "set_dotted",
    "validate_spec",
]
