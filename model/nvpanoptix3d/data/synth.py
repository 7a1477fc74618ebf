"""Procedural indoor scenes written in the real 3D-FRONT or Matterport3D on-disk layout (the built-in dataset).

Each scene is a box-shaped room (floor, three walls, ceiling: stuff) with furniture-like boxes and
cylinders (things, several instances per class), seen by a pinhole camera. Images are ray-cast with
numpy (Lambert shading plus a per-class texture so classes are learnable), and the 3D targets are the
room's surfaces voxelised in the camera frustum grid: a truncated unsigned distance field (voxels),
per-voxel semantics and instances, the frustum mask. Output is deterministic for a seed.

    python -m nvpanoptix3d.data.synth OUT --scenes 8 --seed 0 [--size 160x120] [--grid 64] [--voxel-size 0.09]
    python -m nvpanoptix3d.data.synth OUT --format matterport [--native-scale 2]   # same scenes, Matterport files
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from nvpanoptix3d.data.categories import FRONT3D_CATEGORIES, colormap_json
from nvpanoptix3d.data.exrio import write_depth_exr
from nvpanoptix3d.data.layouts import front3d_files, matterport_files
from nvpanoptix3d.data.npzio import save_npz
from nvpanoptix3d.geometry import FRONT3D_INTRINSIC, FrustumGrid, scale_intrinsic

TRUNCATION = 12.0  # voxels, as the published 3D-FRONT distance fields
MATTERPORT_DEPTH_UNITS = 4000.0  # uint16 depth PNG values per metre
WALL, FLOOR, CEILING = 10, 11, 12
# class id -> (shape, (size x, height, size z) ranges in metres)
FURNITURE = {
    1: ("box", (0.8, 1.2), (0.9, 1.8), (0.4, 0.6)),   # cabinet
    2: ("box", (1.4, 2.0), (0.45, 0.6), (1.8, 2.1)),  # bed
    3: ("box", (0.45, 0.55), (0.8, 1.0), (0.45, 0.55)),  # chair
    4: ("box", (1.6, 2.2), (0.7, 0.9), (0.8, 1.0)),   # sofa
    5: ("box", (0.9, 1.4), (0.7, 0.8), (0.7, 1.0)),   # table
    7: ("box", (0.9, 1.3), (0.8, 1.1), (0.45, 0.55)),  # dresser
    8: ("cyl", (0.3, 0.4), (1.2, 1.7), (0.3, 0.4)),   # lamp
    9: ("cyl", (0.5, 0.8), (0.4, 0.9), (0.5, 0.8)),   # other
}
COLORS = {c.id: np.array(c.color, dtype=np.float64) / 255.0 for c in FRONT3D_CATEGORIES}


@dataclass
class Prim:
    kind: str  # plane | box | cyl
    label: int
    instance: int
    lo: np.ndarray  # box: min corner; cyl: (cx, y_top, cz); plane: unused
    hi: np.ndarray  # box: max corner; cyl: (radius, y_bottom, 0); plane: (axis, offset, sign)


def _room(rng: np.random.Generator) -> tuple[list[Prim], dict]:
    width = rng.uniform(3.6, 5.0)
    depth = rng.uniform(4.2, 5.6)
    cam_h = rng.uniform(1.1, 1.5)  # camera height above the floor; y points down
    ceil = rng.uniform(2.5, 2.9)
    floor_y, ceil_y = cam_h, cam_h - ceil
    x0 = -width / 2 + rng.uniform(-0.4, 0.4)
    prims = [
        Prim("plane", FLOOR, 0, np.zeros(3), np.array([1, floor_y, -1.0])),
        Prim("plane", CEILING, 0, np.zeros(3), np.array([1, ceil_y, 1.0])),
        Prim("plane", WALL, 0, np.zeros(3), np.array([2, depth, -1.0])),
        Prim("plane", WALL, 0, np.zeros(3), np.array([0, x0, 1.0])),
        Prim("plane", WALL, 0, np.zeros(3), np.array([0, x0 + width, -1.0])),
    ]
    placed: list[tuple[float, float, float, float]] = []
    instance = 0
    classes = rng.choice(sorted(FURNITURE), size=int(rng.integers(2, 4)), replace=False)
    for label in classes:
        for _ in range(int(rng.integers(1, 3))):
            kind, sx, sy, sz = FURNITURE[int(label)]
            size = np.array([rng.uniform(*sx), rng.uniform(*sy), rng.uniform(*sz)])
            for _attempt in range(20):
                cx = rng.uniform(x0 + size[0] / 2 + 0.05, x0 + width - size[0] / 2 - 0.05)
                cz = rng.uniform(1.4 + size[2] / 2, depth - size[2] / 2 - 0.05)
                box = (cx - size[0] / 2, cx + size[0] / 2, cz - size[2] / 2, cz + size[2] / 2)
                if all(box[1] < b[0] - 0.1 or box[0] > b[1] + 0.1 or box[3] < b[2] - 0.1 or box[2] > b[3] + 0.1
                       for b in placed):
                    break
            else:
                continue
            placed.append(box)
            instance += 1
            if kind == "box":
                prims.append(Prim("box", int(label), instance, np.array([box[0], floor_y - size[1], box[2]]),
                                  np.array([box[1], floor_y, box[3]])))
            else:
                prims.append(Prim("cyl", int(label), instance, np.array([cx, floor_y - size[1], cz]),
                                  np.array([size[0] / 2, floor_y, 0.0])))
    return prims, {"width": width, "depth": depth, "camera_height": cam_h}


def _intersect(prim: Prim, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ray parameter t (inf = miss) and hit normals for rays o=0, direction d (N,3) with d_z = 1."""
    n = d.shape[0]
    t = np.full(n, np.inf)
    normal = np.zeros((n, 3))
    with np.errstate(divide="ignore", invalid="ignore"):
        if prim.kind == "plane":
            axis, offset, sign = int(prim.hi[0]), prim.hi[1], prim.hi[2]
            tt = offset / d[:, axis]
            t = np.where(tt > 1e-6, tt, np.inf)
            normal[:, axis] = sign
        elif prim.kind == "box":
            t1 = prim.lo / d
            t2 = prim.hi / d
            tmin = np.minimum(t1, t2)
            tmax = np.maximum(t1, t2)
            tn = tmin.max(axis=1)
            tf = tmax.min(axis=1)
            hit = (tn <= tf) & (tn > 1e-6)
            t = np.where(hit, tn, np.inf)
            face = tmin.argmax(axis=1)
            normal[np.arange(n), face] = -np.sign(d[np.arange(n), face])
        else:  # vertical cylinder: (x-cx)^2 + (z-cz)^2 = r^2, y in [top, bottom]; plus the top cap
            cx, top, cz = prim.lo
            r, bottom = prim.hi[0], prim.hi[1]
            a = d[:, 0] ** 2 + d[:, 2] ** 2
            b = -2 * (cx * d[:, 0] + cz * d[:, 2])
            c = cx ** 2 + cz ** 2 - r ** 2
            disc = b * b - 4 * a * c
            ts = (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a)
            y = ts * d[:, 1]
            side = (disc >= 0) & (ts > 1e-6) & (y >= top) & (y <= bottom)
            tc = top / d[:, 1]
            px, pz = tc * d[:, 0] - cx, tc * d[:, 2] - cz
            cap = (tc > 1e-6) & (px ** 2 + pz ** 2 <= r * r)
            t = np.where(side, ts, np.inf)
            t = np.where(cap & (tc < t), tc, t)
            p = t[:, None] * d
            normal = np.stack([p[:, 0] - cx, np.zeros(n), p[:, 2] - cz], axis=1) / r
            normal = np.where((cap & (tc <= t))[:, None], np.array([0.0, -1.0, 0.0]), normal)
    return t, normal


