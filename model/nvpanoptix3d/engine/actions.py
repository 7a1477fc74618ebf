"""The five actions of the entrypoint: train, evaluate, inference, export, gen_trt_engine."""

from __future__ import annotations

import json
import shutil
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from nvpanoptix3d.data import DataError, build_dataset, collate, options_from_spec
from nvpanoptix3d.data.front3d import NATIVE_SIZE, front3d_to_grid
from nvpanoptix3d.data.images import ImageFolderDataset
from nvpanoptix3d.engine.checkpoint_io import CheckpointError
from nvpanoptix3d.engine.evaluation import Evaluator
from nvpanoptix3d.engine.status import StatusWriter
from nvpanoptix3d.geometry import FRONT3D_INTRINSIC, FrustumGrid, scale_intrinsic


def _loader(spec: Any, split: str, shuffle: bool) -> DataLoader:
    opts = options_from_spec(spec, split)
    if not opts.json_path:
        raise DataError(f"dataset.{split}.json_path is empty: set it (or pass the matching --*-dataset to tao-skill)")
    part = getattr(spec.dataset, split)
    return DataLoader(build_dataset(opts), batch_size=part.batch_size, shuffle=shuffle, num_workers=part.num_workers,
                      collate_fn=collate, persistent_workers=part.num_workers > 0)


def _monitor(spec: Any) -> tuple[str, str]:
    return ("PRQ", "maximize") if spec.dataset.enable_3d else ("PQ", "maximize")


def train(spec: Any, results_dir: Path, key: str | None) -> dict:
    from nvpanoptix3d.engine.module import PanopticReconstructionModule  # noqa: PLC0415
    from nvpanoptix3d.engine.trainer import build_trainer  # noqa: PLC0415
    from nvpanoptix3d.engine.weights import load_checkpoint_into  # noqa: PLC0415

    status = StatusWriter(results_dir, "train", *_monitor(spec))
    module = PanopticReconstructionModule(spec, status)
    resume = spec.train.resume_training_checkpoint_path or None
    if not resume:
        if spec.train.checkpoint_2d:
            rep = load_checkpoint_into(module.model, spec.train.checkpoint_2d, key, subset="2d")
            print(f"initialised the 2D stage from {spec.train.checkpoint_2d}: {rep.summary()}", flush=True)
        elif spec.dataset.enable_3d:
            print("warning: training the 3D stage without train.checkpoint_2d: the frozen 2D stage is untrained",
                  flush=True)
        if spec.train.checkpoint_3d:
            rep = load_checkpoint_into(module.model, spec.train.checkpoint_3d, key, subset="3d")
            print(f"initialised the 3D stage from {spec.train.checkpoint_3d}: {rep.summary()}", flush=True)
    elif not Path(resume).exists():
        raise CheckpointError(f"train.resume_training_checkpoint_path {resume} does not exist")
    trainer = build_trainer(spec, results_dir, key)
    start = time.time()
    try:
        trainer.fit(module, _loader(spec, "train", True), _loader(spec, "val", False), ckpt_path=resume)
    except BaseException:
        status.finish("failed")
        raise
    status.finish("done", seconds=round(time.time() - start, 2), global_step=trainer.global_step)
    return status.doc


def _load_model(spec: Any, checkpoint: str, key: str | None):
    from nvpanoptix3d.engine.build import build_model  # noqa: PLC0415
    from nvpanoptix3d.engine.weights import load_checkpoint_into  # noqa: PLC0415

    if not checkpoint:
        raise CheckpointError("no checkpoint given: set <action>.checkpoint (tao-skill: --parent-job ID)")
    model = build_model(spec)
    report = load_checkpoint_into(model, checkpoint, key, strict=False)
    if spec.dataset.enable_3d and not any("completion." in k for k in report.loaded):
        raise CheckpointError(f"checkpoint {checkpoint} has no 3D-stage weights: train the 3D stage "
                              "(dataset.enable_3d=true) or set dataset.enable_3d=false")
    if report.mismatched:
        raise CheckpointError(f"checkpoint {checkpoint} does not fit the configured model: {report.summary()}")
    print(f"loaded {checkpoint}: {report.summary()}", flush=True)
    return model.eval()


