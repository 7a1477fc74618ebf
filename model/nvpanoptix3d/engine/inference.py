"""The ``inference`` action: every image under ``inference.images_dir`` through the trained network.

Per image (``<name>`` = its path relative to the images folder, without extension) under
``<results_dir>/inference/``:

* ``<name>_panoptic.png``: 2D segment ids, 16-bit (0 = none); ``<name>_panoptic_color.png``: coloured view
* ``<name>_depth.npy`` (float32 metres) and ``<name>_depth.png`` (16-bit millimetres)
* 3D stage only: ``<name>_volumes.npz`` (geometry, semantic, instance, panoptic (X, Y, Z), origin,
  voxel_size, intrinsic) and ``<name>_mesh.ply`` (iso-surface coloured by panoptic segment)

and ``index.json`` listing every image, its files, segments and whether default intrinsics were used.
Intrinsics come from ``<stem>_intrinsic.npy|.txt`` beside an image (3x3 or 4x4), else the dataset default
(3D-FRONT's camera) with a warning. ``images_dir`` may also be a .tar.gz/.tgz/.tar/.zip archive.
"""

from __future__ import annotations

import logging
import tarfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import torch

from nvpanoptix3d.engine.errors import EngineError
from nvpanoptix3d.engine.fsutil import atomic_write_json
from nvpanoptix3d.engine.outputs import (colorize, mesh_from_volume, segment_colors, write_color_png, write_depth,
                                         write_panoptic_png, write_ply, write_volumes)
from nvpanoptix3d.engine.predict import load_for_prediction, run_model, to_cpu_float, to_device
from nvpanoptix3d.engine.progress import StepProgress

log = logging.getLogger("nvpanoptix3d")
ARCHIVES = (".tar.gz", ".tgz", ".tar", ".zip")


def _safe_member(name: str, archive: Path) -> None:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts:
        raise EngineError(f"inference.images_dir archive {archive} has an unsafe member path {name!r}")