def _texture(label: int, p: np.ndarray, tint: float) -> np.ndarray:
    """Per-class colour with a class-specific pattern (stripes/checks), so appearance identifies the class."""
    base = COLORS[label]
    freq = 2.0 + (label % 5) * 1.5
    if label in (WALL, CEILING):
        pattern = 0.5 + 0.5 * np.sign(np.sin(freq * p[:, 1]))
    elif label == FLOOR:
        pattern = 0.5 + 0.5 * np.sign(np.sin(freq * p[:, 0]) * np.sin(freq * p[:, 2]))
    else:
        pattern = 0.5 + 0.5 * np.sign(np.sin(freq * (p[:, 0] + p[:, 1] + p[:, 2])))
    return np.clip(base[None] * (0.75 + 0.25 * pattern[:, None]) * tint, 0, 1)


def render(prims: list[Prim], intrinsic: np.ndarray, size: tuple[int, int], rng: np.random.Generator):
    """RGB uint8 (H,W,3), depth float32 (H,W) metres, semantic and instance int32 (H,W)."""
    w, h = size
    v, u = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    d = np.stack([(u - intrinsic[0, 2]) / intrinsic[0, 0], (v - intrinsic[1, 2]) / intrinsic[1, 1],
                  np.ones_like(u)], axis=-1).reshape(-1, 3)
    best = np.full(d.shape[0], np.inf)
    normal = np.zeros_like(d)
    owner = np.full(d.shape[0], -1)
    for i, prim in enumerate(prims):
        t, nrm = _intersect(prim, d)
        closer = t < best
        best = np.where(closer, t, best)
        normal[closer] = nrm[closer]
        owner[closer] = i
    p = best[:, None] * d
    light = np.array([0.3, -0.8, -0.5])
    light /= np.linalg.norm(light)
    rgb = np.zeros_like(d)
    semantic = np.zeros(d.shape[0], dtype=np.int32)
    instance = np.zeros(d.shape[0], dtype=np.int32)
    tints = rng.uniform(0.85, 1.15, size=len(prims))
    for i, prim in enumerate(prims):
        sel = owner == i
        if not sel.any():
            continue
        shade = 0.45 + 0.55 * np.clip(np.abs(normal[sel] @ light), 0, 1)
        rgb[sel] = _texture(prim.label, p[sel], tints[i]) * shade[:, None]
        semantic[sel] = prim.label
        instance[sel] = prim.instance
    rgb = np.clip(rgb + rng.normal(0, 0.01, rgb.shape), 0, 1)
    depth = np.where(np.isfinite(best), best, 0.0)  # d_z = 1, so t is the depth
    shape = (h, w)
    return ((rgb * 255).round().astype(np.uint8).reshape(h, w, 3), depth.reshape(shape).astype(np.float32),
            semantic.reshape(shape), instance.reshape(shape))


