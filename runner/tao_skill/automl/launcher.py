"""The AutoML job: baseline, trials, final training, results. Also workers, resume and status.

``run_from_plan(plan, workspace, job_id)`` is the runner's hand-off (``tao_skill.routes.automl.launch_automl``):
the AutoML job is already recorded; this creates the Optuna study, enqueues the baseline (the user's
spec as trial 0), runs trials as child jobs until the budget is spent, waits for trials of other
workers, trains the best configuration with the full budget when trials were capped, and writes
``automl_history.json``, ``best_spec.yaml`` and plots into the AutoML job's results folder.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import optuna

from tao_skill.automl.algorithms import make_pruner, make_sampler, max_resource
from tao_skill.automl.results import best_row, summary, write_best_spec, write_json, write_plots
from tao_skill.automl.space import Param
from tao_skill.automl.storage import context_of, create_study, fail_stale, load_study, open_storage
from tao_skill.automl.trial import StudyCanceled, TrialFailed, TrialRunner, require_key
from tao_skill.errors import EXIT_INTERRUPTED, EXIT_JOB_FAILED, EXIT_OK, ErrorItem, RunnerError
from tao_skill.jobs import JobStore, atomic_write, pid_alive
from tao_skill.launch import _stage
from tao_skill.plan import Prepared
from tao_skill.skills import Skill, get_skill, load_skill_dir
from tao_skill.spec import get_dotted, redact, secret_keys

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
HISTORY = "automl_history.json"
BEST_SPEC = "best_spec.yaml"


def _say(msg: str) -> None:
    print(f"automl: {msg}", file=sys.stderr, flush=True)


def _skill(plan: dict[str, Any]) -> Skill:
    root = Path(plan.get("skill_dir") or "")
    if root.is_dir():
        return load_skill_dir(root)
    return get_skill(plan["network"])  # a worker on another machine: the same skill from its own bank


def _settings(plan: dict[str, Any], skill: Skill, schema: dict[str, Any], workspace: Path, job_id: str) -> dict:
    if plan.get("automl"):
        return plan["automl"]
    from tao_skill.automl.settings import resolve  # noqa: PLC0415 - a plan made without AutoML installed

    settings, errors = resolve(skill, schema, {}, {}, job_id=job_id, workspace=workspace)
    if errors:
        raise RunnerError(errors)
    return settings


def _runner(plan: dict[str, Any], workspace: Path, job_id: str, settings: dict[str, Any] | None = None,
            say: Callable[[str], None] = _say) -> TrialRunner:
    """Stage the data once, check the key, and build the trial runner of this process."""
    skill = _skill(plan)
    schema, _ = skill.schema_or_generated("train")
    settings = settings or _settings(plan, skill, schema, workspace, job_id)
    params = [Param.from_dict(d) for d in settings.get("search_space") or []]
    if not params:
        raise RunnerError(ErrorItem("--param", "nothing to search: every default parameter is fixed or skipped; add "
                                               "one with --param KEY or train directly with --automl-policy off",
                                    expected="at least one searchable parameter", suggestion="--automl-policy off"))
    store = JobStore(workspace)
    keys = secret_keys(schema)
    secret_env = require_key(plan, keys, dict(os.environ))
    prep = Prepared(skill, {**plan, "action": "train"}, copy.deepcopy(plan["spec"]), secret_env, store,
                    Path(plan["results_dir"]), None, keys)
    base = _stage(prep)
    return TrialRunner(skill=skill, plan=plan, settings=settings, schema=schema, store=store, automl_job_id=job_id,
                       base_spec=base, secret_env=secret_env, secret_keys=keys, params=params,
                       out=open(os.devnull, "w"), say=say)  # noqa: SIM115 - lives as long as the process


def _counts(t: optuna.trial.FrozenTrial, retried: set[int] = frozenset()) -> bool:
    """Whether a trial uses the budget: started (not merely enqueued), not skipped, and not a trial whose
    heartbeat stopped and that Optuna's retry callback enqueued again (its retry counts instead)."""
    return (t.state != optuna.trial.TrialState.WAITING and not t.user_attrs.get("skipped")
            and t.number not in retried)


def _retried(trials: list[optuna.trial.FrozenTrial]) -> set[int]:
    out = set()
    with warnings.catch_warnings():  # "experimental" in Optuna since 2.8
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        for t in trials:
            number = optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(t)
            if number is not None:
                out.add(number)
    return out


