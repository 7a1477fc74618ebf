"""Where a study lives: SQLite in the workspace by default, any SQLAlchemy URL (PostgreSQL) for many machines.

Why a heartbeat: a trial whose process dies (kill -9, machine lost) would stay RUNNING forever; with
``heartbeat_interval`` Optuna marks it FAIL once its heartbeat is older than ``grace_period``, and
Optuna's ``RetryHeartbeatStaleTrialCallback`` enqueues the same parameters again, so the study loses
no trial (``fail_stale_trials`` runs at the start of every trial and on resume).

Why a resilient storage: a shared database restarts or drops off the network now and then. Every
storage call retries connection errors for ``TAO_SKILL_AUTOML_DB_RETRY_S`` (the engine pings pooled
connections before use, ``pool_pre_ping``), and the heartbeat thread never dies of one: a missed beat
is logged and the next one tried. An outage shorter than the grace period (120 s by default) is not
noticed by the study at all.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import optuna

from tao_skill.errors import EXIT_INVALID, ErrorItem, RunnerError

HEARTBEAT_S = int(os.environ.get("TAO_SKILL_AUTOML_HEARTBEAT_S", "5"))
GRACE_S = int(os.environ.get("TAO_SKILL_AUTOML_GRACE_S", "120"))  # a trial silent this long is failed
DB_RETRY_S = float(os.environ.get("TAO_SKILL_AUTOML_DB_RETRY_S", "300"))  # how long a call waits for the database
MAX_RETRY = int(os.environ.get("TAO_SKILL_AUTOML_MAX_RETRY", "2"))  # re-runs of a trial whose heartbeat stopped
_log = logging.getLogger("tao_skill.automl")
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


def safe_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (for messages)."""
    try:
        from sqlalchemy.engine import make_url  # noqa: PLC0415

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy parses: show only its scheme
        return url.split("://", 1)[0] + "://..." if "://" in url else "<storage>"


def _scrub(text: str, url: str) -> str:
    """A driver message without the URL's password (psycopg may quote the connection string)."""
    try:
        from sqlalchemy.engine import make_url  # noqa: PLC0415

        password = make_url(url).password
    except Exception:  # noqa: BLE001
        password = None
    return text.replace(str(password), "***") if password else text


def _is_connection_error(exc: BaseException) -> bool:
    """A lost/refused database connection (worth waiting for), not a bad query or a finished trial."""
    import sqlalchemy.exc as sa_exc  # noqa: PLC0415

    seen = exc
    for _ in range(4):
        if isinstance(seen, (sa_exc.OperationalError, sa_exc.InterfaceError)) or (
                isinstance(seen, sa_exc.DBAPIError) and seen.connection_invalidated):
            return True
        seen = seen.__cause__ or seen.__context__
        if seen is None:
            return False
    return False


def _retrying(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def call(self, *args: Any, **kwargs: Any) -> Any:
        deadline, delay, told = time.monotonic() + DB_RETRY_S, 0.5, False
        while True:
            try:
                return fn(self, *args, **kwargs)
            except Exception as exc:
                if not _is_connection_error(exc) or time.monotonic() > deadline:
                    raise
                if not told:
                    print(f"automl: the study database is unreachable ({type(exc).__name__}); retrying for up to "
                          f"{DB_RETRY_S:.0f} s", file=sys.stderr, flush=True)
                    told = True
                self.remove_session()
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    return call


class ResilientRDBStorage(optuna.storages.RDBStorage):
    """Optuna's RDB storage whose calls wait out a database outage (see the module docstring)."""

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            _retrying(optuna.storages.RDBStorage.record_heartbeat)(self, trial_id)
        except Exception as exc:  # noqa: BLE001 - Optuna's heartbeat thread dies of any exception
            _log.warning("heartbeat of trial %s not recorded: %s", trial_id, type(exc).__name__)


for _name in ("create_new_study", "delete_study", "set_study_user_attr", "set_study_system_attr",
              "get_study_id_from_name", "get_study_name_from_id", "get_study_directions", "get_study_user_attrs",
              "get_study_system_attrs", "get_trial_user_attrs", "get_trial_system_attrs", "get_all_studies",
              "create_new_trial", "set_trial_param", "get_trial_param", "set_trial_state_values",
              "set_trial_intermediate_value", "set_trial_user_attr", "set_trial_system_attr",
              "get_trial_id_from_study_id_trial_number", "get_trial", "get_all_trials", "get_best_trial",
              "_get_stale_trial_ids", "get_trial_number_from_id", "get_n_trials",
              # the private calls Optuna's _CachedStorage makes on its backend (a sampler reading the trials
              # mid-outage goes through _get_trials, not get_all_trials)
              "_get_trials", "_get_best_trial_id", "_create_new_trial", "_set_trial_param"):
    if hasattr(optuna.storages.RDBStorage, _name):
        setattr(ResilientRDBStorage, _name, _retrying(getattr(optuna.storages.RDBStorage, _name)))


def _driver_missing(url: str) -> str | None:
    """The pip command for a PostgreSQL URL whose driver is not installed (SQLAlchemy 2.1: psycopg 3)."""
    import importlib.util  # noqa: PLC0415

    scheme = url.split("://", 1)[0].lower()
    if not scheme.startswith("postgres"):
        return None
    driver = scheme.split("+", 1)[1] if "+" in scheme else "psycopg"
    module = {"psycopg": "psycopg", "psycopg2": "psycopg2", "pg8000": "pg8000", "asyncpg": "asyncpg"}.get(driver)
    if module and importlib.util.find_spec(module) is None:
        return "pip install 'tao-skill[postgres]'" if driver == "psycopg" else f"pip install {driver}"
    return None


def open_storage(storage: str) -> ResilientRDBStorage:
    """A resilient RDB storage with a heartbeat and Optuna's retry of stale trials; SQLite files get their
    folder and a generous lock timeout, server databases ``pool_pre_ping``."""
    url = resolve_url(storage)
    shown = storage if storage.startswith("env:") else safe_url(url)
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        kwargs = {"connect_args": {"timeout": 60}}
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]  # the driver the `postgres` extra installs
    if not url.startswith("sqlite"):
        kwargs = {"pool_pre_ping": True}
    fix = _driver_missing(url)
    if fix:
        raise RunnerError(ErrorItem("--storage", "the PostgreSQL driver is not installed", expected="psycopg 3",
                                    got=shown, suggestion=fix))
    with warnings.catch_warnings():  # "experimental" in Optuna since 2.8
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)
    deadline = time.monotonic() + min(DB_RETRY_S, 30.0)
    while True:
        try:
            with warnings.catch_warnings():  # heartbeat_interval is "experimental" in Optuna; relied on knowingly
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return ResilientRDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=HEARTBEAT_S,
                                           grace_period=GRACE_S, heartbeat_stale_trial_callback=retry)
        except Exception as exc:  # noqa: BLE001 - any driver/connection error: one clear line, no password
            if _is_connection_error(exc) and time.monotonic() < deadline:
                time.sleep(1.0)
                continue
            detail = _scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else "", url)
            raise RunnerError(ErrorItem("--storage", f"cannot open the study storage: {type(exc).__name__}: {detail}",
                                        expected="sqlite:///PATH or postgresql://HOST/DB", got=shown)) from None


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
