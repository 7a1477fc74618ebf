"""Cluster launchers on CPU/gloo: torchrun, a simulated SLURM allocation, Kubeflow and the documented variables.

Each launch trains the tiny 2D network one step on 2 processes (127.0.0.1) and must leave ONE set of
outputs: one log.txt without repeated lines, one status.json, one checkpoint (rank 0 writes them). The
commands are those of docs/cluster.md. Unit tests check the layout each launcher's variables give and
that a spec disagreeing with the launcher is refused with the value to set.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nvpanoptix3d.engine.errors import EngineError
from nvpanoptix3d.engine.runtime import cluster_layout, global_rank, plan_devices

from .conftest import make_spec, write_spec

ENTRY = [sys.executable, "-m", "nvpanoptix3d.entrypoint", "train", "-e"]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]
LAUNCH_VARS = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR",
               "MASTER_PORT", "NUM_GPU_PER_NODE", "TORCHELASTIC_RUN_ID")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARS and not k.startswith(("SLURM_", "LSB_",
                                                                                               "JSM_", "PET_"))}
    env.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}, **extra)
    return env


@pytest.fixture
def cluster_spec(tiny_data, tmp_path):
    """A one-step tiny 2D run whose results folder both processes share (as on a shared filesystem)."""
    res = tmp_path / "results"
    spec = make_spec(tiny_data, res, **{"train.num_epochs": 1, "train.iters_per_epoch": 1,
                                        "dataset.train.batch_size": 1})
    return write_spec(tmp_path / "spec.yaml", spec), res


def _run_all(cmds: list[tuple[list[str], dict[str, str]]], timeout: float = 240,
             merge: bool = True) -> list[subprocess.CompletedProcess]:
    """Start every command at once (the processes of one run), wait for all; stderr into stdout when ``merge``."""
    procs = [subprocess.Popen(c, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT if merge else subprocess.PIPE,
                              text=True) for c, e in cmds]
    out = []
    try:
        for p in procs:
            text, err = p.communicate(timeout=timeout)
            out.append(subprocess.CompletedProcess(p.args, p.returncode, text, err or ""))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    return out


def _one_set_of_outputs(res: Path, runs: list[subprocess.CompletedProcess]) -> None:
    for r in runs:
        assert r.returncode == 0, r.stdout[-3000:]
    lines = (res / "log.txt").read_text().splitlines()
    assert sum("train done" in ln for ln in lines) == 1, lines
    assert sum("saved checkpoint" in ln or "saved final checkpoint" in ln for ln in lines) == 1, lines
    assert any("world size 2" in ln for ln in lines), lines
    assert sorted(p.name for p in res.glob("*.pth")) == ["latest.pth", "model_epoch_000_step_00001.pth"]
    status = json.loads((res / "status.json").read_text())
    assert status["status"] == "done" and len(status["entries"]) == 1


def test_torchrun_one_node_two_processes(cluster_spec):
    spec, res = cluster_spec
    t0 = time.monotonic()
    cmd = TORCHRUN + ["--nnodes", "1", "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port",
                      str(_free_port()), "-m", "nvpanoptix3d.entrypoint", "train", "-e", str(spec), "train.num_gpus=2"]
    runs = _run_all([(cmd, _clean_env())])
    _one_set_of_outputs(res, runs)
    assert "launcher torchelastic" in (res / "log.txt").read_text()
    print(f"torchrun 1x2: {time.monotonic() - t0:.1f} s")


@pytest.mark.slow
def test_kubeflow_pytorchjob_variables(cluster_spec):
    """What the PyTorchJob operator sets in each pod: MASTER_ADDR/PORT, WORLD_SIZE, RANK (no LOCAL/NODE_RANK)."""
    spec, res = cluster_spec
    port = str(_free_port())
    runs = _run_all([(ENTRY + [str(spec), "train.num_nodes=2"],
                      _clean_env(MASTER_ADDR="127.0.0.1", MASTER_PORT=port, WORLD_SIZE="2", RANK=str(rank)))
                     for rank in (0, 1)])
    _one_set_of_outputs(res, runs)
    assert "launcher kubeflow" in (res / "log.txt").read_text()


def test_tao_skill_run_in_two_pytorchjob_pods_leaves_one_job(tiny_data, tmp_path):
    """`tao-skill run` in each pod of a 2-pod PyTorchJob (RANK 0/1, shared workspace): one job, one set of
    outputs (rank 0's), both runners exit 0; the rank-1 runner records nothing."""
    import yaml

    spec = make_spec(tiny_data, tmp_path / "unused", **{"train.num_epochs": 1, "train.iters_per_epoch": 1,
                                                         "dataset.train.batch_size": 1, "train.num_nodes": 2})
    spec.pop("results_dir")  # the runner's output_dir mapping sets it
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    ws, port = tmp_path / "ws", str(_free_port())
    cli = [sys.executable, "-c", "import sys; from tao_skill.cli import main; sys.exit(main())", "run", "nvpanoptix3d",
           "train", "--spec", str(tmp_path / "spec.yaml"), "--train-dataset", str(tiny_data), "--eval-dataset",
           str(tiny_data), "--automl-policy", "off", "--json"]
    t0 = time.monotonic()
    runs = _run_all([(cli, _clean_env(TAO_SKILL_WORKSPACE=str(ws), MASTER_ADDR="127.0.0.1", MASTER_PORT=port,
                                      WORLD_SIZE="2", RANK=str(r))) for r in (0, 1)], merge=False)
    for r in runs:
        assert r.returncode == 0, r.stderr[-3000:]
    docs = [json.loads(r.stdout) for r in runs]  # --json: exactly one document on stdout
    assert docs[1]["job"]["recorded"] is False and docs[1]["job"]["follower"]["variable"] == "RANK"
    from tao_skill.jobs import JobStore

    jobs = JobStore(ws).list()
    assert [j.id for j in jobs] == [docs[0]["job_id"]] and jobs[0].status == "done"
    _one_set_of_outputs(Path(jobs[0].results_dir), runs)
    print(f"tao-skill run x 2 pods: {time.monotonic() - t0:.1f} s")


@pytest.mark.slow
def test_torchrun_two_nodes_one_process_each(cluster_spec):
    spec, res = cluster_spec
    port = str(_free_port())
    cmds = [(TORCHRUN + ["--nnodes", "2", "--node_rank", str(node), "--nproc_per_node", "1", "--master_addr",
                         "127.0.0.1", "--master_port", port, "-m", "nvpanoptix3d.entrypoint", "train", "-e",
                         str(spec), "train.num_nodes=2"], _clean_env()) for node in (0, 1)]
    _one_set_of_outputs(res, _run_all(cmds))


@pytest.mark.slow
def test_simulated_slurm_allocation_of_two_tasks(cluster_spec):
    """What `srun` sets for `sbatch --nodes 1 --ntasks-per-node 2` (docs/cluster.md), one task per process."""
    spec, res = cluster_spec
    port = str(_free_port())
    base = dict(SLURM_JOB_ID="4242", SLURM_JOB_NAME="nvp3d", SLURM_NTASKS="2", SLURM_NTASKS_PER_NODE="2",
                SLURM_NNODES="1", SLURM_NODEID="0", SLURM_NODELIST="127.0.0.1", MASTER_ADDR="127.0.0.1",
                MASTER_PORT=port)
    runs = _run_all([(ENTRY + [str(spec), "train.num_gpus=2"],
                      _clean_env(**base, SLURM_PROCID=str(r), SLURM_LOCALID=str(r))) for r in (0, 1)])
    _one_set_of_outputs(res, runs)
    assert "launcher slurm" in (res / "log.txt").read_text()


@pytest.mark.slow
def test_documented_variables_on_two_nodes(cluster_spec):
    """NVIDIA's documented WORLD_SIZE/NODE_RANK/MASTER_*/NUM_GPU_PER_NODE, one `python` per node."""
    spec, res = cluster_spec
    port = str(_free_port())
    runs = _run_all([(ENTRY + [str(spec), "train.num_nodes=2"],
                      _clean_env(WORLD_SIZE="2", NODE_RANK=str(n), MASTER_ADDR="127.0.0.1", MASTER_PORT=port,
                                 NUM_GPU_PER_NODE="1")) for n in (0, 1)])
    _one_set_of_outputs(res, runs)


# ------------------------------------------------------------------------------------------- layouts (fast)
def _train(tmp_path, **train):
    import yaml

    from nvpanoptix3d.config import load_spec

    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump({"train": train}))
    return load_spec(p).train