def _counted(study: optuna.Study) -> int:
    trials = study.get_trials(deepcopy=False)
    retried = _retried(trials)
    return sum(1 for t in trials if _counts(t, retried))


def _finished_elsewhere(exc: BaseException) -> bool:
    """Optuna's refusal to tell a trial another process already finished (its heartbeat looked stale).

    Optuna 5 raises ``ValueError("Cannot tell a FAIL trial.")``, which its own bookkeeping may turn into an
    ``AssertionError`` raised while handling it: the whole exception chain is searched."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, optuna.exceptions.UpdateFinishedTrialError) or (
                isinstance(seen, ValueError) and str(seen).startswith("Cannot tell a ")):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _optimize(study: optuna.Study, runner: TrialRunner, max_trials: int, timeout: float | None) -> None:
    """Run trials in this process until the study's budget (shared by every worker) is spent."""

    def objective(trial: optuna.Trial) -> float:
        trials = study.get_trials(deepcopy=False)
        retried = _retried(trials)
        earlier = sum(1 for t in trials if t.number < trial.number and _counts(t, retried))
        if earlier >= max_trials:  # another worker took the last slot between our check and ask
            trial.set_user_attr("skipped", "the trial budget was spent by other trials")
            study.stop()
            raise optuna.TrialPruned("budget spent")
        return runner.objective(trial)

    def stop_when_spent(study: optuna.Study, _trial: optuna.trial.FrozenTrial) -> None:
        if _counted(study) >= max_trials or runner.store.get(runner.automl_job_id).status == "canceled":
            study.stop()

    first = True
    while True:
        remaining = max_trials - _counted(study)
        if remaining <= 0:
            if first:
                runner.say(f"the budget of {max_trials} trials is spent; nothing to run (raise it with --max-trials)")
            return
        first = False
        try:
            study.optimize(objective, n_trials=remaining, timeout=timeout, catch=(TrialFailed,),
                           callbacks=[stop_when_spent])
            return
        except Exception as exc:
            if not _finished_elsewhere(exc):
                raise
            # another process failed our trial for a stale heartbeat (and Optuna enqueued a retry): go on
            runner.say("a trial run here was already finished by another process (its heartbeat looked stale); "
                       "going on")
            if runner.store.get(runner.automl_job_id).status == "canceled":
                return


def _wait_for_others(study: optuna.Study, say: Callable[[str], None]) -> None:
    """Trials of other workers still running: wait (a dead worker's trial turns FAIL via its heartbeat)."""
    told = False
    while any(t.state == optuna.trial.TrialState.RUNNING for t in study.get_trials(deepcopy=False)):
        if not told:
            say("waiting for trials of other workers to finish")
            told = True
        fail_stale(study)
        time.sleep(1.0)


def _baseline_params(runner: TrialRunner) -> dict[str, Any]:
    """The user's values as Optuna parameters, where the distributions can express them."""
    fixed: dict[str, Any] = {}
    for p in runner.params:
        value = get_dotted(runner.base_spec, p.key)
        if p.kind == "categorical":
            if value not in (p.choices or []):
                continue
            if p.weights and runner.settings["sampler"] != "GridSampler":
                total, acc = sum(p.weights), 0.0
                for option, w in zip(p.choices, p.weights):
                    if option == value:
                        fixed[f"{p.key}#u"] = (acc + w / 2) / total
                    acc += w
            else:
                fixed[p.key] = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            fixed[p.key] = value
    return fixed


