"""One job record for one distributed run: `tao-skill run` on a node (or task) other than rank 0.

Why: with the documented variables (``NODE_RANK``), a Kubeflow PyTorchJob (``RANK``), ``srun tao-skill
run`` (``SLURM_PROCID``) or ``mpirun``/``jsrun``, every node runs the same `tao-skill run`. Rank 0
records the job, owns its log, status.json and checkpoints; the others only have to take part in the
training. So a runner whose launcher rank is not 0 records nothing: it writes the spec (secrets as
``***``) to a private temporary folder, points the spec's output folder there (rank 0 writes the run's
outputs), runs the entrypoint with the launcher's variables, streams its output, and answers with a
record that says which job it joined in spirit and that rank 0 keeps the record.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Mapping, TextIO

from tao_skill.errors import EXIT_JOB_FAILED, EXIT_OK
from tao_skill.plan import Prepared, command_for
from tao_skill.spec import REDACTED, redact, set_dotted

#: (variable, what sets it); the first one present and non-zero makes this runner a follower.
RANK_VARIABLES = (("NODE_RANK", "WORLD_SIZE/NODE_RANK"), ("GROUP_RANK", "torchrun"), ("SLURM_PROCID", "srun"),
                  ("OMPI_COMM_WORLD_RANK", "mpirun"), ("JSM_NAMESPACE_RANK", "jsrun"))


def follower_rank(environ: Mapping[str, str] | None = None) -> tuple[int, str] | None:
    """``(rank, variable)`` when this runner is not rank 0 of a distributed launch, else None."""
    env = os.environ if environ is None else environ
    for var, _ in RANK_VARIABLES:
        if env.get(var, "").isdigit():
            rank = int(env[var])
            return (rank, var) if rank > 0 else None
    if env.get("RANK", "").isdigit() and "LOCAL_RANK" not in env:  # a PyTorchJob pod (one process per pod)
        return (int(env["RANK"]), "RANK") if int(env["RANK"]) > 0 else None
    return None


def run_follower(prep: Prepared, rank: tuple[int, str], *, out: TextIO) -> dict[str, Any]:
    """Take part in the run without a job record (see the module docstring)."""
    from tao_skill.launch import _scrubber, _stage  # noqa: PLC0415 - the launcher's own staging and scrubbing

    number, var = rank
    plan = prep.plan
    tmp = Path(tempfile.mkdtemp(prefix=f"tao-skill-rank{number}-"))
    try:
        spec = _stage(prep)
        for key, fn in prep.skill.info.get("spec_params", {}).get(plan["action"], {}).items():
            name = fn if isinstance(fn, str) else fn.get("function")
            if name == "output_dir":
                sub = None if isinstance(fn, str) else fn.get("subdir")
                set_dotted(spec, key, str(tmp / "results" / sub) if sub else str(tmp / "results"))
        import yaml  # noqa: PLC0415

        (tmp / "spec.yaml").write_text(yaml.safe_dump(redact(spec, prep.secret_keys), sort_keys=False))
        command = command_for(prep.skill, plan["action"], tmp / "spec.yaml")
        scrub = _scrubber([v for v in prep.secret_env.values() if v and v != REDACTED])
        out.write(f"{var}={number}: taking part in the distributed run; rank 0 keeps the job record, log, "
                  "status and checkpoints\n")
        env = {**os.environ, **prep.secret_env, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
                                errors="replace", bufsize=1, cwd=str(tmp))
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(scrub(line))
        rc = proc.wait()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    code = EXIT_OK if rc == 0 else EXIT_JOB_FAILED
    return {"job_id": plan["job_id"], "recorded": False, "status": "done" if rc == 0 else "failed", "exit_code": rc,
            "runner_exit_code": code, "kpis": None, "results_dir": None,
            "follower": {"rank": number, "variable": var,
                         "note": "not recorded here: rank 0's `tao-skill run` records this run's job"}}
