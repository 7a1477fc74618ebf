"""Datasets (3D-FRONT and Matterport3D layouts, synthetic sets), inference image folders, the synthetic generator and checks."""

from __future__ import annotations

from typing import Any

import torch

from nvpanoptix3d.data.categories import FRONT3D_CATEGORIES, Category, DataError, load_colormap
from nvpanoptix3d.data.options import DatasetOptions, options_from_spec

_LIST_KEYS = ("gt_classes", "gt_masks", "gt_masks_3d", "meta", "occupancy")


def build_dataset(options: DatasetOptions):
    """The dataset of a split; ``dataset.name`` picks the on-disk layout (matterport, else 3D-FRONT)."""
    if options.name == "matterport":
        from nvpanoptix3d.data.matterport import MatterportDataset  # noqa: PLC0415

        return MatterportDataset(options)
    from nvpanoptix3d.data.front3d import Front3DDataset  # noqa: PLC0415

    return Front3DDataset(options)


def collate(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack fixed-size tensors; keep variable-size targets and metadata as per-sample lists."""
    out: dict[str, Any] = {}
    for key in batch[0]:
        values = [b[key] for b in batch]
        if key in _LIST_KEYS or not isinstance(values[0], torch.Tensor):
            out[key] = values
        else:
            out[key] = torch.stack(values)
    return out


__all__ = ["Category", "DataError", "DatasetOptions", "FRONT3D_CATEGORIES", "build_dataset", "collate",
           "load_colormap", "options_from_spec"]