TORCHRUN_ENV = {"TORCHELASTIC_RUN_ID": "x", "WORLD_SIZE": "4", "LOCAL_WORLD_SIZE": "2", "RANK": "3",
                "LOCAL_RANK": "1", "GROUP_RANK": "1", "MASTER_ADDR": "h0", "MASTER_PORT": "1"}


@pytest.mark.parametrize("env, want", [
    (TORCHRUN_ENV, ("torchelastic", 2, 2, 3, 1, 1)),
    ({"SLURM_NTASKS": "4", "SLURM_NTASKS_PER_NODE": "2", "SLURM_NNODES": "2", "SLURM_PROCID": "2",
      "SLURM_LOCALID": "0", "SLURM_NODEID": "1", "SLURM_JOB_NAME": "x"}, ("slurm", 2, 2, 2, 1, 0)),
    ({"MASTER_ADDR": "m", "MASTER_PORT": "1", "WORLD_SIZE": "3", "RANK": "2"}, ("kubeflow", 1, 3, 2, 2, 0)),
    ({"WORLD_SIZE": "4", "NODE_RANK": "1", "NUM_GPU_PER_NODE": "2", "MASTER_ADDR": "m"}, ("env", 2, None, 2, 1, 0)),
    ({"WORLD_SIZE": "4", "NODE_RANK": "1", "LOCAL_RANK": "1", "NUM_GPU_PER_NODE": "2"}, ("env", 2, None, 3, 1, 1)),
    ({}, ("local", None, None, 0, 0, 0)),
])
def test_layout_from_each_launcher(env, want):
    lay = cluster_layout(env)
    assert (lay.kind, lay.per_node, lay.num_nodes, lay.global_rank, lay.node_rank, lay.local_rank) == want
    assert global_rank(env) == want[3]