def evaluate(spec: Any, results_dir: Path, key: str | None) -> dict:
    model = _load_model(spec, spec.evaluate.checkpoint, key)
    split = spec.evaluate.split
    evaluator = Evaluator(spec)
    status = StatusWriter(results_dir, "evaluate", *_monitor(spec))
    with torch.no_grad():
        for batch in _loader(spec, split, False):
            if spec.dataset.enable_3d:
                out = model(batch["image"], batch["intrinsic"], batch["frustum_mask"])
            else:
                out = model(batch["image"])
            evaluator.update(out, batch)
    kpi = evaluator.compute()
    per_class = evaluator.per_class()
    names = {}
    if spec.dataset.label_map:
        from nvpanoptix3d.data import load_colormap  # noqa: PLC0415

        names = {c.id: c.name for c in load_colormap(options_from_spec(spec, split).resolve(spec.dataset.label_map))}
    print(f"evaluation on dataset.{split}:")
    if per_class:
        print(f"{'class':<12}{'PRQ':>8}{'RSQ':>8}{'RRQ':>8}{'N':>6}")
        for cls, v in per_class.items():
            print(f"{names.get(cls, str(cls)):<12}{v['PRQ']:8.3f}{v['RSQ']:8.3f}{v['RRQ']:8.3f}{v['N']:6d}")
    print("  " + ", ".join(f"{k}={v:.4f}" for k, v in kpi.items()), flush=True)
    status.add(epoch=0, step=0, kpi=kpi, extra={"split": split,
                                                 "per_class": {str(k): v for k, v in per_class.items()}})
    status.finish("done")
    return status.doc


def _images_dir(path: str, results_dir: Path) -> Path:
    src = Path(path)
    if src.is_dir():
        return src
    if not src.exists():
        raise DataError(f"inference.images_dir {src} does not exist")
    target = results_dir / "inputs" / "images"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    if zipfile.is_zipfile(src):
        with zipfile.ZipFile(src) as zf:
            for name in zf.namelist():
                dest = (target / name).resolve()
                if not str(dest).startswith(str(target.resolve())):
                    raise DataError(f"{src}: member {name} would be written outside {target}")
            zf.extractall(target)
    elif tarfile.is_tarfile(src):
        with tarfile.open(src) as tf:
            tf.extractall(target, filter="data")
    else:
        raise DataError(f"inference.images_dir {src} is neither a folder nor a .tar/.tar.gz/.zip archive")
    return target


def _frustum_for(spec: Any, intrinsic: np.ndarray) -> torch.Tensor:
    dims = spec.model.frustum3d.grid_dimensions
    path = Path(spec.dataset.frustum_mask_path)
    if spec.dataset.frustum_mask_path and path.exists():
        from nvpanoptix3d.data.front3d import load_frustum_mask  # noqa: PLC0415

        return torch.from_numpy(load_frustum_mask(path, dims))
    grid = FrustumGrid.cube(dims, spec.model.projection.voxel_size, spec.dataset.depth_min, spec.dataset.depth_max)
    return torch.from_numpy(grid.frustum_mask(intrinsic, tuple(spec.dataset.target_size)))


def inference(spec: Any, results_dir: Path, key: str | None) -> dict:
    from nvpanoptix3d.engine.outputs import write_index, write_mesh_ply, write_panoptic_png, write_volumes  # noqa: PLC0415
    from nvpanoptix3d.network.frustum3d import panoptic_3d  # noqa: PLC0415
    from nvpanoptix3d.network.postprocess import panoptic_2d  # noqa: PLC0415

    if spec.inference.trt_engine:
        raise RuntimeError("inference with TensorRT engines needs the `trt` extra and a GPU; set inference.trt_engine='' "
                           "to run the checkpoint")
    model = _load_model(spec, spec.inference.checkpoint, key)
    size = tuple(spec.dataset.target_size)
    images = ImageFolderDataset(_images_dir(spec.inference.images_dir, results_dir), size, FRONT3D_INTRINSIC,
                                NATIVE_SIZE)
    out_dir = results_dir / "inference"
    out_dir.mkdir(parents=True, exist_ok=True)
    grid = FrustumGrid.cube(spec.model.frustum3d.grid_dimensions, spec.model.projection.voxel_size,
                            spec.dataset.depth_min, spec.dataset.depth_max)
    default_frustum = _frustum_for(spec, scale_intrinsic(FRONT3D_INTRINSIC, NATIVE_SIZE, size))
    m, ds = spec.model, spec.dataset
    entries = []
    warned = False
    for i in range(len(images)):
        item = images[i]
        meta = item["meta"]
        if meta["default_intrinsic"] and not warned:
            print(f"warning: no per-image intrinsics next to {meta['path']} (<stem>_intrinsic.npy/.txt); "
                  "using the dataset default (3D-FRONT camera)", flush=True)
            warned = True
        k = item["intrinsic"]
        frustum = default_frustum if meta["default_intrinsic"] else torch.from_numpy(grid.frustum_mask(k.numpy(), size))
        with torch.no_grad():
            out = model(item["image"][None], k[None], frustum[None]) if ds.enable_3d else model(item["image"][None])
        stem = meta["name"].replace("/", "__")
        r2 = panoptic_2d(out["pred_logits"][0], out["pred_masks"][0], size=(size[1], size[0]),
                         num_thing_classes=ds.num_thing_classes, object_mask_threshold=m.object_mask_threshold,
                         overlap_threshold=m.overlap_threshold, mode=spec.inference.mode)
        entry = {"image": meta["path"], "default_intrinsic": meta["default_intrinsic"],
                 "panoptic_2d": f"{stem}_panoptic_2d.png", "depth": f"{stem}_depth.npy",
                 "segments_2d": r2["segments"]}
        write_panoptic_png(out_dir / entry["panoptic_2d"], r2["panoptic"].numpy())
        np.save(out_dir / entry["depth"], out["pred_depth"][0, 0].numpy().astype(np.float32))
        if ds.enable_3d:
            r3 = panoptic_3d({k2: v for k2, v in out.items() if k2 != "aux_outputs"}, 0, frustum=frustum,
                             num_thing_classes=ds.num_thing_classes, object_mask_threshold=m.object_mask_threshold,
                             truncation=m.frustum3d.truncation, mode=spec.inference.mode)
            write_volumes(out_dir / f"{stem}_volumes.npz", r3)
            faces = write_mesh_ply(out_dir / f"{stem}_mesh.ply", r3["geometry"].numpy(), r3["panoptic"].numpy(),
                                   iso=m.frustum3d.iso_recon_value, voxel_size=grid.voxel_size, origin=grid.origin)
            entry.update({"volumes": f"{stem}_volumes.npz", "mesh": f"{stem}_mesh.ply", "mesh_faces": faces,
                          "segments_3d": r3["segments"]})
        entries.append(entry)
        print(f"[{i + 1}/{len(images)}] {meta['path']} -> {stem}_*", flush=True)
    write_index(out_dir / "index.json", entries)
    StatusWriter(results_dir, "inference").finish("done", images=len(entries), outputs=str(out_dir))
    return {"images": len(entries), "outputs": str(out_dir)}


