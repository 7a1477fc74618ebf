"""Lineage: a child job starts from what its parent ran with, and may not break the parent's checkpoint.

Why: an agent chains job ids (train 2D -> train 3D -> evaluate -> export). If the child built its network
from the action's template, an evaluate of a tiny 3D checkpoint would plan the full backbone and the 2D
stage, and fail (or report 2D PQ instead of PRQ). The skill says which keys travel (``skill_info.yaml``
``lineage``), so the runner stays network-agnostic:

``inherit``
    keys (or sections) a child takes from its parent's recorded spec before ``--spec``/``--override``
    (architecture and geometry); ``exclude`` removes keys from those sections (paths of the parent).
``architecture``
    keys whose change makes the parent's checkpoint unloadable; ``architecture_by_stage`` adds keys
    that matter only when the parent's checkpoint holds that stage. Changing one is exit 2 at plan time.
``stage``
    ``key`` (a boolean spec key that switches a later stage on), ``name`` of that stage and ``grow_on``
    (actions on which a child may switch it on although the parent lacks it: train initialises the
    earlier stage from the parent's checkpoint).

``--resume J`` takes J's whole recorded spec (its data sources included).
An AutoML job as parent stands for its final training when there is one, else its best trial.
"""

from __future__ import annotations

import copy
from typing import Any

from tao_skill.errors import ErrorItem, RunnerError
from tao_skill.jobs import Job, JobStore, _owns_process, pid_alive, this_host
from tao_skill.skills import Skill
from tao_skill.spec import REDACTED, flatten, get_dotted, set_dotted

_MISSING = object()


def config(skill: Skill) -> dict[str, Any]:
    return skill.info.get("lineage") or {}


def recorded_spec(job: Job) -> dict[str, Any] | None:
    """The spec ``job`` ran with, as recorded (secrets are ``***``)."""
    spec = (job.plan or {}).get("spec")
    return spec if isinstance(spec, dict) else None