def test_slurm_without_ntasks_per_node_is_refused_by_lightnings_rule():
    env = {"SLURM_NTASKS": "6", "SLURM_NNODES": "3", "SLURM_PROCID": "0", "SLURM_LOCALID": "0",
           "SLURM_NODEID": "0", "SLURM_JOB_NAME": "x"}
    with pytest.raises(EngineError, match="ntasks-per-node"):
        cluster_layout(env)
    assert global_rank(env) == 0


def test_lsf_layout_from_the_rank_file(tmp_path):
    rankfile = tmp_path / "ranks"
    here = socket.gethostname()  # Lightning finds this node's rank by its host name
    rankfile.write_text(f"batch\n{here}\n{here}\nh2\nh2\n")  # the launch node first, then one line per task
    env = {"LSB_JOBID": "77", "LSB_DJOB_RANKFILE": str(rankfile), "JSM_NAMESPACE_LOCAL_RANK": "1",
           "JSM_NAMESPACE_SIZE": "4", "JSM_NAMESPACE_RANK": "1"}
    lay = cluster_layout(env)
    assert (lay.kind, lay.per_node, lay.num_nodes, lay.global_rank, lay.node_rank) == ("lsf", 2, 2, 1, 0)


def test_the_spec_must_agree_with_the_launcher(tmp_path):
    with pytest.raises(EngineError, match=r"train.num_gpus is 1 but torchrun .* set train.num_gpus=2.*"
                                          r"set train.num_nodes=2"):
        plan_devices(_train(tmp_path), env=TORCHRUN_ENV, cuda=False)
    plan = plan_devices(_train(tmp_path, num_gpus=2, num_nodes=2), env=TORCHRUN_ENV, cuda=False)
    assert (plan.devices, plan.num_nodes, plan.world_size, plan.cluster, plan.global_rank) == (2, 2, 4,
                                                                                                "torchelastic", 3)
    assert type(plan.plugins[0]).__name__ == "TorchElasticEnvironment"
    kube = {"MASTER_ADDR": "m", "MASTER_PORT": "1", "WORLD_SIZE": "2", "RANK": "1"}
    with pytest.raises(EngineError, match="set train.num_nodes=2"):
        plan_devices(_train(tmp_path), env=kube, cuda=False)
    assert type(plan_devices(_train(tmp_path, num_nodes=2), env=kube, cuda=False).plugins[0]).__name__ == \
        "KubeflowEnvironment"
    with pytest.raises(EngineError, match="NODE_RANK=2 but the run has 2 node"):
        plan_devices(_train(tmp_path), env={"WORLD_SIZE": "2", "NODE_RANK": "2"}, cuda=False)
    with pytest.raises(EngineError, match="WORLD_SIZE=3 is not a multiple"):
        plan_devices(_train(tmp_path, num_gpus=2), env={"WORLD_SIZE": "3", "NODE_RANK": "0"}, cuda=False)
    with pytest.raises(EngineError, match="no launcher told this process"):
        plan_devices(_train(tmp_path, num_nodes=2), env={}, cuda=False)
