"""Steps 1-7 of a job as plain functions: everything `--dry-run` prints, and what a run executes.

    load skill -> assemble spec -> policy/route -> spec_params -> dataset table -> validate -> staging plan
"""

from __future__ import annotations

import copy
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tao_skill.datasets import absolutize_inputs, check_inputs, fill_sources, is_remote, local_path
from tao_skill.errors import EXIT_INVALID, ErrorItem, RunnerError
from tao_skill.jobs import JobStore
from tao_skill.lineage import check_resumable, finish_lineage, lineage_base, resolve_automl_parent
from tao_skill.mappings import DEFAULT_KEY_ENV, MappingContext, apply_mappings
from tao_skill.policy import decide
from tao_skill.ptm import apply_ptm
from tao_skill.ptm import kinds as ptm_kinds
from tao_skill.skills import Skill, get_skill, require_action
from tao_skill.spec import SpecBuilder, get_dotted, redact, secret_keys
from tao_skill.validation import other_action_sections, schema_errors, validate

#: Multi-GPU / multi-node variables the entrypoint receives unchanged (recorded in the plan).
PASSTHROUGH_ENV = ("WORLD_SIZE", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT", "NUM_GPU_PER_NODE")


@dataclass
class RunRequest:
    """Everything a user or agent can say about one run (the CLI flags, as data)."""

    network: str
    action: str
    spec_file: Path | None = None
    overrides: list[str] = field(default_factory=list)
    overrides_json: str | None = None
    train_dataset: str | None = None
    eval_dataset: str | None = None
    inference_dataset: str | None = None
    automl_policy: str | None = None
    request: str | None = None
    parent_job: str | None = None
    ptm: str | None = None
    resume: str | None = None
    key_env: str | None = None
    results_dir: str | None = None
    workspace: Path | None = None
    skill_dir: Path | None = None
    automl: dict[str, Any] | None = None  # AutoML flags (algorithm, budgets, --param ...); see tao_skill.automl
    remote_check: bool = True  # ask S3 whether sources/results bucket exist (--no-remote-check turns it off)
    job_id: str | None = None  # set by `run --detach`: the background runner takes over the recorded job
    ptm_kind: str | None = None  # backbone | 2d | 3d; else decided from the file's keys


@dataclass
class Prepared:
    """A resolved, validated job: the plan (safe to print) plus what only the launcher may see."""

    skill: Skill
    plan: dict[str, Any]
    spec: dict[str, Any]
    secret_env: dict[str, str]
    store: JobStore
    results_dir: Path
    results_uri: str | None
    secret_keys: list[str] = field(default_factory=list)


def command_for(skill: Skill, action: str, config_path: Path) -> list[str]:
    """The entrypoint argv: "python" is this interpreter, ``{config_path}`` the job's spec.yaml and
    ``{skill_dir}`` the skill directory (for skills that ship their own entrypoint script)."""
    argv = skill.info["actions"][action]["command"]
    return [sys.executable if a == "python" else
            a.replace("{config_path}", str(config_path)).replace("{skill_dir}", str(skill.root)) for a in argv]


def _staging_plan(skill: Skill, action: str, spec: dict[str, Any], cache_dir: Path) -> list[dict[str, Any]]:
    inputs = skill.info["actions"][action].get("inputs", {})
    values = {k: get_dotted(spec, k) for k in inputs if get_dotted(spec, k)}
    try:
        from tao_skill.staging import plan_data_sources  # noqa: PLC0415
    except ImportError:
        plan_data_sources = None
    if plan_data_sources is not None:
        return plan_data_sources(values, inputs, cache_dir)
    rows = []
    for key, value in values.items():
        remote = is_remote(str(value))
        rows.append({"key": key, "uri": value, "local_path": None if remote else str(local_path(str(value))),
                     "cached": not remote, "kind": "remote" if remote else "local"})
    return rows


def _collect(errors: list[ErrorItem], step, key: str | None = None):
    """Run ``step``; an exit-2 RunnerError adds its items to ``errors`` (others propagate)."""
    try:
        return step()
    except RunnerError as exc:
        if exc.code != EXIT_INVALID:
            raise
        for item in exc.errors:  # name the flag the user typed, not the store's internal key
            if key and item.key == "job_id":
                item.key = key
        errors.extend(exc.errors)
        return None


def _automl_settings(skill: Skill, schema: dict[str, Any], req: RunRequest, explicit: dict[str, str], route: str,
                     job_id: str, workspace: Path, spec: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The plan's ``automl`` block (algorithm, budgets, metric, search space) when the route is AutoML.

    Raises:
        RunnerError: exit 2 listing every problem with the AutoML flags or the search space.
    """
    if route != "automl":
        return None
    try:
        from tao_skill.automl.settings import resolve  # noqa: PLC0415
    except ImportError:  # AutoML not installed: the launcher reports it
        return None
    settings, errors = resolve(skill, schema, req.automl or {}, explicit, job_id=job_id, workspace=workspace,
                               spec=spec)  # the spec: budgets that never report a KPI are refused here
    if errors:
        raise RunnerError(errors)
    return settings


def prepare(req: RunRequest) -> Prepared:
    """Steps 1-7 of a job, without side effects beyond reading the workspace: the plan and what runs.

    Raises:
        RunnerError: exit 2 with every problem found (unknown keys, missing data sources, parent jobs
            without checkpoints, schema and cross-field violations).
    """
    skill = get_skill(req.network, req.skill_dir)
    require_action(skill, req.action)
    action = req.action
    decision = decide(skill, action, req.automl_policy, req.request)

    schema, schema_note = skill.schema_or_generated(action)
    try:
        base = skill.load_template(action)
    except RunnerError:
        # The schema's `default` is the same full default spec; the template is only its commented copy.
        base = schema.get("default") or {}
        if not base:
            raise
    store = JobStore(req.workspace or Path.cwd() / "tao-workspace")
    errors: list[ErrorItem] = []
    parent = _collect(errors, lambda: store.get(req.parent_job), "--parent-job") if req.parent_job else None
    resume = _collect(errors, lambda: store.get(req.resume), "--resume") if req.resume else None
    if resume is not None and action != "train":
        errors.append(ErrorItem("--resume", f"only train jobs can be resumed; this is `{action}`", got=action))
        resume = None
    elif resume is not None and resume.action != "train":
        errors.append(ErrorItem("--resume", f"job {resume.id} is a `{resume.action}` job; only train jobs resume",
                                expected="a train job", got=resume.action))
        resume = None
    if resume is not None and _collect(errors, lambda: check_resumable(resume) or True) is None:
        resume = None
    automl_parent = None
    if parent is not None and parent.route == "automl":
        resolved = _collect(errors, lambda: resolve_automl_parent(store, parent))
        if resolved is None:
            parent = None
        else:
            parent, automl_parent = resolved
    if resume is not None:  # a resumed run continues as it was: one direct job, never a new study
        decision = replace(decision, route="direct", route_reason=f"--resume {resume.id} continues that training "
                                                                  "run directly")

    builder = SpecBuilder({}, schema, skill.info.get("spec_shorthand_keys", {}),
                          other_sections=other_action_sections(skill, action) if req.spec_file else None)
    base, lineage = lineage_base(skill, base, set(builder.leaves), parent=parent, resume=resume)
    builder.spec = copy.deepcopy(base)
    if req.spec_file:
        builder.merge_file(req.spec_file)
    builder.apply_overrides(req.overrides)
    if req.overrides_json:
        builder.apply_json(req.overrides_json)
    if req.results_dir:
        builder.set("results_dir", req.results_dir, "--results-dir")
    # Every problem a user can fix is collected and reported together (exit 2), not one per attempt.
    errors.extend(builder.errors)
    spec, explicit = builder.spec, builder.explicit

    job_id = req.job_id or store.new_id(action)
    results_uri = None
    user_results = get_dotted(spec, "results_dir") if "results_dir" in explicit else None
    if user_results is not None:
        from tao_skill.staging.preflight import results_problems  # noqa: PLC0415

        bad = results_problems(user_results, explicit.get("results_dir"))
        errors.extend(bad)
        user_results = None if bad else user_results
    if resume is not None:
        results_dir = Path(resume.results_dir)
    elif user_results and not is_remote(user_results):
        results_dir = local_path(user_results).resolve()
    else:
        results_dir = store.job_dir(job_id) / "results"
        results_uri = user_results or None
    if results_uri:  # the job writes locally; the runner uploads at the end
        explicit.pop("results_dir", None)

    by_kind = bool(ptm_kinds(skill.info)) and req.ptm
    ctx = MappingContext(results_dir=results_dir, parent=parent, ptm=None if by_kind else req.ptm, resume=resume,
                         key_env=req.key_env)
    mappings, secret_env = _collect(errors, lambda: apply_mappings(skill, action, spec, explicit, ctx)) or ([], {})
    ptm_info = None
    if by_kind:  # the file's kind decides which keys it fills (the skill's ptm_kinds)
        taken = {m["key"] for m in mappings if m["function"] in ("parent_model", "parent_model_or_ptm")}
        found = _collect(errors, lambda: apply_ptm(skill.info, action, spec, explicit, req.ptm, req.ptm_kind, taken))
        if found:
            mappings.extend(found[0])
            ptm_info = found[1]
    elif req.ptm_kind:
        errors.append(ErrorItem("--ptm-kind", "--ptm-kind needs --ptm (and a skill with ptm_kinds)",
                                got=req.ptm_kind))
    errors.extend(finish_lineage(skill, action, lineage, spec, explicit, parent, resume))
    builder.anchor_sources(skill.info.get("data_sources", {}).get(action, {}),
                           {"train_datasets": req.train_dataset, "eval_dataset": req.eval_dataset,
                            "inference_dataset": req.inference_dataset})
    rows = fill_sources(skill, action, spec, explicit,
                        {"train_datasets": req.train_dataset, "eval_dataset": req.eval_dataset,
                         "inference_dataset": req.inference_dataset})
    provided = {r["key"] for r in rows if r.get("from")}
    if resume is not None and lineage:  # the resumed job's data sources travel with its recorded spec
        provided |= {r["key"] for r in rows if r["key"] in lineage.get("keys", []) and not r.get("from")}
        for r in rows:
            if r["key"] in lineage.get("keys", []) and not r.get("from"):
                r["from"] = f"--resume {resume.id}"
    absolutize_inputs(skill, action, spec, provided | set(explicit))
    _collect(errors, lambda: check_inputs(skill, action, spec, provided))
    from tao_skill.staging.preflight import remote_checks, remote_note, source_problems  # noqa: PLC0415

    inputs = skill.info["actions"][action].get("inputs", {})
    errors.extend(source_problems({k: get_dotted(spec, k) for k in inputs},
                                  {r["key"]: r["from"] for r in rows if r.get("from")}))
    if errors:  # report the schema's findings too; the config's rules need a complete spec
        raise RunnerError(errors + schema_errors(schema, spec))
    errors = validate(schema, spec, entry=skill.info.get("config_entry"), action=action, skill_root=skill.root)
    if errors:
        raise RunnerError(errors)

    automl = _automl_settings(skill, schema, req, explicit, decision.route, job_id, store.workspace, spec)
    secrets = secret_keys(schema)
    safe_spec = redact(spec, secrets)
    job_dir = store.job_dir(job_id)
    data_sources = _staging_plan(skill, action, spec, store.workspace / "cache")
    table = {r["key"]: r for r in rows}
    for entry in data_sources:
        entry.update({k: v for k, v in table.get(entry["key"], {}).items() if k in ("source", "from")})
    checks, missing = remote_checks(data_sources, results_uri, enabled=req.remote_check)
    if missing:
        raise RunnerError(missing)
    key_env = req.key_env or DEFAULT_KEY_ENV
    plan: dict[str, Any] = {
        "ok": True,
        "network": skill.network,
        "action": action,
        "route": decision.route,
        "route_reason": decision.route_reason,
        "automl_policy": decision.automl_policy,
        "policy_reason": decision.policy_reason,
        "automl_runnable": decision.automl_runnable,
        "notice": decision.notice,
        "schema_note": schema_note,
        "job_id": job_id,
        "parent_job": req.parent_job or (req.resume if resume else None),
        "workspace": str(store.workspace),
        "job_dir": str(job_dir),
        "results_dir": str(results_dir),
        "results_uri": results_uri,
        "skill_dir": str(skill.root),
        "spec": safe_spec,
        "mappings": mappings,
        "data_sources": data_sources,
        "dataset_table": rows,
        "command": command_for(skill, action, job_dir / "spec.yaml"),
        "key_env": key_env,
        "env_passthrough": {k: os.environ[k] for k in PASSTHROUGH_ENV if k in os.environ},
        "remote_checks": checks,
        "remote_note": remote_note(checks),
    }
    if lineage:
        plan["lineage"] = lineage
    if automl_parent:
        plan["parent_resolution"] = automl_parent
    if ptm_info:
        plan["ptm"] = ptm_info
    if builder.ignored_sections:  # a whole-experiment spec: other actions' sections were checked, not used
        plan["ignored_sections"] = {name: f"{src}: checked against its own action's schema; `{action}` does not "
                                          "use it" for name, src in sorted(builder.ignored_sections.items())}
    if automl is not None:
        plan["automl"] = automl
    elif req.automl and any(v not in (None, (), []) for v in req.automl.values()):
        plan["automl_note"] = f"AutoML options ignored: the route is {decision.route} ({decision.route_reason})"
    return Prepared(skill, plan, spec, secret_env, store, results_dir, results_uri, secrets)
