"""Algorithm names -> Optuna samplers and pruners (the table in docs/automl.md).

Why Optuna: its samplers and pruners are well tested and its RDB storage lets several processes or
machines share one study, so there is no home-made scheduler here.
"""

from __future__ import annotations

from typing import Any

import optuna

from tao_skill.automl.space import Param, grid_values


def make_sampler(settings: dict[str, Any], params: list[Param]) -> optuna.samplers.BaseSampler:
    """The sampler of ``settings["algorithm"]``; every process of a study builds the same one."""
    seed = settings.get("seed")
    name = settings["sampler"]
    if name == "TPESampler":
        # constant_liar keeps parallel workers from proposing the same point while trials run.
        startup = max(2, min(10, settings["max_trials"] // 3))
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, constant_liar=True)
    if name == "RandomSampler":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "GridSampler":
        return optuna.samplers.GridSampler(grid_values(params, settings.get("grid_points", 3)), seed=seed)
    if name == "CmaEsSampler":
        return optuna.samplers.CmaEsSampler(seed=seed)
    raise ValueError(f"unknown sampler {name}")


def max_resource(settings: dict[str, Any], spec_epochs: int | None) -> int:
    """Epochs a trial trains: --epochs-per-trial, else the spec's epochs, else 1."""
    return int(settings.get("epochs_per_trial") or spec_epochs or 1)


def make_pruner(settings: dict[str, Any], resource: int) -> optuna.pruners.BasePruner:
    """Hyperband / successive halving over epochs (the resource is the epoch count reported)."""
    name = settings["pruner"]
    factor = max(2, int(settings.get("reduction_factor", 3)))
    if name == "HyperbandPruner":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(resource, 1), reduction_factor=factor)
    if name == "SuccessiveHalvingPruner":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=factor)
    return optuna.pruners.NopPruner()
