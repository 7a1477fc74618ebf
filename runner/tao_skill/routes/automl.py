"""The AutoML route: the job becomes an Optuna study whose trials are child jobs of the one launcher.

``launch_automl`` is the hand-off contract with ``tao_skill.automl.launcher.run_from_plan``; the AutoML
package itself launches trials through :func:`tao_skill.launch.execute`, so imports point one way.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from tao_skill.errors import EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, ErrorItem, RunnerError
from tao_skill.jobs import HEARTBEAT_S, JobStore
from tao_skill.launch import _finish, _sigterm_as_interrupt, record
from tao_skill.lifecycle import heartbeat
from tao_skill.plan import Prepared


def launch_automl(plan: dict[str, Any], workspace: Path, job_id: str) -> int:
    """Hand a train plan routed to AutoML to the AutoML runner and return its exit code.

    Contract with ``tao_skill.automl.launcher.run_from_plan(plan, workspace, job_id) -> int``:

    * ``plan`` is the dry-run plan (``route == "automl"``; ``spec`` with secrets as ``***``;
      ``key_env`` names the environment variable holding the encryption key, never the key).
    * ``job_id`` is the AutoML (parent) job, already recorded in the store at ``workspace`` with
      status ``pending`` and ``jobs/<job_id>/{plan.json, spec.yaml}`` written. Trials are child jobs
      (``parent_id == job_id``); the launcher may set the parent's status itself, otherwise the
      runner sets ``done``/``failed`` from the returned code.
    * The return value is a runner exit code (0 ok, 2 invalid, 3 staging, 4 failed, 130 interrupted).

    Raises:
        RunnerError: exit 2 "AutoML runner not installed" when ``tao_skill.automl.launcher`` is absent.
    """
    run_from_plan = _automl_runner()
    return int(run_from_plan(plan, Path(workspace), job_id))


def _automl_runner() -> Callable[..., int]:
    try:
        from tao_skill.automl.launcher import run_from_plan  # noqa: PLC0415
    except ImportError as exc:
        raise RunnerError(ErrorItem("route", f"AutoML runner not installed ({exc}); rerun with --automl-policy off "
                                             "to train directly", expected="tao_skill.automl.launcher.run_from_plan",
                                    suggestion="--automl-policy off"), EXIT_INVALID) from None
    return run_from_plan


@contextmanager
def _exported(env: dict[str, str]) -> Iterator[None]:
    """The job's secret environment in this process while the AutoML launcher runs (the plan holds ``***``;
    trials inherit the key from here, exactly like a direct child)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_automl(prep: Prepared) -> dict[str, Any]:
    """Record the AutoML job, run :func:`launch_automl`, and settle the job's status from its exit code."""
    _automl_runner()  # fail before recording anything when AutoML is not installed
    store: JobStore = prep.store
    job_id = prep.plan["job_id"]
    record(prep)
    store.update(job_id, status="running", started=time.time())
    beating = threading.Event()
    heartbeat(beating, lambda: store.update(job_id, heartbeat=time.time()), HEARTBEAT_S)
    try:
        with _sigterm_as_interrupt(), _exported(prep.secret_env):
            code = launch_automl(prep.plan, store.workspace, job_id)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except RunnerError as exc:
        store.update(job_id, status="failed", finished=time.time(), exit_code=exc.code)
        store.add_detail(job_id, reason=str(exc), runner_exit_code=exc.code)
        raise
    finally:
        beating.set()
    job = store.get(job_id)
    if job.status in ("pending", "running"):
        status = "done" if code == EXIT_OK else "canceled" if code == EXIT_INTERRUPTED else "failed"
        store.update(job_id, status=status, finished=time.time(), exit_code=code)
    # the AutoML job's results (history, best spec, plots) go to --results-dir s3://... like any job's
    return _finish(prep, store.get(job_id).status, code, upload=True)
