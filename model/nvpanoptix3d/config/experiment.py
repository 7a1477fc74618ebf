"""The experiment spec: every section, the per-action views and the cross-field rules."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError, create_model, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from nvpanoptix3d.config.actions import EvaluateConfig, ExportConfig, GenTrtEngineConfig, InferenceConfig
from nvpanoptix3d.config.common import WandBConfig
from nvpanoptix3d.config.dataset import DatasetConfig
from nvpanoptix3d.config.fields import SpecSection, tao_field
from nvpanoptix3d.config.model import ModelConfig
from nvpanoptix3d.config.rules import check_rules
from nvpanoptix3d.config.train import TrainConfig

ACTIONS = ("train", "evaluate", "inference", "export", "gen_trt_engine")


class _SpecRoot(SpecSection):
    """Top-level keys common to every action, and the cross-field rules."""

    model_name: str = tao_field("", "Model name for model-agnostic launchers; informational.", nullable=True)
    encryption_key: str = tao_field(
        "", "Key that encrypts checkpoints (never printed or stored; the runner passes it through an environment "
        "variable).", secret=True, nullable=True,
    )
    results_dir: str = tao_field("", "Folder that receives checkpoints, status.json, logs and outputs.", popular=True,
                             nullable=True)
    wandb: WandBConfig = Field(default_factory=WandBConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)

    @model_validator(mode="wrap")
    @classmethod
    def _cross_field_rules(cls, data: Any, handler: Any) -> Any:
        spec = handler(data)
        problems = check_rules(spec)
        if problems:
            raise ValidationError.from_exception_data(
                cls.__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("cross_field", "{message}", {"message": p.message, "expected": p.expected}),
                        loc=tuple(p.key.split(".")),
                        input=p.got,
                    )
                    for p in problems
                ],
            )
        return spec


class ExperimentConfig(_SpecRoot):
    """The whole spec the entrypoint reads, whatever the action."""

    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)
    inference: InferenceConfig = Field(default_factory=InferenceConfig)
    export: ExportConfig = Field(default_factory=ExportConfig)
    gen_trt_engine: GenTrtEngineConfig = Field(default_factory=GenTrtEngineConfig)


_ACTION_SECTION = {
    "evaluate": EvaluateConfig,
    "inference": InferenceConfig,
    "export": ExportConfig,
    "gen_trt_engine": GenTrtEngineConfig,
}


def _build_action_models() -> dict[str, type[SpecSection]]:
    # Like NVIDIA's packaged schemas, every action carries the common sections plus `train` and its own
    # section, so a spec written for one of their actions validates here unchanged.
    models: dict[str, type[SpecSection]] = {"train": create_model("TrainSpec", __base__=_SpecRoot)}
    for action, section in _ACTION_SECTION.items():
        name = "".join(p.capitalize() for p in action.split("_")) + "Spec"
        models[action] = create_model(name, __base__=_SpecRoot, **{action: (section, Field(default_factory=section))})
    return models


_ACTION_MODELS = _build_action_models()


def action_models() -> dict[str, type[SpecSection]]:
    """{action: pydantic model of that action's spec} — the `config_entry` of references/skill_info.yaml."""
    return dict(_ACTION_MODELS)