def _final(study: optuna.Study, runner: TrialRunner, job_id: str) -> dict[str, Any]:
    """Train the best configuration with the full budget when trials were capped; else keep the best trial."""
    settings = runner.settings
    rows = summary(study, settings)["trials"]
    best = best_row(rows, settings["direction"])
    if best is None:
        return {"mode": "none", "status": "skipped", "reason": "no trial completed"}
    full_spec = runner.spec_for(best["values"], full_budget=True)
    capped = bool(settings.get("train_sample_count")) or (
        bool(settings.get("epochs_per_trial")) and runner.epochs(full_spec) != settings.get("epochs_per_trial"))
    mode = settings.get("final", "auto")
    if mode == "auto":
        mode = "train" if capped else "none"
    if mode == "none":
        return {"mode": "none", "status": "skipped", "job_id": best["job_id"], "value": best["value"],
                "checkpoint": best["checkpoint"],
                "reason": "the best trial already trained with the full budget" if not capped else "--final none"}
    runner.deadline = None
    final_id = f"{job_id}-final"
    runner.say(f"final training of trial {best['number']}'s configuration with the full budget: job {final_id}")
    rec, reported, reason = runner.run_job(final_id, full_spec, "automl_final", None,
                                           {"automl_final": {"trial": best["number"], "values": best["values"]}})
    if rec.get("status") == "canceled":
        raise StudyCanceled(reason or "canceled")
    return {"mode": "train", "status": rec["status"], "job_id": final_id, "value": runner.best_value(reported),
            "checkpoint": runner.checkpoint(rec["results_dir"], rec.get("results_uri") if rec.get("upload") and not
                                            rec["upload"].get("error") else None) if rec["status"] == "done" else None,
            "exit_code": rec.get("exit_code")}


def _write_results(study: optuna.Study, runner: TrialRunner, job_id: str, final: dict[str, Any] | None,
                   results_dir: Path) -> dict[str, Any]:
    results_dir.mkdir(parents=True, exist_ok=True)
    doc = summary(study, runner.settings)
    doc["automl_job_id"] = job_id
    doc["final"] = final
    best = doc["best"]
    if best is not None:
        spec = runner.spec_for(best["values"], full_budget=True)
        write_best_spec(results_dir / BEST_SPEC, redact(spec, runner.secret_keys))
        doc["best_spec"] = str(results_dir / BEST_SPEC)
        doc["best_checkpoint"] = (final or {}).get("checkpoint") or best.get("checkpoint")
    plots, notes = write_plots(study, results_dir) if runner.settings.get("plots", True) else \
        ({}, ["plots off (skill_info.yaml automl.plots: false)"])
    doc["plots"], doc["plot_notes"] = plots, notes
    write_json(results_dir / HISTORY, doc)
    doc["history"] = str(results_dir / HISTORY)
    return doc


_FINISHED = {"COMPLETE": "done", "PRUNED": "pruned", "FAIL": "failed"}


def adopt_remote_trials(study: optuna.Study, store: JobStore, job_id: str, network: str) -> int:
    """Record here the finished trials other machines ran (their job records live in their workspaces),
    so `jobs list --parent JOB` shows every trial of the study; returns how many were added."""
    added = 0
    for t in study.get_trials(deepcopy=False):
        jid, status = t.user_attrs.get("job_id"), _FINISHED.get(t.state.name)
        if not jid or status is None or t.user_attrs.get("skipped") or _exists(store, jid):
            continue
        host = t.user_attrs.get("host")
        store.create(job_id=jid, parent_id=job_id, network=network, action="train", route="automl_trial",
                     results_dir=Path(t.user_attrs.get("results_dir") or store.job_dir(jid) / "results"),
                     results_uri=t.user_attrs.get("results_uri"),
                     plan={"job_id": jid, "parent_job": job_id, "route": "automl_trial", "host": host,
                           "automl_trial": {"number": t.number, "role": t.user_attrs.get("role"),
                                            "values": t.user_attrs.get("values"), "study": study.study_name}})
        store.update(jid, status=status, host=host,
                     started=t.datetime_start.timestamp() if t.datetime_start else None,
                     finished=t.datetime_complete.timestamp() if t.datetime_complete else None)
        store.add_detail(jid, adopted=f"trial {t.number} ran in another process of study {study.study_name}"
                                      + (f" on {host}" if host else "") + "; its log is there",
                         checkpoint=t.user_attrs.get("checkpoint"))
        added += 1
    return added


def _kpis(doc: dict[str, Any]) -> dict[str, Any]:
    best = doc.get("best") or {}
    final = doc.get("final") or {}
    return {"status": "done" if best else "failed",
            "best": {"metric": doc.get("metric"), "value": best.get("value"), "trial": best.get("number"),
                     "job_id": best.get("job_id")} if best else None,
            "final": {k: final.get(k) for k in ("mode", "status", "job_id", "value")} if final else None,
            "best_checkpoint": doc.get("best_checkpoint"), "progress": doc.get("progress"),
            "history": doc.get("history")}


