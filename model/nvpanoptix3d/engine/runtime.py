"""What every action needs before it starts: results folder, logging, the encryption key, devices."""

from __future__ import annotations

import logging
import os
import sys
import warnings
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


def global_rank() -> int:
    for var in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return 0


@dataclass(frozen=True)
class DevicePlan:
    accelerator: str  # "cpu" | "gpu"
    devices: int | list[int]
    num_nodes: int
    strategy: Any  # "auto" or a Lightning strategy object
    world_size: int
    strategy_name: str = "single"

    def describe(self) -> str:
        return (f"{self.accelerator} x {self.devices} per node, {self.num_nodes} node(s), "
                f"world size {self.world_size}, strategy {self.strategy_name}")


def plan_devices(train: Any, env: dict[str, str] | None = None, cuda: bool | None = None) -> DevicePlan:
    """Devices and strategy from ``train.num_gpus/gpu_ids/num_nodes/distributed_strategy`` and the launcher's
    environment (NUM_GPU_PER_NODE overrides num_gpus, WORLD_SIZE implies the node count; MASTER_ADDR,
    MASTER_PORT and NODE_RANK are read by Lightning's cluster environment). Without CUDA, ``num_gpus > 1``
    means that many CPU processes communicating with gloo."""
    env = dict(os.environ if env is None else env)
    cuda = torch.cuda.is_available() if cuda is None else cuda
    per_node = int(env["NUM_GPU_PER_NODE"]) if env.get("NUM_GPU_PER_NODE", "").isdigit() else train.num_gpus
    nodes = train.num_nodes
    if env.get("WORLD_SIZE", "").isdigit() and int(env["WORLD_SIZE"]) > per_node * nodes:
        nodes = max(nodes, int(env["WORLD_SIZE"]) // max(per_node, 1))
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
    return DevicePlan(accelerator=accelerator, devices=devices, num_nodes=nodes, strategy=strategy, world_size=world,
                      strategy_name=name)


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
