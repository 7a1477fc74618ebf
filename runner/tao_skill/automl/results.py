"""A study's results as files: ``automl_history.json``, ``best_spec.yaml`` and plots.

Why files next to the job: agents and people read them without Optuna, and the AutoML job's results
folder is uploaded/kept like any other job's. JSON and YAML are written atomically.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import optuna
import yaml

from tao_skill.jobs import atomic_write

_STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running", "WAITING": "waiting"}


def trial_row(t: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """One trial as plain data (state, role, KPI, sampled values, per-epoch KPI, job, checkpoint, error)."""
    state = "skipped" if t.user_attrs.get("skipped") else _STATES.get(t.state.name, t.state.name.lower())
    row = {
        "number": t.number,
        "state": state,
        "role": t.user_attrs.get("role", "trial"),
        "value": t.value,
        "values": t.user_attrs.get("values", {}),
        "intermediate": {str(k): v for k, v in sorted(t.intermediate_values.items())},
        "job_id": t.user_attrs.get("job_id"),
        "results_dir": t.user_attrs.get("results_dir"),
        "checkpoint": t.user_attrs.get("checkpoint"),
        "started": t.datetime_start.isoformat() if t.datetime_start else None,
        "finished": t.datetime_complete.isoformat() if t.datetime_complete else None,
        "duration_s": round(t.duration.total_seconds(), 3) if t.duration else None,
    }
    for extra in ("error", "reason", "skipped"):
        if t.user_attrs.get(extra):
            row[extra] = t.user_attrs[extra]
    return row


def progress(trials: list[dict[str, Any]]) -> dict[str, int]:
    counts = {s: 0 for s in ("complete", "pruned", "failed", "running", "waiting", "skipped")}
    for row in trials:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    counts["total"] = sum(v for k, v in counts.items() if k != "skipped")
    return counts


def best_row(trials: list[dict[str, Any]], direction: str) -> dict[str, Any] | None:
    done = [t for t in trials if t["state"] == "complete" and isinstance(t["value"], (int, float))]
    if not done:
        return None
    return (max if direction == "maximize" else min)(done, key=lambda t: t["value"])


def summary(study: optuna.Study, settings: dict[str, Any]) -> dict[str, Any]:
    """Progress, best trial and every trial (the body of ``automl status`` and ``automl_history.json``)."""
    trials = [trial_row(t) for t in study.get_trials(deepcopy=False)]
    storage = settings.get("storage", "")
    return {
        "study": study.study_name,
        "storage": storage,
        "algorithm": settings.get("algorithm"),
        "sampler": settings.get("sampler"),
        "pruner": settings.get("pruner"),
        "algorithm_note": settings.get("algorithm_note"),
        "metric": settings.get("metric"),
        "direction": settings.get("direction"),
        "max_trials": settings.get("max_trials"),
        "budget": {k: settings.get(k) for k in ("epochs_per_trial", "train_sample_count", "timeout_s")},
        "search_space": settings.get("search_space"),
        "fixed": settings.get("fixed"),
        "progress": progress(trials),
        "baseline": next(({"number": t["number"], "state": t["state"], "value": t["value"], "job_id": t["job_id"]}
                          for t in trials if t["role"] == "baseline"), None),
        "best": best_row(trials, settings.get("direction", "maximize")),
        "trials": trials,
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(data, indent=2, default=str) + "\n")


def write_best_spec(path: Path, spec: dict[str, Any]) -> None:
    atomic_write(path, yaml.safe_dump(spec, sort_keys=False))


def write_plots(study: optuna.Study, out_dir: Path) -> tuple[dict[str, str], list[str]]:
    """Optimization history and parameter importance as PNG (matplotlib) and HTML (plotly), when installed.

    Returns (files by name, notes); a missing library or too few trials gives a note, never an error.
    """
    files: dict[str, str] = {}
    notes: list[str] = []
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        return files, ["no complete trial to plot"]
    plots = {"optimization_history": "plot_optimization_history", "param_importances": "plot_param_importances"}
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
        import optuna.visualization.matplotlib as ovm  # noqa: PLC0415
    except ImportError:
        notes.append("matplotlib is not installed: no PNG plots (pip install matplotlib)")
    else:
        for name, fn in plots.items():
            try:
                with warnings.catch_warnings():  # the matplotlib backend is "experimental" in Optuna
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    ax = getattr(ovm, fn)(study)
                fig = ax.figure if hasattr(ax, "figure") else ax
                path = out_dir / f"{name}.png"
                fig.savefig(path, dpi=100, bbox_inches="tight")
                plt.close(fig)
                files[f"{name}_png"] = str(path)
            except Exception as exc:  # noqa: BLE001 - e.g. importance needs 2+ trials with varying values
                notes.append(f"{name}.png not written: {type(exc).__name__}: {exc}")
    try:
        import optuna.visualization as ov  # noqa: PLC0415
        import plotly  # noqa: F401, PLC0415
    except ImportError:
        notes.append("plotly is not installed: no HTML plots (pip install plotly)")
    else:
        for name, fn in plots.items():
            try:
                path = out_dir / f"{name}.html"
                getattr(ov, fn)(study).write_html(str(path))
                files[f"{name}_html"] = str(path)
            except Exception as exc:  # noqa: BLE001
                notes.append(f"{name}.html not written: {type(exc).__name__}: {exc}")
    return files, notes
