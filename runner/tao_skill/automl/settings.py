"""AutoML settings of one study: the user's flags resolved against the skill's ``automl``/``monitoring``.

Why a plain dict in the plan: ``--dry-run --json`` must show exactly what a study will do (algorithm,
budgets, metric, the search space with ranges) and workers on other machines read the same settings
back from the study. Nothing here imports Optuna, so the plan path stays fast.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

from tao_skill.automl.space import build_space
from tao_skill.errors import ErrorItem
from tao_skill.skills import Skill

#: algorithm -> (sampler, pruner, note) as run on Optuna; see docs/automl.md.
ALGORITHMS: dict[str, tuple[str, str, str | None]] = {
    "bayesian": ("TPESampler", "NopPruner", None),
    "hyperband": ("RandomSampler", "HyperbandPruner", None),
    "asha": ("RandomSampler", "SuccessiveHalvingPruner", None),
    "bohb": ("TPESampler", "HyperbandPruner", None),
    "dehb": ("TPESampler", "HyperbandPruner",
             "Optuna has no differential-evolution sampler; dehb runs as TPE + Hyperband (the same as bohb)"),
    "random": ("RandomSampler", "NopPruner", None),
    "grid": ("GridSampler", "NopPruner", None),
    "cmaes": ("CmaEsSampler", "NopPruner", None),
}
NOT_SUPPORTED = {
    "pbt": "population-based training is not supported yet (it needs hyper-parameter changes on resumed "
           "checkpoints); use bohb or asha for early stopping, or bayesian",
}
MULTI_FIDELITY = ("hyperband", "asha", "bohb", "dehb")
_PASSWORD_IN_URL = re.compile(r"^[\w+]+://[^/:@]+:[^/@]+@")
FIXED_SOURCES = ("--override", "--overrides-json")


def infer_direction(metric: str) -> str:
    """A name containing "loss" is minimised, anything else (a KPI) maximised."""
    return "minimize" if "loss" in metric.lower() else "maximize"


def default_storage(workspace: Path, study: str) -> str:
    return f"sqlite:///{Path(workspace).resolve() / 'automl' / f'{study}.db'}"


def check_storage(url: str | None) -> ErrorItem | None:
    """A storage URL never carries a password (plans and job records are not secret stores)."""
    if url and not url.startswith("env:") and _PASSWORD_IN_URL.match(url):
        return ErrorItem("--storage", "the storage URL contains a password; put the URL in an environment variable "
                                      "and pass --storage env:VAR (or use ~/.pgpass / PGPASSWORD)",
                         expected="env:VAR or a URL without a password", got="<url with password>",
                         suggestion="--storage env:TAO_SKILL_AUTOML_STORAGE")
    return None


def kpi_budget_error(info: dict[str, Any], spec: dict[str, Any] | None, epochs: int | None,
                     from_flag: bool) -> ErrorItem | None:
    """A trial budget that can never report a KPI: fewer epochs than the validation interval (the skill's
    ``automl.validation_interval_key``), so the trial ends before its first validation."""
    key, epochs_key = info.get("validation_interval_key"), info.get("epochs_key")
    if not key or spec is None:
        return None
    from tao_skill.spec import get_dotted  # noqa: PLC0415

    interval = get_dotted(spec, key)
    if epochs is None and epochs_key:
        epochs = get_dotted(spec, epochs_key)
    if not isinstance(interval, int) or not isinstance(epochs, int) or interval <= 1 or epochs >= interval:
        return None
    where = "--epochs-per-trial" if from_flag else epochs_key
    return ErrorItem(where, f"a trial of {epochs} epoch(s) never reports a KPI: {key} is {interval} (one validation "
                            f"every {interval} epochs)", expected=f">= {interval} epochs per trial", got=epochs,
                     suggestion=f"--epochs-per-trial {interval}" if from_flag else f"--override {key}={epochs}")


def resolve(skill: Skill, schema: dict[str, Any], options: dict[str, Any], explicit: dict[str, str], *,
            job_id: str, workspace: Path, spec: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[ErrorItem]]:
    """The ``plan["automl"]`` block and every problem found (exit 2 when any).

    ``options`` holds the CLI flags (missing or None = default): algorithm, max_trials, timeout,
    epochs_per_trial, train_sample_count, params, metric, direction, storage, study_name, final,
    baseline, seed. ``spec`` (the assembled train spec) lets budgets that can never report a KPI be
    refused here, at plan time.
    """
    info = skill.info.get("automl") or {}
    monitoring = skill.info.get("monitoring") or {}
    errors: list[ErrorItem] = []
    opt = {k: v for k, v in options.items() if v not in (None, (), [])}
    algorithm = str(opt.get("algorithm") or info.get("algorithm") or "bayesian").lower()
    if algorithm in NOT_SUPPORTED:
        errors.append(ErrorItem("--algorithm", f"{algorithm}: {NOT_SUPPORTED[algorithm]}", expected=sorted(ALGORITHMS),
                                got=algorithm, suggestion="bohb"))
    elif algorithm not in ALGORITHMS:
        import difflib  # noqa: PLC0415 - only for an unknown name

        close = difflib.get_close_matches(algorithm, list(ALGORITHMS), n=1)
        errors.append(ErrorItem("--algorithm", f"unknown algorithm `{algorithm}`", expected=sorted(ALGORITHMS),
                                got=algorithm, suggestion=close[0] if close else None))
    elif algorithm == "cmaes" and importlib.util.find_spec("cmaes") is None:
        errors.append(ErrorItem("--algorithm", "cmaes needs the `cmaes` package (pip install cmaes)",
                                expected="cmaes installed", got="cmaes", suggestion="bayesian"))
    max_trials = int(opt.get("max_trials") or info.get("max_trials") or 10)
    if max_trials < 1:
        errors.append(ErrorItem("--max-trials", "must be at least 1", expected=">= 1", got=max_trials))
    epochs_key = info.get("epochs_key")
    sample_key = info.get("sample_count_key")
    epochs = opt.get("epochs_per_trial") or info.get("epochs_per_trial")
    if epochs is not None and not epochs_key:
        errors.append(ErrorItem("--epochs-per-trial", "this skill names no epochs key (skill_info.yaml automl.epochs_key)"))
    elif epochs is not None and int(epochs) < 1:
        errors.append(ErrorItem("--epochs-per-trial", "must be at least 1", expected=">= 1", got=epochs))
    budget_err = kpi_budget_error(info, spec, int(epochs) if epochs is not None and int(epochs) >= 1 else None,
                                  from_flag=bool(opt.get("epochs_per_trial")))
    if budget_err:
        errors.append(budget_err)
    samples = opt.get("train_sample_count")
    if samples is not None and not sample_key:
        errors.append(ErrorItem("--train-sample-count", "this skill names no sample-count key "
                                                        "(skill_info.yaml automl.sample_count_key)"))
    elif samples is not None and int(samples) < 1:
        errors.append(ErrorItem("--train-sample-count", "must be at least 1", expected=">= 1", got=samples))
    metric = str(opt.get("metric") or info.get("metric") or monitoring.get("metric") or "loss")
    if opt.get("direction"):
        direction, why = str(opt["direction"]), "--direction"
    elif metric == monitoring.get("metric"):
        direction, why = monitoring.get("direction", infer_direction(metric)), "skill_info.yaml monitoring"
    else:
        direction, why = infer_direction(metric), "inferred from the metric name"
    if direction not in ("maximize", "minimize"):
        errors.append(ErrorItem("--direction", "must be maximize or minimize", ["maximize", "minimize"], direction))
    study = str(opt.get("study_name") or job_id)
    storage = opt.get("storage")
    err = check_storage(storage)
    if err:
        errors.append(err)
    final = str(opt.get("final") or info.get("final") or "auto")
    fixed = {k for k, src in explicit.items() if src in FIXED_SOURCES}
    budget = {k for k in (epochs_key, sample_key) if k}
    params, notes, space_errors = build_space(schema, add=list(opt.get("params") or []), fixed=fixed,
                                              budget_keys=budget, shorthand=skill.info.get("spec_shorthand_keys", {}))
    errors += space_errors
    if not params and not space_errors:  # the launcher refuses to start; the plan says why beforehand
        notes.append("nothing to search: every default parameter is fixed or skipped; add one with --param KEY "
                     "or train directly with --automl-policy off")
    note = ALGORITHMS.get(algorithm, (None, None, None))[2]
    settings = {
        "algorithm": algorithm,
        "sampler": ALGORITHMS.get(algorithm, ("?", "?", None))[0],
        "pruner": ALGORITHMS.get(algorithm, ("?", "?", None))[1],
        "algorithm_note": note,
        "max_trials": max_trials,
        "timeout_s": float(opt["timeout"]) if opt.get("timeout") else None,
        "epochs_key": epochs_key,
        "epochs_per_trial": int(epochs) if epochs is not None else None,
        "sample_count_key": sample_key,
        "train_sample_count": int(samples) if samples is not None else None,
        "metric": metric,
        "direction": direction,
        "direction_source": why,
        "study_name": study,
        "storage": storage or default_storage(workspace, study),
        "final": final,
        "baseline": bool(opt.get("baseline", info.get("baseline", True))),
        "seed": opt.get("seed"),
        "reduction_factor": int(info.get("reduction_factor", 3)),
        "grid_points": int(info.get("grid_points", 3)),
        "plots": bool(info.get("plots", True)),
        "fixed": sorted(fixed),
        "search_space": [p.as_dict() for p in params],
        "space_notes": notes,
    }
    if final not in ("auto", "train", "none"):
        errors.append(ErrorItem("--final", "must be auto, train or none", ["auto", "train", "none"], final))
    return settings, errors
