"""Per-image CPU inference time: PyTorch vs onnxruntime, for the exported 2D and 3D models.

    python benchmarks/bench_inference_onnx.py [--spec references/demo_spec_tiny.yaml] [--runs 10] [--threads 2]
                                              [--checkpoint model.pth] [--backend dense|sparse]

Builds the network of the spec (random weights unless --checkpoint), exports both ONNX models exactly as
the ``export`` action does, then times batch-1 inference of each stage in PyTorch (eval, no_grad) and in
onnxruntime (CPUExecutionProvider) with the same thread count, after warm-up runs. Prints the median per
image and the ratio PyTorch / onnxruntime (> 1 means onnxruntime is faster).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def _time(fn, runs: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default=str(ROOT / "references" / "demo_spec_tiny.yaml"))
    ap.add_argument("--checkpoint", default="")
    ap.add_argument("--backend", default="", choices=["", "dense", "sparse"],
                    help="model.frustum3d.backend (default: the spec's)")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import onnxruntime as ort

    from nvpanoptix3d.config import load_spec
    from nvpanoptix3d.engine import build
    from nvpanoptix3d.engine.export import OUTPUTS_3D, Export2D, _export, export_3d_wrapper, inputs_3d
    from nvpanoptix3d.engine.predict import load_trained_model
    from nvpanoptix3d.geometry import FRONT3D_INTRINSIC, FrustumGrid, scale_intrinsic

    torch.set_num_threads(args.threads)
    overrides = {"dataset.enable_3d": True}
    if args.backend:
        overrides["model.frustum3d.backend"] = args.backend
    spec = load_spec(args.spec, overrides)
    if args.checkpoint:
        model, _, _ = load_trained_model(spec, args.checkpoint, key=None, what="--checkpoint", stage="3d")
    else:
        torch.manual_seed(0)
        model = build.build_model(spec, stage="3d").eval()
    w, h = spec.dataset.target_size
    ds, f3d = spec.dataset, spec.model.frustum3d
    grid = FrustumGrid.cube(f3d.grid_dimensions, spec.model.projection.voxel_size, ds.depth_min, ds.depth_max)
    k = torch.from_numpy(scale_intrinsic(FRONT3D_INTRINSIC, (320, 240), (w, h))).float()[None]
    frustum = torch.from_numpy(grid.frustum_mask(k[0].numpy(), (w, h)))[None]
    x = torch.rand(1, 3, h, w) * 255

    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = args.threads
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        w2d = Export2D(model).eval()
        names2d = ["pred_logits", "pred_masks", "pred_depths", "occupancy_preds", "mask_features", "depth_features",
                   "segm_decoder_out", "projected_features"]
        _export(w2d, (x,), Path(tmp) / "m2d.onnx", input_names=["batch_inputs"], output_names=names2d,
                dynamic_axes=None, opset=17, verbose=False)
        ref = dict(zip(["pred_logits", "pred_masks", "pred_depth", "pred_mp_occ", "mask_features", "depth_features",
                        "query_features", "projected_features"], w2d(x)))
        max_voxels = int(frustum.sum())
        feeds = inputs_3d(model, ref, k, frustum, (w, h), max_voxels)
        n_vox = int(feeds["num_voxels"])
        w3d = export_3d_wrapper(model)
        args3d = tuple(feeds.values())
        _export(w3d, args3d, Path(tmp) / "m3d.onnx", input_names=list(feeds), output_names=list(OUTPUTS_3D),
                dynamic_axes=None, opset=17, verbose=False)
        s2 = ort.InferenceSession(str(Path(tmp) / "m2d.onnx"), so, providers=["CPUExecutionProvider"])
        s3 = ort.InferenceSession(str(Path(tmp) / "m3d.onnx"), so, providers=["CPUExecutionProvider"])
        feeds3 = {n: t.numpy() for n, t in feeds.items()}
        xn = x.numpy()
        rows = [
            ("2D stage", _time(lambda: w2d(x), args.runs), _time(lambda: s2.run(None, {"batch_inputs": xn}), args.runs)),
            ("3D completion", _time(lambda: w3d(*args3d), args.runs),
             _time(lambda: s3.run(None, feeds3), args.runs)),
        ]
        diff = float(np.abs(s3.run(None, feeds3)[-1] - w3d(*args3d)[-1].numpy()).max())
    params = sum(p.numel() for p in model.parameters()) / 1e6
    print(f"spec {Path(args.spec).name}: preset {spec.model.backbone.preset}, backend {model.backend}, "
          f"image {w}x{h}, grid {f3d.grid_dimensions}^3 ({n_vox} lifted voxels, max_voxels {max_voxels}), "
          f"{params:.2f} M parameters, "
          f"{args.threads} threads, median of {args.runs} runs, torch {torch.__version__}, onnxruntime {ort.__version__}")
    print(f"{'stage':<16}{'PyTorch ms':>12}{'ORT ms':>10}{'PyTorch/ORT':>13}")
    total_pt = total_ort = 0.0
    for name, pt, ox in rows:
        total_pt, total_ort = total_pt + pt, total_ort + ox
        print(f"{name:<16}{pt * 1e3:12.1f}{ox * 1e3:10.1f}{pt / ox:13.2f}")
    print(f"{'per image':<16}{total_pt * 1e3:12.1f}{total_ort * 1e3:10.1f}{total_pt / total_ort:13.2f}")
    print(f"3D geometry max |ORT - PyTorch| = {diff:.2e} voxels")


if __name__ == "__main__":
    main()