def _under(key: str, prefixes: list[str]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def inherited_keys(skill: Skill, parent_spec: dict[str, Any], leaves: set[str]) -> dict[str, Any]:
    """{dotted key: parent's value} for every inherited leaf the child's spec also has."""
    cfg = config(skill)
    inherit, exclude = list(cfg.get("inherit") or []), list(cfg.get("exclude") or [])
    out = {}
    for key, value in flatten(parent_spec).items():
        if key in leaves and _under(key, inherit) and not _under(key, exclude) and value != REDACTED:
            out[key] = copy.deepcopy(value)
    return out


def resolve_automl_parent(store: JobStore, parent: Job) -> tuple[Job, dict[str, Any]]:
    """The job an AutoML parent stands for (final training if it finished, else the best trial) and a note.

    Raises:
        RunnerError: exit 2 when the study has no finished trial to take a checkpoint from.
    """
    kpis = parent.kpis or {}
    final, best = kpis.get("final") or {}, kpis.get("best") or {}
    if final.get("job_id") and final.get("status") == "done" and store.exists(final["job_id"]):
        job = store.get(final["job_id"])
        return job, {"automl_job": parent.id, "job_id": job.id, "chosen": "final training",
                     "trial": best.get("trial"), "metric": best.get("metric"), "value": final.get("value")}
    if best.get("job_id") and store.exists(best["job_id"]):
        job = store.get(best["job_id"])
        return job, {"automl_job": parent.id, "job_id": job.id, "chosen": "best trial", "trial": best.get("trial"),
                     "metric": best.get("metric"), "value": best.get("value")}
    raise RunnerError(ErrorItem("--parent-job", f"AutoML job {parent.id} ({parent.status}) has no finished trial "
                                                "to take a checkpoint from", expected="an AutoML job with a best trial",
                                got=parent.id, suggestion=f"tao-skill automl status {parent.id}"))


def check_resumable(resume: Job) -> None:
    """Refuse to resume a job that still runs (two writers on one results folder) or is not a direct train.

    Raises:
        RunnerError: exit 2 naming what still runs or why the job cannot be resumed.
    """
    if resume.route == "automl":
        raise RunnerError(ErrorItem("--resume", f"job {resume.id} is an AutoML job; continue it with "
                                                f"`tao-skill automl resume {resume.id}`", got=resume.route,
                                    suggestion=f"tao-skill automl resume {resume.id}"))
    local = resume.host in (None, this_host())
    alive = []
    if resume.status in ("pending", "running"):  # the store already turned jobs with a dead runner into lost
        alive.append(f"status {resume.status}" + (f", runner pid {resume.runner_pid}" if resume.runner_pid else ""))
    if local and resume.pid and pid_alive(resume.pid) and _owns_process(resume.pid, resume.job_dir):
        alive.append(f"training pid {resume.pid} is alive")
    if alive:
        raise RunnerError(ErrorItem("--resume", f"job {resume.id} is still running ({'; '.join(alive)}); resuming "
                                                "now would put two writers on one results folder",
                                    expected="a job whose processes have ended", got=resume.status,
                                    suggestion=f"tao-skill jobs wait {resume.id}"))


def lineage_base(skill: Skill, base: dict[str, Any], leaves: set[str], *, parent: Job | None,
                 resume: Job | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``base`` with the parent's (or the resumed job's) keys set, and the plan's ``lineage`` block."""
    source = resume or parent
    if source is None:
        return base, None
    spec = recorded_spec(source)
    if spec is None:
        how = "resume" if resume is not None else "parent"
        return base, {"parent": source.id, "mode": how, "source": f"{how} {source.id}", "keys": [],
                      "note": f"job {source.id} has no recorded spec: the child starts from the template"}
    out = copy.deepcopy(base)
    if resume is not None:  # the whole recorded spec: data sources, budgets, paths
        taken = {k: v for k, v in flatten(spec).items() if k in leaves and v != REDACTED}
        how = "resume"
    else:
        taken = inherited_keys(skill, spec, leaves)
        how = "parent"
    for key, value in taken.items():
        set_dotted(out, key, copy.deepcopy(value))
    return out, {"parent": source.id, "mode": how, "source": f"{how} {source.id}", "keys": sorted(taken),
                 "values": taken}


def finish_lineage(skill: Skill, action: str, lineage: dict[str, Any] | None, spec: dict[str, Any],
                   explicit: dict[str, str], parent: Job | None, resume: Job | None) -> list[ErrorItem]:
    """Record which keys kept the parent's value and which the user changed; errors for unloadable changes."""
    if not lineage or not lineage.get("values"):
        return []
    source = resume or parent
    cfg = config(skill)
    taken: dict[str, Any] = lineage.pop("values")
    kept, changed = [], []
    for key, value in taken.items():
        now = get_dotted(spec, key, _MISSING)
        if now == value:
            kept.append(key)
        else:
            changed.append({"key": key, "parent": value, "value": None if now is _MISSING else now,
                            "source": explicit.get(key, "the runner")})
    lineage["keys"] = kept
    lineage["changed"] = changed
    lineage["entries"] = [{"key": k, "source": f"{lineage['mode']} {source.id}"} for k in kept]
    stage = cfg.get("stage") or {}
    parent_spec = recorded_spec(source) or {}
    arch = list(cfg.get("architecture") or [])
    if stage.get("key") and get_dotted(parent_spec, stage["key"]):
        arch += list((cfg.get("architecture_by_stage") or {}).get(stage.get("name", ""), []))
    errors = []
    broken = [c for c in changed if _under(c["key"], arch)]
    if broken:
        names = ", ".join(f"{c['key']} ({c['parent']!r} -> {c['value']!r}, from {c['source']})" for c in broken)
        errors.append(ErrorItem(broken[0]["key"], f"these keys change the architecture of {lineage['mode']} job "
                                                  f"{source.id}, so its checkpoint would not load: {names}; drop "
                                                  "them (the child takes them from its parent) or train a new model "
                                                  "without --parent-job",
                                expected=f"the values of job {source.id}", got=[c["key"] for c in broken]))
    key = stage.get("key")
    if key and not get_dotted(parent_spec, key) and get_dotted(spec, key) \
            and action not in (stage.get("grow_on") or []) and resume is None:
        errors.append(ErrorItem(key, f"{key} is true but job {source.id} trained without the "
                                     f"{stage.get('name', 'later')} stage: its checkpoint has no weights for it",
                                expected=f"{key}: false (as in job {source.id})", got=True,
                                suggestion=f"train the {stage.get('name', 'later')} stage first: tao-skill run "
                                           f"{skill.network} train --parent-job {source.id} --override {key}=true"))
    return errors