def run_study(plan: dict[str, Any], workspace: Path, job_id: str, *, resume: bool = False,
              say: Callable[[str], None] = _say) -> int:
    """Create (or, when asked, continue) the study of AutoML job ``job_id`` and drive it to the end."""
    workspace = Path(workspace)
    runner = _runner(plan, workspace, job_id, say=say)
    settings = runner.settings
    storage = open_storage(settings["storage"])
    sampler = make_sampler(settings, runner.params)
    pruner = make_pruner(settings, max_resource(settings, runner.epochs(runner.base_spec)))
    name = settings["study_name"]
    if resume:
        study = load_study(storage, name, sampler, pruner)
        fail_stale(study)
        _settle_dead_trials(study, runner.store)
    else:
        context = {"job_id": job_id, "plan": plan, "settings": settings}
        study = create_study(storage, name, settings["direction"], context, sampler, pruner)
        if settings.get("baseline", True):
            study.enqueue_trial(_baseline_params(runner), user_attrs={"role": "baseline"}, skip_if_exists=False)
    if settings.get("algorithm_note"):
        say(settings["algorithm_note"])
    say(f"study {name}: {settings['algorithm']} ({settings['sampler']} + {settings['pruner']}), "
        f"{settings['max_trials']} trials, {settings['metric']} {settings['direction']}, storage {settings['storage']}")
    runner.store.update(job_id, pid=os.getpid())  # lets `automl resume` tell a dead study from a running one
    timeout = settings.get("timeout_s")
    runner.deadline = time.time() + timeout if timeout else None
    results_dir = Path(plan["results_dir"])
    code, final = EXIT_OK, None
    try:
        _optimize(study, runner, int(settings["max_trials"]), timeout)
        if runner.store.get(job_id).status == "canceled":
            raise StudyCanceled("the AutoML job was canceled")
        _wait_for_others(study, say)
        adopt_remote_trials(study, runner.store, job_id, plan["network"])
        final = _final(study, runner, job_id)
    except (KeyboardInterrupt, StudyCanceled) as exc:
        say(f"stopped: {exc or 'interrupted'}; continue later with `tao-skill automl resume {job_id}`")
        code = EXIT_INTERRUPTED
    doc = _write_results(study, runner, job_id, final, results_dir)
    if code == EXIT_OK and (doc["best"] is None or (final or {}).get("status") not in ("done", "skipped")):
        code = EXIT_JOB_FAILED
    status = {EXIT_OK: "done", EXIT_INTERRUPTED: "canceled"}.get(code, "failed")
    runner.store.update(job_id, status=status, finished=time.time(), exit_code=code, kpis=_kpis(doc))
    best = doc["best"]
    say(f"best: trial {best['number']} {settings['metric']} {best['value']:.4g} (job {best['job_id']}); "
        f"history {doc['history']}" if best else f"no trial completed; history {doc['history']}")
    return code


def run_from_plan(plan: dict[str, Any], workspace: Path, job_id: str) -> int:
    """The runner's hand-off for a train plan routed to AutoML (see ``tao_skill.routes.automl.launch_automl``)."""
    return run_study(plan, Path(workspace), job_id)


def _automl_job(store: JobStore, job_id: str):
    job = store.get(job_id)
    if job.route != "automl":
        raise RunnerError(ErrorItem("ID", f"job {job_id} is a `{job.route}` job, not an AutoML job",
                                    expected="the id of an AutoML job (route automl)", got=job.route,
                                    suggestion=job.parent_id))
    return job


def resume(job_id: str, workspace: Path, *, max_trials: int | None = None, timeout: float | None = None) -> int:
    """Continue AutoML job ``job_id``: same study, same settings; trial numbers continue."""
    store = JobStore(workspace)
    job = _automl_job(store, job_id)
    if job.status == "running" and pid_alive(job.pid):
        raise RunnerError(ErrorItem("ID", f"AutoML job {job_id} is still running; add machines with "
                                          f"`tao-skill automl worker --study {job_id}` instead", got=job.status))
    plan = json.loads((Path(job.job_dir) / "plan.json").read_text())
    if max_trials is not None:
        plan["automl"]["max_trials"] = int(max_trials)
    if timeout is not None:
        plan["automl"]["timeout_s"] = float(timeout)
    atomic_write(Path(job.job_dir) / "plan.json", json.dumps(plan, indent=2, default=str) + "\n")
    store.update(job_id, status="running", finished=None, exit_code=None, plan=plan)
    try:
        return run_study(plan, workspace, job_id, resume=True)
    except RunnerError as exc:
        store.update(job_id, status="failed", finished=time.time(), exit_code=exc.code)
        raise


