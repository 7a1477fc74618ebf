"""`tao-skill automl status|resume|worker`: inspect, continue and scale out AutoML studies.

A study starts with `tao-skill run NETWORK train ...` (policy auto or on); its id is the AutoML job id.
"""

from __future__ import annotations

from pathlib import Path

import click

from tao_skill.cli.options import AT_LEAST_ONE, FINITE_FLOAT, JSON_OPTION, WORKSPACE_OPTION, workspace_path
from tao_skill.errors import RunnerError


def _checked(storage: str | None) -> str | None:
    """The same rule as `run --storage`: no password in a URL on a command line (never echoed)."""
    from tao_skill.automl.settings import check_storage  # noqa: PLC0415

    err = check_storage(storage)
    if err:
        raise RunnerError(err)
    return storage


def _human_status(doc: dict) -> str:
    p = doc["progress"]
    lines = [f"study {doc['study']} ({doc.get('automl_job_id')}): {doc['algorithm']}, {doc['metric']} {doc['direction']}"
             + (f", job {doc['job_status']}" if doc.get("job_status") else ""),
             f"  trials: {p['total']}/{doc['max_trials']} (complete {p['complete']}, pruned {p['pruned']}, "
             f"failed {p['failed']}, running {p['running']})"]
    best = doc.get("best")
    if best:
        lines.append(f"  best: trial {best['number']} {doc['metric']} {best['value']:.4g} job {best['job_id']} "
                     f"{best['values']}")
    for t in doc["trials"]:
        value = f"{t['value']:.4g}" if isinstance(t["value"], (int, float)) else "-"
        lines.append(f"  #{t['number']:<3} {t['state']:<9} {value:>8}  {t['role']:<8} {t.get('job_id') or ''}"
                     + (f"  ({t.get('error') or t.get('reason')})" if t.get("error") or t.get("reason") else ""))
    for name, path in (doc.get("files") or {}).items():
        lines.append(f"  {name}: {path}")
    return "\n".join(lines)


def register(cli: click.Group) -> None:
    ws, js = WORKSPACE_OPTION, JSON_OPTION
    st = click.option("--storage", metavar="URL|env:VAR", default=None,
                      help="Study database, when the AutoML job is not in this workspace (another machine).")

    @cli.group("automl")
    def automl() -> None:
        """AutoML studies (Optuna): status, resume (only when asked), extra workers on this or other machines.

        Start a study with `tao-skill run NETWORK train ...` (AutoML policy auto or on).
        """

    @automl.command("status")
    @click.argument("study_id", metavar="ID")
    @st
    @ws
    @js
    @click.pass_obj
    def status_cmd(app, study_id: str, storage: str | None, workspace: Path | None, json_mode: bool) -> int:
        """Progress, best trial and every trial of the study of AutoML job ID."""
        from tao_skill.automl.launcher import status  # noqa: PLC0415

        app.json_mode = json_mode
        doc = status(study_id, workspace_path(workspace), storage=_checked(storage))
        app.emit({"ok": True, **doc}, _human_status(doc))
        return 0

    @automl.command("resume")
    @click.argument("study_id", metavar="ID")
    @click.option("--max-trials", type=AT_LEAST_ONE, default=None, help="Raise the trial budget (counts every trial so far).")
    @click.option("--timeout", type=FINITE_FLOAT, default=None, metavar="SECONDS", help="A new time budget for this run.")
    @ws
    @js
    @click.pass_obj
    def resume_cmd(app, study_id: str, max_trials: int | None, timeout: float | None, workspace: Path | None,
                   json_mode: bool) -> int:
        """Continue AutoML job ID (stopped, interrupted or finished): same study, trial numbers continue."""
        from tao_skill.automl.launcher import resume, status  # noqa: PLC0415

        app.json_mode = json_mode
        ws_path = workspace_path(workspace)
        code = resume(study_id, ws_path, max_trials=max_trials, timeout=timeout)
        doc = status(study_id, ws_path)
        app.emit({"ok": code == 0, "exit_code": code, **doc}, _human_status(doc))
        return code

    @automl.command("worker")
    @click.option("--study", "study_id", required=True, metavar="ID",
                  help="The AutoML job id (or, with --storage, the study name).")
    @st
    @ws
    @js
    @click.pass_obj
    def worker_cmd(app, study_id: str, storage: str | None, workspace: Path | None, json_mode: bool) -> int:
        """Join a study and run trials in this process until its budget is spent (no baseline, no final step).

        Same machine: the study's SQLite file is found through the workspace. Other machines: pass the
        shared database with --storage (PostgreSQL URL, or env:VAR naming a variable that holds it); the
        data paths in the study's spec must resolve there too (shared filesystem or s3:// sources).
        """
        from tao_skill.automl.launcher import worker  # noqa: PLC0415

        app.json_mode = json_mode
        doc = worker(study_id, workspace_path(workspace), storage=_checked(storage))
        ran = ", ".join(f"#{t['number']} {t['state']}" for t in doc["trials_run_here"]) or "none"
        app.emit(doc, f"worker on study {doc['study']}: trials run here: {ran}")
        return 130 if doc["interrupted"] else 0