def voxelize(prims: list[Prim], grid: FrustumGrid):
    """Truncated unsigned distance (voxels), semantic and instance volumes, (x, y, z) axes, in ``grid``'s placement
    (NVIDIA's: each voxel centred on the point NVIDIA's lifting samples for it; see geometry.frustum)."""
    c = grid.voxel_centers().astype(np.float64)
    half = grid.voxel_size * 0.5
    surface = np.zeros(grid.dims, dtype=bool)
    sem = np.zeros(grid.dims, dtype=np.int32)
    ins = np.zeros(grid.dims, dtype=np.int32)
    inside_any = np.zeros(grid.dims, dtype=bool)
    for prim in prims[5:]:  # things first carve the free space they occupy
        if prim.kind == "box":
            solid = np.all((c >= prim.lo - half) & (c <= prim.hi + half), axis=-1)
        else:
            cx, top, cz = prim.lo
            r, bottom = prim.hi[0], prim.hi[1]
            solid = ((c[..., 0] - cx) ** 2 + (c[..., 2] - cz) ** 2 <= (r + half) ** 2) & (c[..., 1] >= top - half) \
                & (c[..., 1] <= bottom + half)
        shell = solid & ~ndimage.binary_erosion(solid)
        surface |= shell
        sem[shell], ins[shell] = prim.label, prim.instance
        inside_any |= solid
    for prim in prims[:5]:
        axis, offset, _sign = int(prim.hi[0]), prim.hi[1], prim.hi[2]
        plane = (np.abs(c[..., axis] - offset) <= half) & ~inside_any
        surface |= plane
        sem[plane & (sem == 0)] = prim.label
    dist, idx = ndimage.distance_transform_edt(~surface, return_indices=True)
    tudf = np.minimum(dist, TRUNCATION).astype(np.float32)
    near = dist <= 1.0
    sem_full = np.where(near, sem[idx[0], idx[1], idx[2]], 0).astype(np.int32)
    ins_full = np.where(near, ins[idx[0], idx[1], idx[2]], 0).astype(np.int32)
    return tudf, sem_full, ins_full


