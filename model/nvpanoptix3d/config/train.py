"""`train` section: optimisation, schedule, precision, devices, checkpoints and resume."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nvpanoptix3d.config.fields import SpecSection, tao_field


class CudnnConfig(SpecSection):
    benchmark: bool = tao_field(False, "Let cuDNN pick the fastest kernels (non-deterministic).")
    deterministic: bool = tao_field(True, "Use deterministic cuDNN kernels.")


class OptimConfig(SpecSection):
    """AdamW with a backbone learning-rate multiplier and a MultiStep or warm-up-poly schedule."""

    type: Literal["AdamW"] = tao_field("AdamW", "Optimiser.")
    monitor_name: Literal["val_loss", "train_loss", "PRQ", "RSQ", "RRQ", "PQ"] = tao_field(
        "val_loss", "Metric that selects the best checkpoint (PRQ/RSQ/RRQ/PQ are ours; KPIs are maximised, losses minimised)."
    )
    lr: float = tao_field(
        2e-4, "Base learning rate.", popular=True, automl="default", log_scale=True, math_cond="> 0.0",
        ge=1e-6, le=1e-2,
    )
    backbone_multiplier: float = tao_field(
        0.1, "Learning-rate factor of the backbone parameters.", automl="default", log_scale=True,
        math_cond="> 0.0", ge=0.01, le=1.0,
    )
    momentum: float = tao_field(0.9, "AdamW beta1.", math_cond="> 0.0", ge=0.5, le=0.999)
    weight_decay: float = tao_field(
        0.05, "AdamW weight decay (0 for norms and embeddings).", automl="default", log_scale=True,
        math_cond="> 0.0", ge=1e-4, le=0.5,
    )
    lr_scheduler: Literal["MultiStep", "Warmuppoly", "WarmupPoly"] = tao_field(
        "MultiStep",
        "Schedule: MultiStep (per epoch, at milestones) or Warmuppoly (per step, linear warm-up then poly 0.9); "
        "WarmupPoly is accepted as spelled in NVIDIA's shipped specs.",
        option_weights={"MultiStep": 0.5, "Warmuppoly": 0.5, "WarmupPoly": 0.0},
    )
    milestones: list[int] = tao_field(
        [88, 96], "Epochs at which MultiStep multiplies the learning rate by gamma.", automl="disabled",
        depends_on=["train.optim.lr_scheduler == 'MultiStep'"],
    )
    gamma: float = tao_field(0.1, "MultiStep decay factor.", math_cond="> 0.0", gt=0.0, le=1.0,
                             depends_on=["train.optim.lr_scheduler == 'MultiStep'"])
    max_steps: int = tao_field(160000, "Stop after this many optimiser steps.", popular=True, math_cond="> 0", ge=1)
    warmup_factor: float = tao_field(
        1.0, "Starting learning-rate factor of the linear warm-up.", math_cond="> 0.0", gt=0.0, le=1.0,
        depends_on=["train.optim.lr_scheduler in ['Warmuppoly', 'WarmupPoly']"],
    )
    warmup_iters: int = tao_field(
        0, "Warm-up steps (0 = none).", math_cond=">= 0", ge=0,
        depends_on=["train.optim.lr_scheduler in ['Warmuppoly', 'WarmupPoly']"],
    )


class TrainConfig(SpecSection):
    """Training run settings."""

    num_gpus: int = tao_field(1, "GPUs per node (CPU processes when no GPU is present).", popular=True, ge=1)
    gpu_ids: list[int] = tao_field([0], "GPU indices to use on this node.", popular=True, automl="disabled", min_length=1)
    num_nodes: int = tao_field(1, "Machines in the run.", popular=True, ge=1)
    seed: int = tao_field(1234, "Random seed; negative disables seeding.", ge=-1)
    cudnn: CudnnConfig = Field(default_factory=CudnnConfig)
    num_epochs: int = tao_field(10, "Training epochs.", popular=True, ge=1)
    checkpoint_interval: int = tao_field(1, "Save a checkpoint every this many epochs (or steps, see unit).", popular=True, ge=1)
    checkpoint_interval_unit: Literal["epoch", "step"] = tao_field("epoch", "Unit of checkpoint_interval.")
    validation_interval: int = tao_field(1, "Validate every this many epochs.", popular=True, ge=1)
    resume_training_checkpoint_path: str = tao_field(
        "", "Checkpoint to resume from exactly (optimiser, schedule, epoch, step, RNG).", path="file", nullable=True
    )
    results_dir: str = tao_field("", "Overrides the top-level results_dir for training.", nullable=True)
    checkpoint_2d: str = tao_field("", "2D-stage checkpoint that initialises the 2D stage.", path="file")
    checkpoint_3d: str = tao_field("", "3D-stage checkpoint that initialises the 3D stage.", path="file")
    val_check_interval: int = tao_field(5, "Steps between validation checks within an epoch (Lightning).", ge=1)
    freeze: list[str] = tao_field([], "Module name prefixes whose parameters are frozen.", automl="disabled",
                                 nullable=True)
    clip_grad_norm: float = tao_field(0.1, "Gradient-norm clipping threshold (0 disables).", math_cond="> 0.0", ge=0.0)
    clip_grad_norm_type: float = tao_field(2.0, "Norm type of gradient clipping.", gt=0.0)
    clip_grad_type: Literal["full", "norm", "value"] = tao_field("full", "Clip the whole model's gradient norm, per-norm or by value.")
    is_dry_run: bool = tao_field(False, "Run one batch of train and validation, then stop.")
    precision: Literal["fp32", "fp16", "bf16"] = tao_field(
        "fp32", "Numeric precision: fp32, fp16 (mixed, with loss scaling) or bf16 (mixed).", popular=True,
        option_weights={"fp32": 1.0, "fp16": 0.0, "bf16": 0.0},
    )
    distributed_strategy: Literal["ddp", "fsdp"] = tao_field(
        "ddp", "Multi-device strategy: ddp (replicated model) or fsdp (sharded, for the full model on many GPUs)."
    )
    activation_checkpoint: bool = tao_field(True, "Recompute activations in backward to save memory.")
    verbose: bool = tao_field(False, "Verbose logs.")
    iters_per_epoch: int = tao_field(-1, "Steps per epoch; -1 (or null) uses the whole training split.", ge=-1,
                                      nullable=True)
    optim: OptimConfig = Field(default_factory=OptimConfig)
