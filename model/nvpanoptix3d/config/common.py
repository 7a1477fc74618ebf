"""Top-level keys shared by every action, and the Weights & Biases section."""

from __future__ import annotations

from nvpanoptix3d.config.fields import SpecSection, tao_field


class WandBConfig(SpecSection):
    """Experiment tracking with Weights & Biases through Lightning's WandbLogger (needs the `wandb` package:
    ``pip install 'tao-skill-bank[wandb]'``; offline into ``results_dir/wandb`` unless WANDB_API_KEY is set)."""

    enable: bool = tao_field(True, "Log to Weights & Biases when the wandb package is installed: offline "
                                   "(results_dir/wandb) unless WANDB_API_KEY is set.")
    project: str = tao_field("TAO Toolkit", "W&B project name.")
    entity: str = tao_field("", "W&B entity (team or user); empty uses the logged-in default.",
                          nullable=True)
    group: str = tao_field("", "W&B run group.", nullable=True)
    name: str = tao_field("TAO Toolkit Training", "W&B run name.")
    tags: list[str] = tao_field(["tao-toolkit"], "W&B run tags.", automl="disabled")
    reinit: bool = tao_field(False, "Allow several W&B runs in one process.")
    sync_tensorboard: bool = tao_field(False, "Mirror TensorBoard logs to W&B.")
    save_code: bool = tao_field(False, "Upload the code with the run.")
    run_id: str = tao_field("", "Resume this W&B run id; empty starts a new run.")
