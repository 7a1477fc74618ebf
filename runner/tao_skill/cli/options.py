"""Options shared by the commands: `run`/`validate` spec options, AutoML flags, --workspace and --json."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import click

from tao_skill.errors import ErrorItem, RunnerError
from tao_skill.jobs import default_workspace


WORKSPACE_ENV = "TAO_SKILL_WORKSPACE"


class _FiniteFloat(click.ParamType):
    """A positive float flag that refuses nan/inf (click's FLOAT accepts both, and strict JSON cannot carry them)."""

    name = "float"

    def convert(self, value, param, ctx):
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if number <= 0:
            self.fail(f"{value!r} must be more than 0", param, ctx)
        return number


FINITE_FLOAT = _FiniteFloat()
AT_LEAST_ONE = click.IntRange(min=1)  # 0 would silently mean "the default" further down

class _NonEmptyPath(click.Path):
    """A path flag that refuses an empty value (click would read "" as the current folder)."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            self.fail("is empty; give a path or leave the flag out", param, ctx)
        return super().convert(value, param, ctx)


PATH = _NonEmptyPath(path_type=Path)

WORKSPACE_OPTION = click.option("--workspace", type=PATH, default=None,
                                help="Workspace (default $TAO_SKILL_WORKSPACE or ./tao-workspace).")
JSON_OPTION = click.option("--json", "json_mode", is_flag=True, help="Print exactly one JSON document on stdout.")


def workspace_path(workspace: Path | None) -> Path:
    """The --workspace value, else the default workspace, checked to be a usable folder.

    Raises:
        RunnerError: exit 2 naming the path when it (or the folder it would be created in) is a file,
            read-only or otherwise unusable.
    """
    if workspace is not None and not str(workspace).strip():
        raise RunnerError(ErrorItem("--workspace", "--workspace is empty; give a folder", expected="a folder", got=""))
    typed = "--workspace" if workspace else f"${WORKSPACE_ENV}" if os.environ.get(WORKSPACE_ENV) else "workspace"
    from tao_skill.staging.preflight import folder_problem  # noqa: PLC0415

    path = Path(workspace).expanduser().absolute() if workspace else default_workspace()
    problem = folder_problem(path)
    if problem:
        raise RunnerError(ErrorItem("--workspace", f"{typed} {path}: {problem}", expected="a writable folder",
                                    got=str(path)))
    db = path / "jobs.sqlite"
    if db.exists() and not db.is_file():
        raise RunnerError(ErrorItem("--workspace", f"{typed} {path}: {db} is not a file, expected the job database",
                                    expected="a file", got=str(db)))
    for name in ("jobs", "cache", "logs", "automl"):  # the workspace's own folders
        sub = path / name
        if sub.exists() and not sub.is_dir():
            raise RunnerError(ErrorItem("--workspace", f"{typed} {path}: {sub} is a file, expected the workspace's "
                                                       f"`{name}` folder", expected="a folder", got=str(sub)))
    return path


#: String flags of `run`/`validate` that must not be given empty: an empty value would silently mean "not given".
_NON_EMPTY = {"spec_file": "--spec", "overrides_json": "--overrides-json", "train_dataset": "--train-dataset",
              "eval_dataset": "--eval-dataset", "inference_dataset": "--inference-dataset", "parent_job": "--parent-job",
              "ptm": "--ptm", "resume": "--resume", "key_env": "--key-env", "results_dir": "--results-dir",
              "skill_dir": "--skill-dir"}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _flag_errors(kw: dict) -> list[ErrorItem]:
    """Problems with the flags themselves, all at once: empty values and a malformed --key-env."""
    errors = []
    for name, flag in _NON_EMPTY.items():
        value = kw.get(name)
        if value is not None and not str(value).strip():
            errors.append(ErrorItem(flag, f"{flag} is empty; give a value or leave the flag out", got=str(value)))
    for name, flag in (("parent_job", "--parent-job"), ("resume", "--resume")):
        value = kw.get(name)
        if value and value.strip() and not _JOB_ID.match(value):
            errors.append(ErrorItem(flag, f"{flag} {value!r} is not a job id (`tao-skill jobs list` shows them)",
                                    expected="letters, digits, '.', '_' and '-'", got=ascii(value)))
    key_env = kw.get("key_env")
    if key_env and key_env.strip() and not _ENV_NAME.match(key_env):
        errors.append(ErrorItem("--key-env", f"--key-env {key_env!r} is not an environment variable name",
                                expected="letters, digits and _ (e.g. TAO_SKILL_KEY)", got=key_env))
    return errors


def spec_options(func):
    opts = [
        click.option("--spec", "spec_file", type=PATH, help="A TAO-format YAML spec."),
        click.option("--override", "overrides", multiple=True, metavar="KEY=VALUE",
                     help="Set a spec key (dotted or shorthand); the value is parsed as YAML. Repeatable."),
        click.option("--overrides-json", metavar="JSON|@FILE", help="A JSON object of dotted keys (or @file)."),
        click.option("--train-dataset", metavar="URI", help="Root of the train_datasets data source."),
        click.option("--eval-dataset", metavar="URI", help="Root of the eval_dataset data source."),
        click.option("--inference-dataset", metavar="URI", help="Root of the inference_dataset data source."),
        click.option("--automl-policy", type=click.Choice(["on", "off", "auto"]), help="Per-run AutoML policy."),
        click.option("--request", metavar="TEXT", help="The user's request; phrases like 'no HPO' turn AutoML off."),
        click.option("--parent-job", metavar="ID", help="Use this job's checkpoint/outputs (parent_model)."),
        click.option("--ptm", metavar="URI", help="Pretrained model (ptm / parent_model_or_ptm)."),
        click.option("--resume", metavar="JOB_ID", help="Resume this train job from its latest checkpoint."),
        click.option("--key-env", metavar="VAR", help="Environment variable holding the encryption key "
                                                      "(default TAO_SKILL_KEY)."),
        click.option("--results-dir", metavar="URI", help="Results folder (local or s3://; default in the job dir)."),
        WORKSPACE_OPTION,
        click.option("--skill-dir", type=PATH, help="A skill directory outside the bank."),
        click.option("--no-remote-check", is_flag=True,
                     help="Do not ask S3 whether the source prefixes and the results bucket exist (the plan says "
                          "which checks were skipped)."),
        JSON_OPTION,
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


AUTOML_FLAGS = ("algorithm", "max_trials", "timeout", "epochs_per_trial", "train_sample_count", "params", "metric",
                "direction", "storage", "study_name", "final", "seed")


def automl_options(func):
    """Flags of the AutoML route (`run NETWORK train` with policy auto/on); they land in plan["automl"]."""
    opts = [
        click.option("--algorithm", metavar="NAME", help="bayesian (default), hyperband, asha, bohb, dehb, random, grid, "
                                                         "cmaes. pbt is not supported yet."),
        click.option("--max-trials", type=AT_LEAST_ONE, help="Trials in the study, the baseline included (default from "
                                                    "skill_info.yaml automl.max_trials, else 10)."),
        click.option("--timeout", type=FINITE_FLOAT, metavar="SECONDS", help="Stop starting trials after this long."),
        click.option("--epochs-per-trial", type=AT_LEAST_ONE, help="Epochs each trial trains (the skill's automl.epochs_key)."),
        click.option("--train-sample-count", type=AT_LEAST_ONE, help="Cap the training samples of each trial "
                                                            "(the skill's automl.sample_count_key)."),
        click.option("--param", "params", multiple=True, metavar="KEY[=LOW:HIGH|=A,B]",
                     help="Also search KEY (optionally with a range or options). Repeatable."),
        click.option("--metric", help="KPI to optimise (default: skill_info.yaml monitoring.metric)."),
        click.option("--direction", type=click.Choice(["maximize", "minimize"]), help="Override the direction."),
        click.option("--storage", metavar="URL|env:VAR", help="Study database (default SQLite in the workspace); "
                                                              "a PostgreSQL URL lets many machines share one study."),
        click.option("--study-name", help="Study name (default: the AutoML job id)."),
        click.option("--final", type=click.Choice(["auto", "train", "none"]),
                     help="Train the best configuration with the full budget (auto: when trials were capped)."),
        click.option("--seed", type=int, help="Sampler seed (reproducible searches)."),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def request_from(network: str, action: str, kw: dict):
    from tao_skill.plan import RunRequest  # noqa: PLC0415

    errors = _flag_errors(kw)
    if errors:
        raise RunnerError(errors)
    return RunRequest(
        network=network, action=action, spec_file=kw["spec_file"], overrides=list(kw["overrides"]),
        overrides_json=kw["overrides_json"], train_dataset=kw["train_dataset"], eval_dataset=kw["eval_dataset"],
        inference_dataset=kw["inference_dataset"], automl_policy=kw["automl_policy"], request=kw["request"],
        parent_job=kw["parent_job"], ptm=kw["ptm"], resume=kw["resume"], key_env=kw["key_env"],
        results_dir=kw["results_dir"], workspace=workspace_path(kw["workspace"]), skill_dir=kw["skill_dir"],
        automl={k: kw.get(k) for k in AUTOML_FLAGS if k in kw}, remote_check=not kw.get("no_remote_check", False),
    )


def ensure_common_options(group: click.Group) -> None:
    """Give every command of ``group`` (recursively) ``--json`` and ``--workspace`` (the CLI contract).

    A command that has no use for one of them still accepts it, so an agent can pass both everywhere:
    ``--json`` switches the Application to one JSON document, ``--workspace`` is then ignored by
    commands that never touch jobs (list, describe, schemas). Commands that declare the options
    themselves are left alone.
    """
    import functools  # noqa: PLC0415

    for cmd in group.commands.values():
        if isinstance(cmd, click.Group):
            ensure_common_options(cmd)
            continue
        names = {p.name for p in cmd.params}
        added = []
        if "json_mode" not in names:
            cmd.params.append(click.Option(["--json", "json_mode"], is_flag=True,
                                           help="Print exactly one JSON document on stdout."))
            added.append("json_mode")
        if "workspace" not in names:
            cmd.params.append(click.Option(["--workspace"], type=click.Path(path_type=Path), default=None,
                                           help="Workspace (accepted by every command; unused by this one)."))
            added.append("workspace")
        if added and cmd.callback is not None:
            cmd.callback = _dropping(cmd.callback, tuple(added), functools)


def _dropping(callback, names: tuple[str, ...], functools):
    @functools.wraps(callback)
    def wrapper(*args, **kwargs):
        json_mode = kwargs.pop("json_mode", False) if "json_mode" in names else False
        for name in names:
            kwargs.pop(name, None)
        if json_mode:
            ctx = click.get_current_context()
            if ctx.obj is not None and hasattr(ctx.obj, "json_mode"):
                ctx.obj.json_mode = True
        return callback(*args, **kwargs)

    return wrapper