def export(spec: Any, results_dir: Path, key: str | None) -> dict:
    from nvpanoptix3d.engine.export import export_onnx  # noqa: PLC0415

    ex = spec.export
    model = _load_model(spec, ex.checkpoint, key)
    path_2d = Path(ex.onnx_file_2d or ex.onnx_file or results_dir / "model_2d.onnx")
    path_3d = Path(ex.onnx_file_3d or results_dir / "model_3d.onnx")
    size = (ex.input_width, ex.input_height)
    intrinsic = torch.from_numpy(scale_intrinsic(FRONT3D_INTRINSIC, NATIVE_SIZE, size))
    frustum = _frustum_for(spec, intrinsic.numpy())
    report = export_onnx(model, height=ex.input_height, width=ex.input_width, path_2d=path_2d,
                         path_3d=path_3d if spec.dataset.enable_3d else None, opset=ex.opset_version,
                         max_voxels=ex.max_voxels, batch_size=ex.batch_size, intrinsic=intrinsic, frustum=frustum)
    tol = 1e-3
    worst = max([*report["max_abs_diff_2d"].values(), *report.get("max_abs_diff_3d", {}).values()])
    report["tolerance"] = tol
    report["within_tolerance"] = worst <= tol
    print(json.dumps(report, indent=1), flush=True)
    if report.get("voxels_dropped"):
        print(f"warning: {report['voxels_dropped']} lifted voxels exceeded export.max_voxels={ex.max_voxels}; "
              "the closest to the predicted surface were kept", flush=True)
    if not report["within_tolerance"]:
        raise RuntimeError(f"onnxruntime differs from PyTorch by {worst:.2e} > {tol}")
    status = StatusWriter(results_dir, "export")
    status.finish("done", **{k: v for k, v in report.items() if k.startswith("onnx") or k.startswith("max")})
    return report


def gen_trt_engine(spec: Any, results_dir: Path, key: str | None) -> dict:
    from nvpanoptix3d.engine.tensorrt_build import build_engine  # noqa: PLC0415

    g = spec.gen_trt_engine
    if not g.onnx_file:
        raise DataError("gen_trt_engine.onnx_file is empty: point it at the 2D ONNX (tao-skill: --parent-job <export job>)")
    out = Path(g.trt_engine or results_dir / "engines")
    built = [str(build_engine(Path(g.onnx_file), out / "model_2d.engine", data_type=g.tensorrt.data_type,
                              workspace_mib=g.tensorrt.workspace_size, timing_cache=g.timing_cache, verbose=g.verbose))]
    if g.onnx_file_3d:
        built.append(str(build_engine(Path(g.onnx_file_3d), out / "model_3d.engine", data_type=g.tensorrt.data_type,
                                      workspace_mib=g.tensorrt.workspace_size, timing_cache=g.timing_cache,
                                      verbose=g.verbose)))
    StatusWriter(results_dir, "gen_trt_engine").finish("done", engines=built)
    return {"engines": built}


ACTIONS = {"train": train, "evaluate": evaluate, "inference": inference, "export": export,
           "gen_trt_engine": gen_trt_engine}
