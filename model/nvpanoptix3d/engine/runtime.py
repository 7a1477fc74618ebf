"""What every action needs before it starts: results folder, logging, the encryption key, devices."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from nvpanoptix3d.config import resolve_secret
from nvpanoptix3d.engine.errors import EngineError

log = logging.getLogger("nvpanoptix3d")
_FMT = "%(asctime)s %(levelname)s %(message)s"


def results_dir_for(spec: Any, action: str) -> Path:
    """``<action>.results_dir`` when set, else the top-level ``results_dir`` (created)."""
    section = getattr(spec, action, None)
    path = (getattr(section, "results_dir", "") or spec.results_dir) if section is not None else spec.results_dir
    if not path:
        raise EngineError(f"results_dir is empty: set results_dir (or {action}.results_dir) in the spec")
    out = Path(path).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EngineError(f"cannot create results_dir {out}: {exc.strerror or exc}") from None
    return out


def setup_logging(results_dir: Path | None, *, verbose: bool = False, rank: int = 0) -> None:
    """Console + ``results_dir/log.txt`` (rank 0 writes the file; other ranks log warnings only)."""
    root = logging.getLogger("nvpanoptix3d")
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter(_FMT, "%H:%M:%S"))
    console.setLevel(logging.DEBUG if verbose else (logging.INFO if rank == 0 else logging.WARNING))
    root.addHandler(console)
    if results_dir is not None and rank == 0:
        fh = logging.FileHandler(Path(results_dir) / "log.txt", encoding="utf-8")
        fh.setFormatter(logging.Formatter(_FMT))
        root.addHandler(fh)
    warnings.filterwarnings("ignore", message=r".*treespec, LeafSpec.*")
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    for name in ("pytorch_lightning", "lightning_fabric", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.WARNING)


def quiet_lightning() -> None:
    """Lightning's banners ("GPU available", tips) to WARNING; call after importing pytorch_lightning."""
    for name in list(logging.root.manager.loggerDict):
        if name.startswith(("pytorch_lightning", "lightning_fabric", "lightning.")):
            logging.getLogger(name).setLevel(logging.WARNING)


def encryption_key(spec: Any) -> str | None:
    """The real key: the spec value, or TAO_SKILL_ENCRYPTION_KEY when the spec says "***" or nothing."""
    return resolve_secret(spec.encryption_key or "")


def redacted_config(spec: Any) -> dict[str, Any]:
    data = spec.model_dump(mode="json")
    if data.get("encryption_key"):
        data["encryption_key"] = "***"
    return data


# ----------------------------------------------------------------------------------------- cluster layout
#: launchers that start every process themselves, in Lightning's detection order (Kubeflow is not
#: auto-detected by Lightning; it is recognised here by its variables).
EXTERNAL = ("torchelastic", "slurm", "lsf", "mpi", "kubeflow")
_LAUNCHER = {"torchelastic": "torchrun (LOCAL_WORLD_SIZE/WORLD_SIZE)",
             "slurm": "SLURM (SLURM_NTASKS_PER_NODE/SLURM_NNODES)", "lsf": "LSF jsrun (LSB_DJOB_RANKFILE)",
             "mpi": "MPI (mpirun)", "kubeflow": "Kubeflow PyTorchJob (WORLD_SIZE/RANK, one process per pod)",
             "env": "WORLD_SIZE/NODE_RANK/NUM_GPU_PER_NODE", "local": "this process"}


@dataclass(frozen=True)
class ClusterLayout:
    """Where this process sits in the run, as the launcher's cluster environment says.

    ``environment`` is the Lightning ClusterEnvironment the Trainer gets as a plugin (so Lightning and
    this module never disagree); ``per_node``/``num_nodes`` are ``None`` when the launcher leaves them to
    the spec (a plain ``python`` start: Lightning spawns ``train.num_gpus`` processes per node itself)."""

    kind: str
    environment: Any
    per_node: int | None
    num_nodes: int | None
    global_rank: int
    node_rank: int
    local_rank: int
    env_world: int | None = None  # WORLD_SIZE under the documented variables (every process of the run)

    @property
    def external(self) -> bool:
        return self.kind in EXTERNAL

    @property
    def launcher(self) -> str:
        return _LAUNCHER[self.kind]


def _int(env: Mapping[str, str], *names: str) -> int | None:
    for name in names:
        value = env.get(name, "").strip()
        if value.isdigit():
            return int(value)
    return None


@contextmanager
def _environ(env: Mapping[str, str] | None) -> Iterator[None]:
    """Lightning's environments read ``os.environ``: let a caller describe another process's variables."""
    if env is None:
        yield
        return
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _is_kubeflow(env: Mapping[str, str]) -> bool:
    """A PyTorchJob pod: the operator sets MASTER_ADDR/MASTER_PORT/WORLD_SIZE/RANK and nothing per node."""
    needed = ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK")
    return all(env.get(k) for k in needed) and not any(k in env for k in ("LOCAL_RANK", "NODE_RANK", "GROUP_RANK"))