def to_front3d_axes(volume: np.ndarray) -> np.ndarray:
    """Our (x, y, z) grid -> the published 3D-FRONT volume orientation (axes 0 and 1 reversed)."""
    return np.ascontiguousarray(volume[::-1, ::-1])


def _png(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    Image.fromarray(array).save(tmp, format="PNG", optimize=False)
    os.replace(tmp, path)


def generate(out_dir: str | Path, scenes: int = 8, seed: int = 0, fmt: str = "front3d",
             size: tuple[int, int] = (160, 120), grid: int = 64, voxel_size: float = 0.09,
             depth_min: float = 0.4, depth_max: float = 6.0, views: int = 1, native_scale: int | None = None,
             reduced_size: tuple[int, int] | None = None) -> dict:
    """Write a dataset; returns its synth_info (also written to meta/synth_info.json).

    ``size`` is the network input size the grid is built for. 3D-FRONT frames are stored at ``size``;
    Matterport frames at ``native_scale`` x ``size`` (default 2: 320x240 for the default 160x120, the
    published Matterport frame size) with a slightly different camera per image, so loaders must read and
    rescale per-image intrinsics. ``reduced_size`` (default ``size``) is the spec's
    ``dataset.reduced_target_size``: the volumes are placed where the 3D stage lifting at that size puts the
    image's content (NVIDIA's frustum box depends on it), so train with the same value.
    """
    if fmt not in ("front3d", "matterport"):
        raise ValueError(f"synthetic format `{fmt}` is not supported; choose front3d or matterport")
    matterport = fmt == "matterport"
    scale = native_scale if native_scale is not None else (2 if matterport else 1)
    if scale < 1:
        raise ValueError(f"native_scale must be >= 1, got {scale}")
    if not matterport and scale != 1:
        raise ValueError("front3d frames are stored at the network size; native_scale applies to matterport only")
    out = Path(out_dir)
    (out / "meta").mkdir(parents=True, exist_ok=True)
    intrinsic = scale_intrinsic(FRONT3D_INTRINSIC, (320, 240), size)
    native = (size[0] * scale, size[1] * scale)
    reduced = tuple(reduced_size) if reduced_size is not None else tuple(size)
    fgrid = FrustumGrid.cube(grid, voxel_size, depth_min, depth_max, intrinsic=intrinsic, image_size=size,
                             reduced_size=reduced)
    frustum = fgrid.frustum_mask()
    save_npz(out / "meta" / "frustum_mask.npz", mask=frustum if matterport else to_front3d_axes(frustum))
    (out / "meta" / "colormap.json").write_text(colormap_json())
    samples, images = [], []
    for s in range(scenes):
        rng = np.random.default_rng([seed, s])
        prims, _room_info = _room(rng)
        scene_id = f"synth-{seed:04d}-{s:04d}"
        # 3D-FRONT views share the camera, so the scene is voxelised once; Matterport views per camera
        tudf, sem3, ins3 = voxelize(prims, fgrid) if not matterport else (None, None, None)
        weighting = np.where(tudf < 3.0, 2.0, 1.0).astype(np.float32) if not matterport else None
        for view in range(views):
            view_rng = np.random.default_rng([seed, s, view])
            if matterport:
                row, rgb_path = _write_matterport_view(out, scene_id, s, view, seed, prims, intrinsic, size, native,
                                                       fgrid, depth_min, depth_max, view_rng)
            else:
                row, rgb_path = _write_front3d_view(out, scene_id, view, prims, intrinsic, size, tudf, sem3, ins3,
                                                    weighting, depth_min, depth_max, view_rng)
            samples.append(row)
            images.append(rgb_path)
    n_val = max(1, scenes // 6) if scenes >= 3 else 0
    val_scenes = {f"synth-{seed:04d}-{s:04d}" for s in range(scenes - 2 * n_val, scenes - n_val)}
    test_scenes = {f"synth-{seed:04d}-{s:04d}" for s in range(scenes - n_val, scenes)}
    splits = {
        "train": [x for x in samples if x["scene_id"] not in val_scenes | test_scenes],
        "val": [x for x in samples if x["scene_id"] in val_scenes] or samples[:1],
        "test": [x for x in samples if x["scene_id"] in test_scenes] or samples[:1],
    }
    for name, rows in splits.items():
        (out / "meta" / f"{name}.json").write_text(json.dumps(rows, indent=1) + "\n")
    info = {"format": fmt, "scenes": scenes, "views": views, "seed": seed, "size": list(size),
            "reduced_size": list(reduced), "grid": grid,
            "voxel_size": voxel_size, "depth_min": depth_min, "depth_max": depth_max,
            "intrinsic": intrinsic.round(6).tolist(), "truncation": TRUNCATION,
            "note": "3D volumes use the 3D-FRONT orientation (axes 0,1 reversed w.r.t. the camera grid)"}
    if matterport:
        info.update({"native_size": list(native), "downsample_factor": 2,
                     "depth_units_per_metre": int(MATTERPORT_DEPTH_UNITS),
                     "note": "per-image intrinsics for native_size in <name>_intrinsics_<angle>.npy; volumes in the "
                             "camera-grid orientation; geometry `mask` = voxels outside the frustum"})
    (out / "meta" / "synth_info.json").write_text(json.dumps(info, indent=1) + "\n")
    _write_images_archive(out, images)
    return info


def _write_front3d_view(out: Path, scene_id: str, view: int, prims: list[Prim], intrinsic: np.ndarray,
                        size: tuple[int, int], tudf: np.ndarray, sem3: np.ndarray, ins3: np.ndarray,
                        weighting: np.ndarray, depth_min: float, depth_max: float,
                        rng: np.random.Generator) -> tuple[dict, Path]:
    row = {"scene_id": scene_id, "image_id": f"{view:04d}", "height": size[1], "width": size[0]}
    files = front3d_files(out, row)
    files.rgb.parent.mkdir(parents=True, exist_ok=True)
    rgb, depth, sem, ins = render(prims, intrinsic, size, rng)
    depth = np.where((depth >= depth_min) & (depth <= depth_max), depth, 0).astype(np.float32)
    _png(files.rgb, rgb)
    write_depth_exr(files.depth, depth)
    save_npz(files.segmap, data=np.stack([sem, ins], axis=-1).astype(np.int32))
    save_npz(files.geometry, data=to_front3d_axes(tudf))
    seg = np.stack([sem3, ins3]).astype(np.int32)
    save_npz(files.segmentation, data=np.ascontiguousarray(seg[:, ::-1, ::-1]))
    save_npz(files.weighting, data=to_front3d_axes(weighting))
    return row, files.rgb


def _write_matterport_view(out: Path, scene_id: str, s: int, view: int, seed: int, prims: list[Prim],
                           intrinsic: np.ndarray, size: tuple[int, int], native: tuple[int, int], fgrid: FrustumGrid,
                           depth_min: float, depth_max: float, rng: np.random.Generator) -> tuple[dict, Path]:
    """One view in the Matterport layout: its own camera (focal and principal point jittered), 16-bit depth, and
    its volumes voxelised in that camera's placement."""
    name = hashlib.sha1(f"synth-{seed}-{s}-{view}".encode()).hexdigest()[:32]
    angle, rot = view % 3, (view // 3) % 6
    row = {"scene_id": scene_id, "image_id": f"{name}_{angle}_{rot}", "height": native[1], "width": native[0]}
    files = matterport_files(out, row)
    for folder in {files.rgb.parent, files.depth.parent, files.room_mask.parent}:
        folder.mkdir(parents=True, exist_ok=True)
    cam_rng = np.random.default_rng([seed, s, view, 2])
    k = scale_intrinsic(intrinsic, size, native)
    k[0, 0] *= cam_rng.uniform(0.93, 1.07)
    k[1, 1] = k[0, 0] * cam_rng.uniform(0.99, 1.01)
    k[0, 2] += cam_rng.uniform(-0.02, 0.02) * native[0]
    k[1, 2] += cam_rng.uniform(-0.02, 0.02) * native[1]
    rgb, depth, sem, ins = render(prims, k, native, rng)
    depth = np.where((depth >= depth_min) & (depth <= depth_max), depth, 0)
    view_grid = fgrid.with_camera(k, native)
    tudf, sem3, ins3 = voxelize(prims, view_grid)
    weighting = np.where(tudf < 3.0, 2.0, 1.0).astype(np.float32)
    tmp = files.rgb.with_name(f".{files.rgb.name}.tmp")
    Image.fromarray(rgb).save(tmp, format="JPEG", quality=95)
    os.replace(tmp, files.rgb)
    np.save(files.intrinsic, k.astype(np.float32).reshape(-1), allow_pickle=False)
    _png(files.depth, np.round(depth * MATTERPORT_DEPTH_UNITS).astype(np.uint16))
    _png(files.room_mask, np.where(sem > 0, 255, 0).astype(np.uint8))
    save_npz(files.segmap, data=np.stack([sem, ins], axis=-1).astype(np.int32))
    save_npz(files.geometry, data=tudf, mask=~view_grid.frustum_mask())
    save_npz(files.segmentation, data=np.stack([sem3, ins3]).astype(np.int32))
    save_npz(files.weighting, data=weighting)
    return row, files.rgb


def _write_images_archive(out: Path, images: list[Path]) -> None:
    """images.tar.gz with images/<scene>/<rgb file>, byte-identical across runs."""
    tmp = out / ".images.tar.gz.tmp"
    import gzip

    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for src in sorted(images, key=lambda p: (p.parent.name, p.name)):
            data = src.read_bytes()
            info = tarfile.TarInfo(f"images/{src.parent.name}/{src.name}")
            info.size, info.mtime, info.mode, info.uid, info.gid = len(data), 0, 0o644, 0, 0
            tar.addfile(info, io.BytesIO(data))
    os.replace(tmp, out / "images.tar.gz")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 160x120, got {text!r}") from None
    if w < 16 or h < 16:
        raise argparse.ArgumentTypeError("size must be at least 16x16")
    return w, h


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nvpanoptix3d.data.synth", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--scenes", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--views", type=int, default=1, help="images per scene")
    parser.add_argument("--format", dest="fmt", default="front3d", choices=["front3d", "matterport"])
    parser.add_argument("--size", type=_size, default=(160, 120), help="WxH")
    parser.add_argument("--grid", type=int, default=64, help="voxels per side of the frustum grid")
    parser.add_argument("--voxel-size", type=float, default=0.09, help="metres")
    parser.add_argument("--reduced-size", type=_size, default=None,
                        help="WxH the 3D stage lifts at (the spec's dataset.reduced_target_size; default --size): "
                             "the volumes are placed for it")
    parser.add_argument("--native-scale", type=int, default=None,
                        help="matterport only: frames are stored at this multiple of --size (default 2)")
    args = parser.parse_args(argv)
    if args.scenes < 1:
        parser.error("--scenes must be >= 1")
    start = time.perf_counter()
    try:
        info = generate(args.out, args.scenes, args.seed, args.fmt, args.size, args.grid, args.voxel_size,
                        views=args.views, native_scale=args.native_scale, reduced_size=args.reduced_size)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    n = info["scenes"] * info["views"]
    stored = info.get("native_size", info["size"])
    print(f"wrote {n} samples ({info['format']} layout, {stored[0]}x{stored[1]} on disk, network size "
          f"{info['size'][0]}x{info['size'][1]}, grid {info['grid']}^3 at {info['voxel_size']} m) "
          f"to {args.out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
