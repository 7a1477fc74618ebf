"""One trial = one child job of the AutoML job, launched by the runner's own ``execute``.

Why reuse ``execute``: the trial gets everything a direct run has (spec file with ``***``, the key in
the environment and scrubbed from the log, a process group stopped on Ctrl-C, ``jobs list/logs/cancel``).
AutoML only adds a monitor that reads ``status.json`` while the child runs, reports each validation's
KPI to Optuna and stops the child when the pruner says so.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import optuna

from tao_skill.artifacts import choose_checkpoint, read_status
from tao_skill.automl.space import Param, sample
from tao_skill.errors import EXIT_INVALID, ErrorItem, RunnerError
from tao_skill.jobs import JobStore, this_host
from tao_skill.launch import execute
from tao_skill.plan import Prepared, command_for
from tao_skill.skills import Skill
from tao_skill.spec import get_dotted, redact, set_dotted
from tao_skill.validation import validate


class TrialFailed(Exception):
    """The trial's job failed, was canceled on its own, or gave no KPI: the trial is FAIL, the study goes on."""


class StudyCanceled(Exception):
    """The AutoML job was canceled (``tao-skill jobs cancel``): stop the study."""


@dataclass
class TrialRunner:
    """Everything needed to turn sampled values into a finished child job and a KPI."""

    skill: Skill
    plan: dict[str, Any]
    settings: dict[str, Any]
    schema: dict[str, Any]
    store: JobStore
    automl_job_id: str
    base_spec: dict[str, Any]  # staged (local data paths), secrets as ***
    secret_env: dict[str, str]
    secret_keys: list[str]
    params: list[Param]
    out: TextIO
    say: Any = print
    deadline: float | None = None
    poll_s: float = 0.2
    ran: list[int] = field(default_factory=list)  # trial numbers this process ran
    _canceled_checked: float = field(default=0.0, repr=False)

    # ----------------------------------------------------------------- specs
    def spec_for(self, values: dict[str, Any], *, full_budget: bool = False) -> dict[str, Any]:
        """The trial's spec: base spec + sampled values + per-trial budget (unless ``full_budget``)."""
        spec = copy.deepcopy(self.base_spec)
        for key, value in values.items():
            set_dotted(spec, key, value)
        if not full_budget:
            if self.settings.get("epochs_per_trial") and self.settings.get("epochs_key"):
                set_dotted(spec, self.settings["epochs_key"], int(self.settings["epochs_per_trial"]))
            if self.settings.get("train_sample_count") and self.settings.get("sample_count_key"):
                set_dotted(spec, self.settings["sample_count_key"], int(self.settings["train_sample_count"]))
        return spec

    def epochs(self, spec: dict[str, Any]) -> int | None:
        key = self.settings.get("epochs_key")
        value = get_dotted(spec, key) if key else None
        return int(value) if isinstance(value, (int, float)) else None

    def results_location(self, job_id: str) -> tuple[Path, str | None]:
        """(local results folder, upload URI) of a trial: under the study's results location, so the best
        checkpoint is reachable from every machine (``<AutoML results>/trials/<job>``; an ``s3://`` location
        gets the trial's results uploaded there). A local location this machine cannot write (another
        machine's disk) falls back to the trial's job folder."""
        uri = self.plan.get("results_uri")
        if uri:
            return self.store.job_dir(job_id) / "results", f"{str(uri).rstrip('/')}/trials/{job_id}"
        base = Path(self.plan.get("results_dir") or self.store.job_dir(self.automl_job_id) / "results")
        try:
            (base / "trials").mkdir(parents=True, exist_ok=True)
            return base / "trials" / job_id, None
        except OSError:
            self.say(f"the study's results folder {base} is not writable here; trial {job_id} keeps its results "
                     "in its job folder (use an s3:// --results-dir for studies across machines)")
            return self.store.job_dir(job_id) / "results", None

    def _prepared(self, job_id: str, spec: dict[str, Any], route: str, extra: dict[str, Any]) -> Prepared:
        job_dir = self.store.job_dir(job_id)
        results_dir, results_uri = self.results_location(job_id)
        spec = copy.deepcopy(spec)
        for key, fn in self.skill.info.get("spec_params", {}).get("train", {}).items():
            name = fn if isinstance(fn, str) else fn.get("function")
            if name == "output_dir":
                sub = None if isinstance(fn, str) else fn.get("subdir")
                set_dotted(spec, key, str(results_dir / sub) if sub else str(results_dir))
        plan = {k: v for k, v in self.plan.items() if k not in ("automl", "dataset_table", "mappings")}
        plan.update({"job_id": job_id, "route": route, "parent_job": self.automl_job_id, "job_dir": str(job_dir),
                     "results_dir": str(results_dir), "results_uri": results_uri,
                     "spec": redact(spec, self.secret_keys),
                     "command": command_for(self.skill, "train", job_dir / "spec.yaml"), **extra})
        return Prepared(self.skill, plan, spec, dict(self.secret_env), self.store, results_dir, results_uri,
                        list(self.secret_keys))

    # ----------------------------------------------------------------- monitor
    def _parent_canceled(self) -> bool:
        now = time.monotonic()
        if now - self._canceled_checked < 1.0:
            return False
        self._canceled_checked = now
        return self.store.get(self.automl_job_id).status == "canceled"

    def _report(self, trial: optuna.Trial | None, results_dir: Path, reported: dict[int, float]) -> bool:
        """Report new status.json entries to Optuna; True when the pruner wants the trial stopped."""
        metric = self.settings["metric"]
        status = read_status(results_dir, self.skill.info.get("artifacts", {}).get("status_file", "status.json"))
        for i, entry in enumerate((status or {}).get("entries", [])):
            if not isinstance(entry, dict):
                continue
            value = (entry.get("kpi") or {}).get(metric)
            if value is None:
                value = (entry.get("loss") or {}).get(metric)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                continue
            step = int(entry["epoch"]) + 1 if isinstance(entry.get("epoch"), int) else i + 1
            if step in reported:
                continue
            reported[step] = float(value)
            if trial is not None:
                trial.report(float(value), step)
                if trial.should_prune():
                    return True
        return False

    def _monitor(self, trial: optuna.Trial | None, results_dir: Path, reported: dict[int, float], why: dict[str, str]):
        def poll() -> str | None:
            if self._parent_canceled():
                why["reason"] = "the AutoML job was canceled"
                return "canceled"
            if self.deadline is not None and time.time() > self.deadline:
                why["reason"] = "the study's --timeout was reached"
                return "canceled"
            if self._report(trial, results_dir, reported):
                why["reason"] = f"pruned after {max(reported)} epoch(s)"
                return "pruned"
            return None

        return poll

    # ----------------------------------------------------------------- run
    def run_job(self, job_id: str, spec: dict[str, Any], route: str, trial: optuna.Trial | None,
                extra: dict[str, Any]) -> tuple[dict[str, Any], dict[int, float], str | None]:
        """Launch one child job and wait; returns (job record, reported KPI per epoch, stop reason)."""
        prep = self._prepared(job_id, spec, route, extra)
        reported: dict[int, float] = {}
        why: dict[str, str] = {}
        rec = execute(prep, out=self.out, parent_id=self.automl_job_id,
                      monitor=self._monitor(trial, prep.results_dir, reported, why), poll_s=self.poll_s)
        if rec.get("interrupted"):
            raise KeyboardInterrupt
        if rec["status"] == "done" and self._report(trial, prep.results_dir, reported):
            self.store.update(job_id, status="pruned")  # the last validations arrived after the child ended
            rec["status"] = "pruned"
            why["reason"] = f"pruned after {max(reported)} epoch(s)"
        return rec, reported, why.get("reason")

    def best_value(self, reported: dict[int, float]) -> float | None:
        if not reported:
            return None
        return (max if self.settings["direction"] == "maximize" else min)(reported.values())

    def checkpoint(self, results_dir: str | Path, results_uri: str | None = None) -> str | None:
        """The best checkpoint of a finished job; its URI when the job's results were uploaded."""
        arts = self.skill.info.get("artifacts", {})
        ckpt, _ = choose_checkpoint(Path(results_dir), arts.get("checkpoint_glob", "*.pth"), self.settings["metric"],
                                    self.settings["direction"], arts.get("status_file", "status.json"))
        if ckpt is None:
            return None
        if results_uri:
            return f"{results_uri.rstrip('/')}/{Path(ckpt).relative_to(results_dir).as_posix()}"
        return str(ckpt)

    def check_spec(self, spec: dict[str, Any]) -> list[ErrorItem]:
        return validate(self.schema, spec, entry=self.skill.info.get("config_entry"), action="train",
                        skill_root=self.skill.root)

    def objective(self, trial: optuna.Trial) -> float:
        """Sample, launch the child job, return its best KPI; prune/fail through Optuna's exceptions."""
        role = trial.user_attrs.get("role", "trial")
        values = sample(trial, self.params, self.base_spec, weighted=self.settings["sampler"] != "GridSampler")
        if role == "baseline":  # the user's spec exactly, whatever the enqueued parameters could express
            values = {p.key: get_dotted(self.base_spec, p.key) for p in self.params if p.key in values}
        job_id = f"{self.automl_job_id}-t{trial.number:03d}"
        self.ran.append(trial.number)
        trial.set_user_attr("job_id", job_id)
        trial.set_user_attr("host", this_host())  # the machine whose workspace holds the trial's job record
        trial.set_user_attr("values", values)
        trial.set_user_attr("role", role)
        spec = self.spec_for(values)
        problems = self.check_spec(spec)
        if problems:
            trial.set_user_attr("error", "; ".join(str(p) for p in problems))
            self.say(f"trial {trial.number}: invalid combination ({problems[0]}); marked failed")
            raise TrialFailed(str(problems[0]))
        self.say(f"trial {trial.number} ({role}) job {job_id}: " + ", ".join(f"{k}={_fmt(v)}" for k, v in values.items()))
        rec, reported, reason = self.run_job(job_id, spec, "automl_trial", trial,
                                             {"automl_trial": {"number": trial.number, "role": role, "values": values,
                                                               "study": self.settings["study_name"]}})
        trial.set_user_attr("results_dir", rec["results_dir"])
        trial.set_user_attr("results_uri", rec.get("results_uri"))
        status = rec["status"]
        if status == "pruned":
            trial.set_user_attr("reason", reason)
            self.say(f"trial {trial.number}: pruned ({reason})")
            raise optuna.TrialPruned(reason)
        if status == "canceled":
            if reason == "the AutoML job was canceled":
                raise StudyCanceled(reason)
            trial.set_user_attr("error", reason or "the trial's job was canceled")
            raise TrialFailed(reason or "canceled")
        if status != "done":
            msg = f"job {job_id} {status} (exit {rec.get('exit_code')}); see `tao-skill jobs logs {job_id}`"
            trial.set_user_attr("error", msg)
            self.say(f"trial {trial.number}: failed: {msg}")
            raise TrialFailed(msg)
        value = self.best_value(reported)
        if value is None:
            status = read_status(Path(rec["results_dir"]), self.skill.info.get("artifacts", {}).get("status_file",
                                                                                                 "status.json"))
            have = sorted({k for e in (status or {}).get("entries", []) if isinstance(e, dict)
                           for k in (e.get("kpi") or {})})
            msg = (f"job {job_id} wrote no `{self.settings['metric']}` to status.json"
                   + (f" (it has {', '.join(have)}; choose one with --metric)" if have else ""))
            trial.set_user_attr("error", msg)
            raise TrialFailed(msg)
        uploaded = rec.get("results_uri") if rec.get("upload") and not rec["upload"].get("error") else None
        trial.set_user_attr("checkpoint", self.checkpoint(rec["results_dir"], uploaded))
        self.say(f"trial {trial.number}: {self.settings['metric']} {value:.4g}")
        return value


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def require_key(plan: dict[str, Any], secret_keys: list[str], environ: dict[str, str]) -> dict[str, str]:
    """The child environment for the key: the plan says ``***`` where a key is needed, the key itself
    comes from ``TAO_SKILL_ENCRYPTION_KEY`` (set by the runner) or the plan's ``key_env`` variable."""
    from tao_skill.launch import KEY_ENV_FOR_CHILD  # noqa: PLC0415
    from tao_skill.spec import REDACTED  # noqa: PLC0415

    needed = any(get_dotted(plan.get("spec") or {}, k) == REDACTED for k in secret_keys)
    if not needed:
        return {}
    var = plan.get("key_env") or "TAO_SKILL_KEY"
    key = environ.get(KEY_ENV_FOR_CHILD) or environ.get(var)
    if not key:
        raise RunnerError(ErrorItem("--key-env", f"the study's checkpoints are encrypted but environment variable {var} "
                                                 "is not set here; export the key in it first", got=var), EXIT_INVALID)
    return {KEY_ENV_FOR_CHILD: key}
