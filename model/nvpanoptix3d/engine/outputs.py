"""Inference outputs per image: 2D panoptic PNG, depth, 3D volumes (.npz) and a PLY mesh coloured by label."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from nvpanoptix3d.data.npzio import save_npz


def palette(n: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    colors = rng.integers(40, 256, size=(max(n, 1) + 1, 3)).astype(np.uint8)
    colors[0] = 0
    return colors


def write_panoptic_png(path: Path, panoptic: np.ndarray) -> None:
    ids = panoptic.astype(np.int64)
    colors = palette(int(ids.max()) if ids.size else 0)
    Image.fromarray(colors[np.clip(ids, 0, len(colors) - 1)]).save(path)


def write_mesh_ply(path: Path, geometry: np.ndarray, panoptic: np.ndarray, *, iso: float, voxel_size: float,
                   origin: np.ndarray) -> int:
    """Marching cubes (scikit-image) of the distance field at ``iso``; vertices in camera metres; returns #faces."""
    from skimage.measure import marching_cubes  # noqa: PLC0415

    if not (geometry < iso).any() or not (geometry > iso).any():
        verts = np.zeros((0, 3))
        faces = np.zeros((0, 3), dtype=np.int64)
    else:
        verts, faces, _normals, _values = marching_cubes(geometry.astype(np.float32), level=iso)
    idx = np.clip(np.round(verts).astype(int), 0, np.array(geometry.shape) - 1)
    labels = panoptic[idx[:, 0], idx[:, 1], idx[:, 2]] if len(verts) else np.zeros(0, int)
    colors = palette(int(panoptic.max()) if panoptic.size else 0)[np.clip(labels, 0, None)]
    xyz = origin + (verts + 0.5) * voxel_size
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as fh:
        fh.write(f"ply\nformat ascii 1.0\nelement vertex {len(xyz)}\nproperty float x\nproperty float y\n"
                 f"property float z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\n"
                 f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n")
        for p, c in zip(xyz, colors):
            fh.write(f"{p[0]:.4f} {p[1]:.4f} {p[2]:.4f} {c[0]} {c[1]} {c[2]}\n")
        for f in faces:
            fh.write(f"3 {f[0]} {f[1]} {f[2]}\n")
    os.replace(tmp, path)
    return len(faces)


def write_index(path: Path, entries: list[dict]) -> None:
    tmp = path.with_name(".index.json.tmp")
    tmp.write_text(json.dumps(entries, indent=1) + "\n")
    os.replace(tmp, path)


def write_volumes(path: Path, result: dict) -> None:
    save_npz(path, geometry=result["geometry"].float().numpy(), semantic=result["semantic"].numpy().astype(np.int32),
             instance=result["instance"].numpy().astype(np.int32), panoptic=result["panoptic"].numpy().astype(np.int32))
