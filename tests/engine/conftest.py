"""Shared fixtures: one tiny synthetic dataset and two tiny trained checkpoints (2D, 3D) per session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from nvpanoptix3d.entrypoint import main as entrypoint_main

TINY_MODEL = {
    "object_mask_threshold": 0.3,
    "backbone": {"preset": "tiny"},
    "sem_seg_head": {"convs_dim": 32, "mask_dim": 32, "depth_dim": 32, "transformer_enc_layers": 1},
    "mask_former": {"num_object_queries": 12, "hidden_dim": 32, "nheads": 4, "dim_feedforward": 64,
                    "transformer_dim_feedforward": 64, "dec_layers": 2, "train_num_points": 512,
                    "size_divisibility": -1},
    "frustum3d": {"backend": "dense", "grid_dimensions": 32, "frustum_dims": 32, "unet_features": 4,
                  "unet_output_channels": 4,
                  "iso_recon_value": 1.0},
    "projection": {"voxel_size": 0.18, "depth_feature_dim": 8, "depth_bins": 16},
}


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """6 synthetic 160x120 scenes with a 32^3 grid at 0.18 m (train 4 / val 1 / test 1)."""
    out = tmp_path_factory.mktemp("data") / "ds"
    subprocess.run([sys.executable, "-m", "nvpanoptix3d.data.synth", str(out), "--scenes", "6", "--seed", "0",
                    "--grid", "32", "--voxel-size", "0.18"], check=True, capture_output=True)
    return out


def make_spec(data: Path, results_dir: Path, **overrides: Any) -> dict[str, Any]:
    """A tiny spec dict for ``data``; overrides are dotted keys."""
    split = lambda name: {"base_dir": str(data), "json_path": str(data / "meta" / f"{name}.json"),  # noqa: E731
                          "batch_size": 2, "num_workers": 0}
    spec: dict[str, Any] = {
        "results_dir": str(results_dir),
        "model": yaml.safe_load(yaml.safe_dump(TINY_MODEL)),
        "dataset": {"name": "front3d", "contiguous_id": True, "enable_3d": False, "target_size": [160, 120],
                    "reduced_target_size": [80, 60], "depth_size": [120, 160], "min_instance_pixels": 20,
                    "label_map": str(data / "meta" / "colormap.json"),
                    "frustum_mask_path": str(data / "meta" / "frustum_mask.npz"),
                    "train": split("train"), "val": split("val"), "test": split("test")},
        "train": {"num_epochs": 2, "activation_checkpoint": False, "clip_grad_norm": 1.0,
                  "optim": {"lr": 0.001, "backbone_multiplier": 0.5, "weight_decay": 0.0001}},
    }
    for key, value in overrides.items():
        node = spec
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return spec


def write_spec(path: Path, spec: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(spec))
    return path


def run_action(action: str, spec_path: Path, *overrides: str) -> int:
    """The entrypoint in-process (exit code)."""
    return entrypoint_main([action, "-e", str(spec_path), *overrides])


def run_subprocess(action: str, spec_path: Path, *overrides: str, env: dict | None = None,
                   timeout: float = 240) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "nvpanoptix3d.entrypoint", action, "-e", str(spec_path), *overrides],
                          capture_output=True, text=True, timeout=timeout, env=full_env)


@pytest.fixture(scope="session")
def trained_2d(tiny_data, tmp_path_factory) -> Path:
    """results folder of a 2-epoch 2D-stage run (checkpoints every epoch)."""
    res = tmp_path_factory.mktemp("train2d")
    spec = write_spec(res / "spec.yaml", make_spec(tiny_data, res))
    assert run_action("train", spec) == 0
    return res


@pytest.fixture(scope="session")
def trained_3d(tiny_data, trained_2d, tmp_path_factory) -> Path:
    """results folder of a 1-epoch 3D-stage run initialised from the 2D run."""
    res = tmp_path_factory.mktemp("train3d")
    spec = write_spec(res / "spec.yaml", make_spec(tiny_data, res, **{
        "dataset.enable_3d": True, "train.num_epochs": 1, "train.checkpoint_2d": str(trained_2d / "latest.pth")}))
    assert run_action("train", spec) == 0
    return res


@pytest.fixture(scope="session")
def trained_3d_sparse(tiny_data, trained_2d, tmp_path_factory) -> Path:
    """results folder of a 1-epoch 3D-stage run with the pure-PyTorch sparse backend."""
    res = tmp_path_factory.mktemp("train3d_sparse")
    spec = write_spec(res / "spec.yaml", make_spec(tiny_data, res, **{
        "dataset.enable_3d": True, "train.num_epochs": 1, "train.checkpoint_2d": str(trained_2d / "latest.pth"),
        "model.frustum3d.backend": "sparse"}))
    assert run_action("train", spec) == 0
    return res
