"""Writers of inference results: panoptic PNGs, depth maps, 3D volumes and a coloured PLY mesh.

Every file is written atomically. The mesh is the iso-surface (marching cubes, scikit-image) of the
predicted distance field at ``iso_value`` voxels, in camera coordinates (metres; x right, y down,
z forward), each vertex coloured by the panoptic segment of its nearest voxel.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from nvpanoptix3d.engine.fsutil import atomic_write_bytes
from nvpanoptix3d.geometry import FrustumGrid


def _png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buf, format="PNG")
    return buf.getvalue()


def segment_colors(segments: list[dict], class_colors: dict[int, tuple[int, int, int]]) -> dict[int, np.ndarray]:
    """A colour per segment id: the class colour, shifted per instance so touching things stay apart."""
    out = {0: np.zeros(3, dtype=np.uint8)}
    for i, seg in enumerate(segments):
        base = np.array(class_colors.get(seg["category_id"], (200, 200, 200)), dtype=np.int32)
        if seg.get("isthing"):
            rng = np.random.default_rng(seg["id"] * 7 + i)
            base = np.clip(base + rng.integers(-40, 41, size=3), 0, 255)
        out[seg["id"]] = base.astype(np.uint8)
    return out


def colorize(ids: np.ndarray, colors: dict[int, np.ndarray]) -> np.ndarray:
    lut_size = int(max(colors) if colors else 0) + 1
    lut = np.zeros((max(lut_size, int(ids.max(initial=0)) + 1), 3), dtype=np.uint8)
    for k, c in colors.items():
        lut[k] = c
    return lut[np.clip(ids, 0, None)]


def write_panoptic_png(path: Path, panoptic: np.ndarray) -> None:
    """Segment ids (H, W) as a 16-bit grayscale PNG (0 = no segment)."""
    if panoptic.max(initial=0) > 65535:
        raise ValueError(f"{path}: more than 65535 segments")
    atomic_write_bytes(path, _png_bytes(panoptic.astype(np.uint16)))


def write_color_png(path: Path, rgb: np.ndarray) -> None:
    atomic_write_bytes(path, _png_bytes(rgb.astype(np.uint8), "RGB"))


def write_depth(path_npy: Path, path_png: Path | None, depth: np.ndarray) -> None:
    """Depth in metres as float32 ``.npy``; optionally also a 16-bit PNG in millimetres (0 = invalid)."""
    buf = io.BytesIO()
    np.save(buf, depth.astype(np.float32))
    atomic_write_bytes(path_npy, buf.getvalue())
    if path_png is not None:
        mm = np.clip(np.round(depth * 1000.0), 0, 65535).astype(np.uint16)
        atomic_write_bytes(path_png, _png_bytes(mm))


def write_volumes(path: Path, *, geometry: np.ndarray, semantic: np.ndarray, instance: np.ndarray,
                  panoptic: np.ndarray, grid: FrustumGrid, intrinsic: np.ndarray) -> None:
    """The 3D volumes (X, Y, Z) as a compressed ``.npz`` with the grid placement (origin, voxel_size)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, geometry=geometry.astype(np.float32), semantic=semantic.astype(np.int32),
                        instance=instance.astype(np.int32), panoptic=panoptic.astype(np.int32),
                        origin=grid.origin.astype(np.float32), voxel_size=np.float32(grid.voxel_size),
                        intrinsic=intrinsic.astype(np.float32))
    atomic_write_bytes(path, buf.getvalue())


def mesh_from_volume(geometry: np.ndarray, panoptic: np.ndarray, colors: dict[int, np.ndarray], *,
                     iso_value: float, grid: FrustumGrid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vertices (V, 3) float32 metres in camera space, faces (F, 3) int32, colours (V, 3) uint8)."""
    from skimage.measure import marching_cubes  # noqa: PLC0415

    far = float(max(geometry.max(initial=0.0), iso_value + 1.0))
    padded = np.pad(geometry.astype(np.float32), 1, constant_values=far)
    if padded.min() >= iso_value:
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32), np.zeros((0, 3), np.uint8)
    verts, faces, _normals, _values = marching_cubes(padded, level=iso_value)
    verts -= 1.0  # undo the padding
    idx = np.clip(np.round(verts).astype(np.int64), 0, np.array(geometry.shape) - 1)
    labels = panoptic[idx[:, 0], idx[:, 1], idx[:, 2]]
    vcolors = colorize(labels, colors)
    unlabeled = labels == 0
    vcolors[unlabeled] = 160
    cam = (verts + 0.5) * grid.voxel_size + grid.origin  # voxel i's centre is at (i + 0.5) * size + origin
    return cam.astype(np.float32), faces.astype(np.int32), vcolors


def write_ply(path: Path, vertices: np.ndarray, faces: np.ndarray, colors: np.ndarray) -> None:
    """Binary little-endian PLY with per-vertex colour."""
    header = ("ply\nformat binary_little_endian 1.0\ncomment NVPanoptix3D inference mesh (camera frame, metres)\n"
              f"element vertex {len(vertices)}\nproperty float x\nproperty float y\nproperty float z\n"
              "property uchar red\nproperty uchar green\nproperty uchar blue\n"
              f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n").encode("ascii")
    vdt = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("r", "u1"), ("g", "u1"), ("b", "u1")])
    v = np.empty(len(vertices), dtype=vdt)
    if len(vertices):
        v["x"], v["y"], v["z"] = vertices[:, 0], vertices[:, 1], vertices[:, 2]
        v["r"], v["g"], v["b"] = colors[:, 0], colors[:, 1], colors[:, 2]
    fdt = np.dtype([("n", "u1"), ("i", "<i4", (3,))])
    f = np.empty(len(faces), dtype=fdt)
    if len(faces):
        f["n"] = 3
        f["i"] = faces
    atomic_write_bytes(path, header + v.tobytes() + f.tobytes())


def read_ply(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read back a PLY written by :func:`write_ply` (for tests and tools)."""
    data = Path(path).read_bytes()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    head = data[:end].decode("ascii").splitlines()
    nv = int(next(line.split()[-1] for line in head if line.startswith("element vertex")))
    nf = int(next(line.split()[-1] for line in head if line.startswith("element face")))
    vdt = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("r", "u1"), ("g", "u1"), ("b", "u1")])
    fdt = np.dtype([("n", "u1"), ("i", "<i4", (3,))])
    v = np.frombuffer(data, dtype=vdt, count=nv, offset=end)
    f = np.frombuffer(data, dtype=fdt, count=nf, offset=end + nv * vdt.itemsize)
    return (np.stack([v["x"], v["y"], v["z"]], 1), f["i"].copy(), np.stack([v["r"], v["g"], v["b"]], 1))
