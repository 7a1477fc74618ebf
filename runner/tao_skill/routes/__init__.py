"""The routes a prepared job can take, above the one launcher (:mod:`tao_skill.launch`).

Data flows one way: plan (:mod:`tao_skill.plan`) -> route (this package: ``direct`` runs the
entrypoint once, ``automl`` hands the job to the AutoML study, whose trials are direct launches) ->
launch -> job store. The launcher knows nothing about AutoML.
"""

from __future__ import annotations

from typing import Any, TextIO

from tao_skill.plan import Prepared


def run_prepared(prep: Prepared, *, out: TextIO) -> dict[str, Any]:
    """Run ``prep`` on the route its plan chose and return the run's record (``runner_exit_code`` included).

    A runner on a launcher rank other than 0 (``NODE_RANK``, a PyTorchJob's ``RANK``, ``SLURM_PROCID``, ...)
    takes part in the training without recording a job: one distributed run, one job (rank 0's)."""
    from tao_skill.routes.distributed import follower_rank, run_follower  # noqa: PLC0415

    rank = follower_rank()
    if rank is not None and prep.plan["route"] != "automl":
        return run_follower(prep, rank, out=out)
    if prep.plan["route"] == "automl":
        from tao_skill.routes.automl import run_automl  # noqa: PLC0415

        return run_automl(prep)
    from tao_skill.routes.direct import run_direct  # noqa: PLC0415

    return run_direct(prep, out=out)