def _settle_dead_trials(study: optuna.Study, store: JobStore) -> None:
    """Child jobs of trials Optuna failed for a stopped heartbeat still say running: mark them failed."""
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,)):
        job_id = t.user_attrs.get("job_id")
        if job_id and _exists(store, job_id):
            job = store.get(job_id)
            if job.status in ("pending", "running") and not pid_alive(job.pid):
                store.update(job_id, status="failed", finished=time.time())


def _storage_for(store: JobStore, study: str, storage: str | None) -> tuple[str, str]:
    """(storage URL, study name) of a study named by its AutoML job id (or by name with --storage)."""
    if storage:
        return storage, study
    try:
        job = store.get(study)
    except RunnerError:
        raise RunnerError(ErrorItem("--study", f"no AutoML job `{study}` in workspace {store.workspace}; on another "
                                               "machine pass the study database with --storage URL", got=study,
                                    expected="an AutoML job id, or --storage URL")) from None
    settings = (job.plan or {}).get("automl") or {}
    if not settings.get("storage"):
        raise RunnerError(ErrorItem("--study", f"job {study} has no AutoML study", got=study))
    return settings["storage"], settings.get("study_name", study)


def worker(study: str, workspace: Path, *, storage: str | None = None) -> dict[str, Any]:
    """Join a running study from another process or machine and run trials until its budget is spent."""
    store = JobStore(workspace)
    url, name = _storage_for(store, study, storage)
    rdb = open_storage(url)
    ctx = context_of(rdb, name)
    plan, settings, job_id = ctx["plan"], dict(ctx["settings"]), ctx["job_id"]
    settings["storage"] = url
    if settings.get("seed") is not None:  # the same seed in two workers would propose the same points
        settings["seed"] = int(settings["seed"]) + os.getpid()
    runner = _runner(plan, Path(workspace), job_id, settings)
    if not _exists(store, job_id):  # another machine: the parent is known here only by its id
        store.create(job_id=job_id, parent_id=None, network=plan["network"], action="train", route="automl",
                     results_dir=Path(store.job_dir(job_id) / "results"), results_uri=None, plan=plan)
        store.update(job_id, status="running", started=time.time())
    sampler = make_sampler(settings, runner.params)
    pruner = make_pruner(settings, max_resource(settings, runner.epochs(runner.base_spec)))
    study_obj = load_study(rdb, name, sampler, pruner)
    timeout = settings.get("timeout_s")
    runner.deadline = time.time() + timeout if timeout else None
    interrupted = False
    try:
        _optimize(study_obj, runner, int(settings["max_trials"]), timeout)
    except (KeyboardInterrupt, StudyCanceled):
        interrupted = True
    doc = summary(study_obj, settings)
    mine = [t for t in doc["trials"] if t["number"] in runner.ran]
    return {"ok": True, "study": name, "automl_job_id": job_id, "interrupted": interrupted, "trials_run_here": mine,
            "progress": doc["progress"], "best": doc["best"]}


def _exists(store: JobStore, job_id: str) -> bool:
    try:
        store.get(job_id)
    except RunnerError:
        return False
    return True


def status(study: str, workspace: Path, *, storage: str | None = None) -> dict[str, Any]:
    """Progress, best trial and every trial of a study, plus the AutoML job's status and files."""
    store = JobStore(workspace)
    url, name = _storage_for(store, study, storage)
    rdb = open_storage(url)
    ctx = context_of(rdb, name)
    settings = {**ctx["settings"], "storage": url}
    doc = summary(optuna.load_study(study_name=name, storage=rdb), settings)
    job_id = ctx["job_id"]
    doc["automl_job_id"] = job_id
    if _exists(store, job_id):
        adopt_remote_trials(optuna.load_study(study_name=name, storage=rdb), store, job_id,
                            ctx["plan"].get("network", ""))
        job = store.get(job_id)
        doc["job_status"] = job.status
        results = Path(job.results_dir)
        doc["files"] = {n: str(results / n) for n in (HISTORY, BEST_SPEC, "optimization_history.png",
                                                      "param_importances.png") if (results / n).exists()}
    return doc
