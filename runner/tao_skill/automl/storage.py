"""Where a study lives: SQLite in the workspace by default, any SQLAlchemy URL (PostgreSQL) for many machines.

Why a heartbeat: a trial whose process dies (kill -9, machine lost) would stay RUNNING forever; with
``heartbeat_interval`` Optuna marks it FAIL once its heartbeat is older than ``grace_period`` and the
study goes on (``fail_stale_trials`` runs at the start of every trial and on resume).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import optuna

from tao_skill.errors import EXIT_INVALID, ErrorItem, RunnerError

HEARTBEAT_S = int(os.environ.get("TAO_SKILL_AUTOML_HEARTBEAT_S", "5"))
GRACE_S = int(os.environ.get("TAO_SKILL_AUTOML_GRACE_S", "30"))  # a trial silent this long is failed
#: study user attribute holding the context workers need (plan without secrets, settings).
CONTEXT_ATTR = "tao_skill_context"


def resolve_url(storage: str) -> str:
    """``env:VAR`` -> the URL in that variable (so a password never lands in a plan or job record)."""
    if storage.startswith("env:"):
        var = storage[4:]
        url = os.environ.get(var)
        if not url:
            raise RunnerError(ErrorItem("--storage", f"environment variable {var} is not set or empty; export the "
                                                     "study database URL in it", got=storage), EXIT_INVALID)
        return url
    return storage


def open_storage(storage: str) -> optuna.storages.RDBStorage:
    """An RDB storage with a heartbeat; SQLite files get their folder and a generous lock timeout."""
    url = resolve_url(storage)
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        kwargs = {"connect_args": {"timeout": 60}}
    try:
        with warnings.catch_warnings():  # heartbeat_interval is "experimental" in Optuna; we rely on it knowingly
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=HEARTBEAT_S,
                                              grace_period=GRACE_S)
    except Exception as exc:  # noqa: BLE001 - any driver/connection error: one clear line
        raise RunnerError(ErrorItem("--storage", f"cannot open the study storage: {type(exc).__name__}: {exc}",
                                    expected="sqlite:///PATH or postgresql://HOST/DB", got=storage)) from None


def study_exists(storage: optuna.storages.RDBStorage, name: str) -> bool:
    return any(s.study_name == name for s in storage.get_all_studies())


def create_study(storage: optuna.storages.RDBStorage, name: str, direction: str, context: dict[str, Any],
                 sampler: optuna.samplers.BaseSampler, pruner: optuna.pruners.BasePruner) -> optuna.Study:
    """A new study; an existing one of that name is an error (resume only when asked)."""
    if study_exists(storage, name):
        raise RunnerError(ErrorItem("--study-name", f"study `{name}` already exists in this storage; continue it with "
                                                    f"`tao-skill automl resume {context.get('job_id', name)}` or "
                                                    "pick another --study-name", got=name,
                                    suggestion=f"tao-skill automl resume {context.get('job_id', name)}"))
    study = optuna.create_study(storage=storage, study_name=name, direction=direction, sampler=sampler, pruner=pruner)
    study.set_user_attr(CONTEXT_ATTR, json.loads(json.dumps(context, default=str)))
    return study


def load_study(storage: optuna.storages.RDBStorage, name: str, sampler: optuna.samplers.BaseSampler | None = None,
               pruner: optuna.pruners.BasePruner | None = None) -> optuna.Study:
    if not study_exists(storage, name):
        raise RunnerError(ErrorItem("--study", f"no study `{name}` in this storage", got=name,
                                    expected="the AutoML job id (tao-skill jobs list) or its --study-name"))
    return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)


def context_of(storage: optuna.storages.RDBStorage, name: str) -> dict[str, Any]:
    """The plan and settings the study was created with (a worker on another machine needs nothing else)."""
    study = optuna.load_study(study_name=name, storage=storage)
    ctx = study.user_attrs.get(CONTEXT_ATTR)
    if not ctx:
        raise RunnerError(ErrorItem("--study", f"study `{name}` was not created by tao-skill (no {CONTEXT_ATTR})",
                                    got=name))
    return ctx


def fail_stale(study: optuna.Study) -> None:
    """Mark trials whose heartbeat stopped (a dead process or machine) as FAIL."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
