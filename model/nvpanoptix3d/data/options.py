"""Plain dataset options, read once from the validated spec (the only place the data layer reads config)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DatasetOptions:
    name: str = "front3d"
    base_dir: str = ""
    json_path: str = ""
    frustum_mask_path: str = "meta/frustum_mask.npz"
    label_map: str = ""
    target_size: tuple[int, int] = (320, 240)  # (W, H)
    reduced_target_size: tuple[int, int] = (160, 120)  # (W, H)
    depth_min: float = 0.4
    depth_max: float = 6.0
    downsample_factor: int = 1
    grid_dims: int = 256
    voxel_size: float = 0.03
    truncation: float = 3.0
    truncation_range: tuple[float, float] = (0.0, 12.0)
    occ_truncation_lvl: tuple[float, float] = (8.0, 6.0)
    iso_value: float = 1.0
    ignore_label: int = 255
    min_instance_pixels: int = 200
    num_thing_classes: int = 9
    num_classes: int = 13
    depth_bins: int = 100
    enable_3d: bool = False
    enable_mp_occ: bool = True
    multiplane_target: str = "nvidia"  # "nvidia" | "surface", see data/targets.py multiplane_occupancy
    max_samples: int = -1

    def resolve(self, path: str) -> Path:
        """A meta path relative to the dataset root (as in NVIDIA's defaults) or absolute."""
        p = Path(path).expanduser()
        return p if p.is_absolute() or p.exists() else Path(self.base_dir) / p


def options_from_spec(spec: Any, split: str) -> DatasetOptions:
    """DatasetOptions of one split (train, val or test) of an ExperimentConfig."""
    ds = spec.dataset
    part = getattr(ds, split)
    return DatasetOptions(
        name=ds.name, base_dir=part.base_dir, json_path=part.json_path, frustum_mask_path=ds.frustum_mask_path,
        label_map=ds.label_map, target_size=tuple(ds.target_size), reduced_target_size=tuple(ds.reduced_target_size),
        depth_min=ds.depth_min, depth_max=ds.depth_max, downsample_factor=ds.downsample_factor,
        grid_dims=spec.model.frustum3d.grid_dimensions, voxel_size=spec.model.projection.voxel_size,
        truncation=spec.model.frustum3d.truncation, truncation_range=tuple(ds.truncation_range),
        occ_truncation_lvl=tuple(ds.occ_truncation_lvl), iso_value=ds.iso_value, ignore_label=ds.ignore_label,
        min_instance_pixels=ds.min_instance_pixels, num_thing_classes=ds.num_thing_classes,
        num_classes=spec.model.sem_seg_head.num_classes, depth_bins=spec.model.projection.depth_bins,
        enable_3d=ds.enable_3d, enable_mp_occ=ds.enable_mp_occ, multiplane_target=ds.multiplane_target,
        max_samples=part.max_samples,
    )