def cluster_layout(env: Mapping[str, str] | None = None) -> ClusterLayout:
    """The launcher of this process through Lightning's cluster environments (TorchElastic, SLURM, LSF,
    MPI; Kubeflow by its variables), else the documented WORLD_SIZE/NODE_RANK variables, else none."""
    from lightning_fabric.plugins.environments import (KubeflowEnvironment, LightningEnvironment,  # noqa: PLC0415
                                                       LSFEnvironment, MPIEnvironment, SLURMEnvironment,
                                                       TorchElasticEnvironment)

    with _environ(env):
        e = os.environ
        if TorchElasticEnvironment.detect():
            c = TorchElasticEnvironment()
            world, per_node = c.world_size(), _int(e, "LOCAL_WORLD_SIZE") or 1
            return ClusterLayout("torchelastic", c, per_node, max(world // per_node, 1), c.global_rank(),
                                 c.node_rank(), c.local_rank())
        if SLURMEnvironment.detect():
            try:
                c = SLURMEnvironment()
            except RuntimeError as exc:  # Lightning's own srun checks (e.g. --ntasks without --ntasks-per-node)
                raise EngineError(f"SLURM allocation: {exc}") from None
            world, nodes = c.world_size(), _int(e, "SLURM_NNODES", "SLURM_JOB_NUM_NODES") or 1
            per_node = _int(e, "SLURM_NTASKS_PER_NODE") or max(world // nodes, 1)
            return ClusterLayout("slurm", c, per_node, nodes, c.global_rank(), c.node_rank(), c.local_rank())
        if LSFEnvironment.detect():
            c = LSFEnvironment()
            nodes = max(len(set(c._read_hosts())), 1)  # noqa: SLF001 - Lightning's own rank-file reader
            return ClusterLayout("lsf", c, max(c.world_size() // nodes, 1), nodes, c.global_rank(), c.node_rank(),
                                 c.local_rank())
        if MPIEnvironment.detect():
            c = MPIEnvironment()
            local = c.local_rank()
            per_node = c._comm_local.Get_size()  # noqa: SLF001 - set by local_rank()
            return ClusterLayout("mpi", c, per_node, max(c.world_size() // per_node, 1), c.global_rank(),
                                 c.node_rank(), local)
        if _is_kubeflow(e):
            c = KubeflowEnvironment()
            return ClusterLayout("kubeflow", c, 1, c.world_size(), c.global_rank(), c.node_rank(), 0)
        c = LightningEnvironment()
        node, local = _int(e, "NODE_RANK", "GROUP_RANK") or 0, _int(e, "LOCAL_RANK") or 0
        if "WORLD_SIZE" in e or "NODE_RANK" in e or "NUM_GPU_PER_NODE" in e:
            per_node = _int(e, "NUM_GPU_PER_NODE")
            # rank 0 is node 0, local 0 whatever the per-node count; others only need to be non-zero
            rank = node * (per_node or 1) + local
            return ClusterLayout("env", c, per_node, None, rank, node, local, env_world=_int(e, "WORLD_SIZE"))
        return ClusterLayout("local", c, None, None, local, 0, local)


def global_rank(env: Mapping[str, str] | None = None) -> int:
    """This process's global rank as the launcher's cluster environment says (0 when not distributed).

    Before the Trainer exists (logging setup): under the documented variables a process Lightning will
    spawn is ``NODE_RANK * NUM_GPU_PER_NODE + LOCAL_RANK``."""
    try:
        return cluster_layout(env).global_rank
    except Exception:  # noqa: BLE001 - a broken environment is reported by plan_devices with its reason
        return 0


def _layout_for(train: Any, layout: ClusterLayout) -> tuple[int, int]:
    """Processes per node and nodes: the launcher's when it fixed them (the spec must agree), else the spec's."""
    per_node, nodes = layout.per_node, layout.num_nodes
    if layout.external:
        wrong = []
        if train.num_gpus != per_node:
            wrong.append(f"train.num_gpus is {train.num_gpus} but {layout.launcher} started {per_node} process(es) "
                         f"per node: set train.num_gpus={per_node}")
        if train.num_nodes != nodes:
            wrong.append(f"train.num_nodes is {train.num_nodes} but {layout.launcher} spans {nodes} node(s): set "
                         f"train.num_nodes={nodes}")
        if wrong:
            raise EngineError("; ".join(wrong))
        return int(per_node), int(nodes)
    if layout.kind == "env":
        per_node = per_node or train.num_gpus
        if layout.per_node and layout.per_node != train.num_gpus:
            log.warning("NUM_GPU_PER_NODE=%d overrides train.num_gpus=%d", layout.per_node, train.num_gpus)
        env_world = layout.env_world
        if env_world is not None and (env_world < per_node or env_world % per_node):
            raise EngineError(f"WORLD_SIZE={env_world} is not a multiple of the {per_node} process(es) per node "
                              "(NUM_GPU_PER_NODE or train.num_gpus); WORLD_SIZE counts every process of the run")
        nodes = env_world // per_node if env_world else train.num_nodes
        if train.num_nodes not in (1, nodes):
            raise EngineError(f"train.num_nodes is {train.num_nodes} but WORLD_SIZE={env_world} with {per_node} "
                              f"process(es) per node means {nodes} node(s): set train.num_nodes={nodes}")
        if layout.node_rank >= nodes:
            raise EngineError(f"NODE_RANK={layout.node_rank} but the run has {nodes} node(s) (WORLD_SIZE / "
                              "NUM_GPU_PER_NODE); node ranks count from 0")
        return per_node, nodes
    if train.num_nodes > 1:
        raise EngineError(f"train.num_nodes is {train.num_nodes} but no launcher told this process its place: start "
                          "it with torchrun, srun, a PyTorchJob, or set NODE_RANK, WORLD_SIZE, MASTER_ADDR, "
                          "MASTER_PORT and NUM_GPU_PER_NODE on each node (docs/cluster.md)")
    return train.num_gpus, 1


@dataclass(frozen=True)
class DevicePlan:
    accelerator: str  # "cpu" | "gpu"
    devices: int | list[int]
    num_nodes: int
    strategy: Any  # "auto" or a Lightning strategy object
    world_size: int
    strategy_name: str = "single"
    cluster: str = "local"
    global_rank: int = 0
    plugins: tuple[Any, ...] = ()

    def describe(self) -> str:
        return (f"{self.accelerator} x {self.devices} per node, {self.num_nodes} node(s), "
                f"world size {self.world_size}, strategy {self.strategy_name}, launcher {self.cluster}")


def plan_devices(train: Any, env: dict[str, str] | None = None, cuda: bool | None = None) -> DevicePlan:
    """Devices and strategy from ``train.num_gpus/gpu_ids/num_nodes/distributed_strategy`` and the launcher.

    The launcher is found by Lightning's cluster environments (:func:`cluster_layout`); the chosen
    environment goes to the Trainer as a plugin. A launcher that starts every process itself (torchrun,
    srun, a PyTorchJob, jsrun, mpirun) fixes the processes per node and the node count, and the spec must
    say the same (else EngineError naming the key and value to set). Under the documented variables
    NUM_GPU_PER_NODE overrides ``num_gpus`` and WORLD_SIZE (every process) implies the node count.
    Without CUDA, ``num_gpus > 1`` means that many CPU processes communicating with gloo."""
    cuda = torch.cuda.is_available() if cuda is None else cuda
    layout = cluster_layout(env)
    per_node, nodes = _layout_for(train, layout)
    world = per_node * nodes
    if cuda:
        accelerator = "gpu"
        devices: int | list[int] = list(train.gpu_ids) if len(train.gpu_ids) == per_node else per_node
        if isinstance(devices, list) and max(devices) >= torch.cuda.device_count():
            raise EngineError(f"train.gpu_ids {train.gpu_ids} names a GPU that does not exist "
                              f"({torch.cuda.device_count()} visible)")
    else:
        accelerator, devices = "cpu", per_node
    strategy: Any = "auto"
    if world > 1:
        if train.distributed_strategy == "fsdp":
            if not cuda:
                raise EngineError("train.distributed_strategy fsdp needs CUDA GPUs; use ddp on CPU")
            from pytorch_lightning.strategies import FSDPStrategy  # noqa: PLC0415

            strategy = FSDPStrategy(activation_checkpointing_policy=None, cpu_offload=False)
        else:
            from pytorch_lightning.strategies import DDPStrategy  # noqa: PLC0415

            strategy = DDPStrategy(find_unused_parameters=not train.activation_checkpoint,
                                   process_group_backend="nccl" if cuda else "gloo")
    name = "single" if world == 1 else train.distributed_strategy
    plugins = (layout.environment,) if layout.kind != "local" else ()
    return DevicePlan(accelerator=accelerator, devices=devices, num_nodes=nodes, strategy=strategy, world_size=world,
                      strategy_name=name, cluster=layout.kind, global_rank=layout.global_rank, plugins=plugins)


def precision_setup(precision: str, accelerator: str) -> tuple[str, list[Any]]:
    """Lightning precision flag and plugins for ``train.precision``.

    fp16 on CPU gets an explicit CPU GradScaler plugin (Lightning would otherwise silently switch to bf16).
    """
    if precision == "fp32":
        return "32-true", []
    if precision == "bf16":
        if accelerator == "gpu" and not torch.cuda.is_bf16_supported():
            raise EngineError("train.precision bf16 is not supported by this GPU; use fp16 or fp32")
        return "bf16-mixed", []
    if precision == "fp16":
        if accelerator == "cpu":
            from pytorch_lightning.plugins.precision import MixedPrecision  # noqa: PLC0415

            return None, [MixedPrecision("16-mixed", "cpu", scaler=torch.amp.GradScaler("cpu"))]
        return "16-mixed", []
    raise EngineError(f"train.precision must be fp32, fp16 or bf16, got {precision!r}")