def prepare_images_dir(path: str, work: Path) -> Path:
    """The folder to scan: ``path`` itself, or the archive ``path`` extracted (safely) under ``work``."""
    if not path:
        raise EngineError("inference.images_dir is empty: set it to a folder of images or an images archive")
    src = Path(path).expanduser()
    if src.is_dir():
        return src
    if not src.exists():
        raise EngineError(f"inference.images_dir {src} does not exist")
    name = src.name.lower()
    if not name.endswith(ARCHIVES):
        raise EngineError(f"inference.images_dir {src} is a file but not an archive ({', '.join(ARCHIVES)})")
    dest = work / "extracted" / src.name.split(".")[0]
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(src) as zf:
                for n in zf.namelist():
                    _safe_member(n, src)
                zf.extractall(dest)
        else:
            with tarfile.open(src) as tf:
                for m in tf.getmembers():
                    _safe_member(m.name, src)
                tf.extractall(dest, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
        raise EngineError(f"cannot extract inference.images_dir archive {src}: {exc}") from None
    log.info("extracted %s into %s", src, dest)
    return dest


def _unique_names(paths: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for p in paths:
        base = p
        if base in seen:
            seen[base] += 1
            base = f"{p}_{seen[p]}"
        else:
            seen[base] = 0
        out.append(base)
    return out


def run_inference(spec: Any, results_dir: Path) -> dict[str, Any]:
    from torch.utils.data import DataLoader  # noqa: PLC0415

    from nvpanoptix3d.data import FRONT3D_CATEGORIES, collate, load_colormap  # noqa: PLC0415
    from nvpanoptix3d.data.front3d import NATIVE_SIZE  # noqa: PLC0415
    from nvpanoptix3d.data.images import ImageFolderDataset  # noqa: PLC0415
    from nvpanoptix3d.geometry import FRONT3D_INTRINSIC, FrustumGrid  # noqa: PLC0415
    from nvpanoptix3d.network.frustum3d import panoptic_3d  # noqa: PLC0415
    from nvpanoptix3d.network.postprocess import panoptic_2d  # noqa: PLC0415

    inf, ds, m = spec.inference, spec.dataset, spec.model
    out_dir = results_dir / "inference"
    root = prepare_images_dir(inf.images_dir, results_dir)
    dataset = ImageFolderDataset(root, target_size=tuple(ds.target_size), default_intrinsic=FRONT3D_INTRINSIC,
                                 default_size=NATIVE_SIZE)
    model, stage, meta, device = load_for_prediction(spec, "inference")
    cats = load_colormap(ds.label_map) if ds.label_map and Path(ds.label_map).exists() else list(FRONT3D_CATEGORIES)
    class_colors = {c.id: c.color for c in cats}
    # placed per camera where the 3D stage lifts the image (NVIDIA's frustum box at dataset.reduced_target_size)
    grid = FrustumGrid.cube(m.frustum3d.grid_dimensions, m.projection.voxel_size, ds.depth_min, ds.depth_max,
                            reduced_size=tuple(ds.reduced_target_size))
    frustum_cache: dict[bytes, tuple[torch.Tensor, FrustumGrid]] = {}
    names = _unique_names([str(Path(p).relative_to(root).with_suffix("")) for p in dataset.paths])
    loader = DataLoader(dataset, batch_size=inf.batch_size if inf.batch_size > 0 else 1, shuffle=False,
                        collate_fn=collate)
    log.info("inference (%s stage, mode %s) on %d images from %s on %s", stage, inf.mode, len(dataset), root, device)
    index: list[dict[str, Any]] = []
    n_default = 0
    k = 0
    progress = StepProgress("inference", len(dataset))  # TAO_PROGRESS lines when the runner asks
    for batch in loader:
        w, h = batch["image"].shape[-1], batch["image"].shape[-2]
        grids: list[FrustumGrid] = []
        if stage == "3d":
            masks = []
            for kmat in batch["intrinsic"]:
                key = kmat.numpy().tobytes()
                if key not in frustum_cache:
                    placed = grid.with_camera(kmat.numpy(), (w, h))
                    frustum_cache[key] = (torch.from_numpy(placed.frustum_mask()), placed)
                masks.append(frustum_cache[key][0])
                grids.append(frustum_cache[key][1])
            batch["frustum_mask"] = torch.stack(masks)
        outputs = run_model(model, stage, to_device(batch, device))
        outputs = {kk: to_cpu_float(v) for kk, v in outputs.items() if kk != "aux_outputs"}
        for i, info in enumerate(batch["meta"]):
            name = names[k]
            k += 1
            base = out_dir / name
            base.parent.mkdir(parents=True, exist_ok=True)
            p2 = panoptic_2d(outputs["pred_logits"][i], outputs["pred_masks"][i], size=(h, w),
                             num_thing_classes=ds.num_thing_classes, object_mask_threshold=m.object_mask_threshold,
                             overlap_threshold=m.overlap_threshold, mode=inf.mode,
                             depth=outputs["pred_depth"][i], depth_scale=ds.depth_scale)
            pan = p2["panoptic"].numpy()
            files = {"panoptic_2d": f"{name}_panoptic.png", "panoptic_2d_color": f"{name}_panoptic_color.png",
                     "depth_npy": f"{name}_depth.npy", "depth_png": f"{name}_depth.png"}
            write_panoptic_png(out_dir / files["panoptic_2d"], pan)
            write_color_png(out_dir / files["panoptic_2d_color"], colorize(pan, segment_colors(p2["segments"],
                                                                                              class_colors)))
            # NVIDIA's post-processed depth: at the input size, clamped to [0, dataset.depth_scale]
            depth = p2["depth"].numpy()
            if ds.depth_bound:  # ours on top: also within [depth_min, depth_max]
                depth = np.clip(depth, ds.depth_min, ds.depth_max)
            write_depth(out_dir / files["depth_npy"], out_dir / files["depth_png"], depth)
            entry: dict[str, Any] = {"image": info["path"], "name": name,
                                     "default_intrinsic": bool(info["default_intrinsic"]),
                                     "intrinsic": batch["intrinsic"][i].numpy()[:3, :3].tolist(),
                                     "segments_2d": p2["segments"]}
            n_default += int(bool(info["default_intrinsic"]))
            if stage == "3d":
                p3 = panoptic_3d(outputs, i, frustum=batch["frustum_mask"][i], num_thing_classes=ds.num_thing_classes,
                                 object_mask_threshold=m.object_mask_threshold, truncation=m.frustum3d.truncation,
                                 mode=inf.mode)
                files["volumes"] = f"{name}_volumes.npz"
                files["mesh"] = f"{name}_mesh.ply"
                vol = {kk: p3[kk].numpy() for kk in ("geometry", "semantic", "instance", "panoptic")}
                write_volumes(out_dir / files["volumes"], grid=grids[i], intrinsic=batch["intrinsic"][i].numpy(), **vol)
                verts, faces, colors = mesh_from_volume(vol["geometry"], vol["panoptic"],
                                                        segment_colors(p3["segments"], class_colors),
                                                        iso_value=m.frustum3d.iso_recon_value, grid=grids[i])
                write_ply(out_dir / files["mesh"], verts, faces, colors)
                entry["segments_3d"] = p3["segments"]
                entry["mesh_vertices"], entry["mesh_faces"] = int(len(verts)), int(len(faces))
            entry["files"] = files
            index.append(entry)
        log.info("inference %d/%d images", k, len(dataset))
        progress.update(k)
    if n_default:
        log.warning("%d of %d images have no <stem>_intrinsic.npy/.txt beside them: used the dataset's default "
                    "intrinsics (3D-FRONT camera, fx=fy=%.1f at %dx%d) scaled to %dx%d", n_default, len(dataset),
                    FRONT3D_INTRINSIC[0, 0], NATIVE_SIZE[0], NATIVE_SIZE[1], ds.target_size[0], ds.target_size[1])
    atomic_write_json(out_dir / "index.json", {"checkpoint": meta["path"], "stage": stage, "mode": inf.mode,
                                               "runtime": meta.get("runtime", "pytorch"),
                                               "images_dir": str(root), "images": index})
    log.info("wrote results of %d images and index.json to %s", len(index), out_dir)
    return {"count": len(index), "out_dir": out_dir, "stage": stage}
