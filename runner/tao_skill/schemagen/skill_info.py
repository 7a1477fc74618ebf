"""Validation of a skill's hand-written ``references/skill_info.yaml``.

The file is the machine-readable truth the runner acts on, so a typo in it must fail loudly at
generation time rather than silently change a job: the structure is checked with a pydantic model and
every dotted spec key it names must exist in the generated schema of its action.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAPPING_FUNCTIONS = (
    "key",
    "output_dir",
    "parent_model",
    "parent_model_or_ptm",
    "ptm",
    "resume_model",
    "create_onnx_file_2d",
    "create_onnx_file_3d",
)
DATA_SOURCES = ("train_datasets", "eval_dataset", "inference_dataset")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputSpec(_Strict):
    type: Literal["file", "folder"]
    optional: bool = False
    extract_to_parent: bool = False
    # Required unless one of these spec keys is set (e.g. a checkpoint, unless exported models are given).
    unless: list[str] = []


class OutputSpec(_Strict):
    type: Literal["file", "folder"]


class ActionInfo(_Strict):
    command: list[str] = Field(min_length=1)
    config_format: Literal["yaml"] = "yaml"
    inputs: dict[str, InputSpec] = {}
    outputs: dict[str, OutputSpec] = {}
    upload_excludes: list[str] = []


class DataSourceEntry(_Strict):
    source: Literal["train_datasets", "eval_dataset", "inference_dataset"]
    path: str


class MappingSpec(_Strict):
    function: Literal[MAPPING_FUNCTIONS]  # type: ignore[valid-type]
    artifact: str | None = None
    subdir: str | None = None
    # parent_model only: the parent may lack this artifact as long as another parent_model mapping of the
    # action finds its own (a train, export or gen_trt_engine parent each provide a different model form).
    optional: bool = False
    # parent_model only: take the folder that holds the matched file (e.g. an engine folder).
    folder: bool = False


class Monitoring(_Strict):
    metric: str
    direction: Literal["maximize", "minimize"]


class AutoMLInfo(_Strict):
    """Defaults of ``tao-run-automl`` for this network; the key names keep the runner network-agnostic."""

    epochs_key: str | None = None  # the train spec key --epochs-per-trial sets
    sample_count_key: str | None = None  # the train spec key --train-sample-count sets
    validation_interval_key: str | None = None  # epochs between KPI reports; a trial shorter than it is refused
    algorithm: Literal["bayesian", "hyperband", "asha", "bohb", "dehb", "random", "grid", "cmaes"] = "bayesian"
    max_trials: int = Field(10, ge=1)
    epochs_per_trial: int | None = Field(None, ge=1)
    final: Literal["auto", "train", "none"] = "auto"
    baseline: bool = True
    reduction_factor: int = Field(3, ge=2)
    grid_points: int = Field(3, ge=2)
    metric: str | None = None  # default: monitoring.metric
    plots: bool = True  # optimization history / parameter importance PNG (and HTML with plotly)


class GpuGuidance(_Strict):
    min_gpus: int = Field(ge=0)
    recommended_gpus: int = Field(ge=0)
    min_vram_gb: int = Field(ge=0)
    notes: str = ""


class PreflightInfo(_Strict):
    """What `tao-skill preflight` reads besides gpu_spec_key/gpu_guidance (all optional)."""

    memory_estimator: str | None = Field(None, pattern=r"^[\w.]+:\w+$")  # module:function(spec, world_size)
    # the spec keys (sections or leaves) the estimate reads: its cache key, so a plan that changes other keys
    # (lr, epochs) reuses the estimate; unset = the whole spec
    estimate_inputs: list[str] | None = None
    gpu_ids_key: str | None = None
    num_nodes_key: str | None = None


class Artifacts(_Strict):
    checkpoint_glob: str
    status_file: str = "status.json"


class DemoStep(_Strict):
    name: str
    tool: str | None = None
    run: str | None = None
    parent: str | None = None
    args: list[str] = []


class Demo(_Strict):
    summary: str
    steps: list[DemoStep] = Field(min_length=1)


class LineageStage(_Strict):
    key: str
    name: str
    grow_on: list[str] = []


class Lineage(_Strict):
    """What a child job takes from its parent (tao_skill.lineage)."""

    inherit: list[str]
    exclude: list[str] = []
    architecture: list[str] = []
    architecture_by_stage: dict[str, list[str]] = {}
    stage: LineageStage | None = None


class PtmKind(_Strict):
    match_any: list[str] = Field(min_length=1)
    keys: dict[str, dict[str, Any] | None] = Field(min_length=1)


class PtmKinds(_Strict):
    """How `--ptm FILE` is read (tao_skill.ptm)."""

    strip_prefixes: list[str] = []
    kinds: dict[str, PtmKind] = Field(min_length=1)


class SkillInfo(_Strict):
    name: str
    network_arch: str = Field(pattern=r"^[a-z0-9_]+$")
    description: str
    automl_enabled: bool
    dataset_type: str
    data_format: list[str]
    monitoring: Monitoring
    gpu_spec_key: str
    gpu_guidance: GpuGuidance
    preflight: PreflightInfo | None = None
    config_entry: str = Field(pattern=r"^[\w.]+:\w+$")
    # module:function(filled, given) -> [errors with .key/.message]: the config's cross-field rules over a
    # plain spec dict (``filled``: schema defaults applied; ``given``: as written), importable without the
    # config's heavy dependencies. With it, `schemas generate` writes a compiled validator per action and a
    # plan of a spec seen for the first time is accepted without jsonschema or the config (tao_skill.validation).
    # Name it only if the config enforces nothing beyond its generated schema and these rules.
    rules_entry: str | None = Field(None, pattern=r"^[\w.]+:\w+$")
    schema_actions: list[str]
    spec_templates: dict[str, str]
    actions: dict[str, ActionInfo]
    data_sources: dict[str, dict[str, DataSourceEntry]]
    spec_params: dict[str, dict[str, Literal[MAPPING_FUNCTIONS] | MappingSpec]]  # type: ignore[valid-type]
    spec_shorthand_keys: dict[str, str]
    key_defaults: dict[str, Any] = {}
    artifacts: Artifacts
    tools: dict[str, list[str]] = {}
    demo: Demo | None = None
    automl: AutoMLInfo | None = None
    lineage: Lineage | None = None
    ptm_kinds: PtmKinds | None = None
    notes: list[str] = []


def _schema_has(schema: dict[str, Any], dotted: str) -> bool:
    node = schema
    for part in dotted.split("."):
        props = node.get("properties")
        if not isinstance(props, dict) or part not in props:
            return False
        node = props[part]
    return True


def validate_skill_info(info: dict[str, Any], schemas: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """Problems of a parsed skill_info.yaml ([] = valid).

    With ``schemas`` ({action: generated schema}) also checks that every dotted key named in
    ``actions.*.inputs/outputs``, ``data_sources``, ``spec_params``, ``spec_shorthand_keys``,
    ``key_defaults`` and ``gpu_spec_key`` exists in the schema of its action.
    """
    try:
        parsed = SkillInfo.model_validate(info)
    except ValidationError as exc:
        return [f"skill_info.yaml: `{'.'.join(map(str, e['loc']))}` {e['msg']}" for e in exc.errors()]
    problems: list[str] = []
    for action in parsed.actions:
        if action not in parsed.schema_actions:
            problems.append(f"skill_info.yaml: action `{action}` has no entry in schema_actions")
    for table in ("data_sources", "spec_params"):
        for action in getattr(parsed, table):
            if action not in parsed.actions:
                problems.append(f"skill_info.yaml: {table}.{action} names an action that is not under `actions`")
    if parsed.demo:
        seen: set[str] = set()
        for step in parsed.demo.steps:
            if (step.tool is None) == (step.run is None):
                problems.append(f"skill_info.yaml: demo step `{step.name}` needs exactly one of `tool` or `run`")
            if step.tool and step.tool not in parsed.tools:
                problems.append(f"skill_info.yaml: demo step `{step.name}` uses unknown tool `{step.tool}`")
            if step.run and step.run not in parsed.actions:
                problems.append(f"skill_info.yaml: demo step `{step.name}` runs unknown action `{step.run}`")
            if step.parent and step.parent not in seen:
                problems.append(f"skill_info.yaml: demo step `{step.name}` names parent `{step.parent}` before it ran")
            seen.add(step.name)
    if schemas is None:
        return problems

    def need(action: str, key: str, where: str) -> None:
        if key == "results_dir" and where.endswith("outputs"):
            return
        schema = schemas.get(action)
        if schema is None:
            problems.append(f"skill_info.yaml: {where} refers to action `{action}` which has no generated schema")
        elif not _schema_has(schema, key):
            problems.append(f"skill_info.yaml: {where} names `{key}`, which is not a key of the {action} schema")

    for action, spec in parsed.actions.items():
        for key in spec.inputs:
            need(action, key, f"actions.{action}.inputs")
        for key in spec.outputs:
            need(action, key, f"actions.{action}.outputs")
    for action, table in parsed.data_sources.items():
        for key in table:
            need(action, key, f"data_sources.{action}")
    for action, table in parsed.spec_params.items():
        for key in table:
            need(action, key, f"spec_params.{action}")
    for short, key in parsed.spec_shorthand_keys.items():
        if not any(_schema_has(s, key) for s in schemas.values()):
            problems.append(f"skill_info.yaml: spec_shorthand_keys.{short} -> `{key}` exists in no generated schema")
    for key in parsed.key_defaults:
        if not any(_schema_has(s, key) for s in schemas.values()):
            problems.append(f"skill_info.yaml: key_defaults `{key}` exists in no generated schema")
    for field_name in ("epochs_key", "sample_count_key", "validation_interval_key"):
        key = getattr(parsed.automl, field_name, None) if parsed.automl else None
        if key:
            need("train", key, f"automl.{field_name}")
    if parsed.lineage:
        lin = parsed.lineage
        named = lin.inherit + lin.exclude + lin.architecture + [k for ks in lin.architecture_by_stage.values() for k in ks]
        for key in named + ([lin.stage.key] if lin.stage else []):
            if not any(_schema_has(s, key) for s in schemas.values()):
                problems.append(f"skill_info.yaml: lineage names `{key}`, which exists in no generated schema")
    if parsed.ptm_kinds:
        for kind, entry in parsed.ptm_kinds.kinds.items():
            for key in entry.keys:
                need("train", key, f"ptm_kinds.kinds.{kind}.keys")
    for key in ([parsed.preflight.gpu_ids_key, parsed.preflight.num_nodes_key, *(parsed.preflight.estimate_inputs or [])]
                if parsed.preflight else []):
        if key and "train" in schemas and not _schema_has(schemas["train"], key):
            problems.append(f"skill_info.yaml: preflight key `{key}` is not a key of the train schema")
    if "train" in schemas and not _schema_has(schemas["train"], parsed.gpu_spec_key):
        problems.append(f"skill_info.yaml: gpu_spec_key `{parsed.gpu_spec_key}` is not a key of the train schema")
    return problems
