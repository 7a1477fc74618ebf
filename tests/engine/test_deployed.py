"""evaluate and inference on the exported models (onnxruntime) give the checkpoint's results; TensorRT
engines fail with a clear error where TensorRT or a GPU is missing."""

import json
import tarfile

import numpy as np
import pytest

from .conftest import make_spec, run_action, write_spec


@pytest.fixture(scope="module", params=["dense", "sparse"])
def exported(request, tiny_data, tmp_path_factory):
    """(backend, checkpoint, 2D ONNX, 3D ONNX) of a trained 3D model of each backend."""
    backend = request.param
    trained = request.getfixturevalue("trained_3d" if backend == "dense" else "trained_3d_sparse")
    out = tmp_path_factory.mktemp(f"export_{backend}")
    spec = write_spec(out / "s.yaml", make_spec(tiny_data, out, **{
        "dataset.enable_3d": True, "model.frustum3d.backend": backend, "export.checkpoint": str(trained / "latest.pth"),
        "export.input_width": 160, "export.input_height": 120, "export.max_voxels": 40000}))
    assert run_action("export", spec) == 0
    return backend, trained / "latest.pth", out / "model_2d.onnx", out / "model_3d.onnx"


def _evaluate(tiny_data, res, backend, **source):
    res.mkdir(parents=True, exist_ok=True)
    spec = write_spec(res / "s.yaml", make_spec(tiny_data, res, **{
        "dataset.enable_3d": True, "model.frustum3d.backend": backend, "evaluate.split": "val", **source}))
    assert run_action("evaluate", spec) == 0
    return json.loads((res / "evaluation.json").read_text())


def test_evaluate_with_onnx_models_matches_the_checkpoint(tiny_data, exported, tmp_path):
    backend, ckpt, f2, f3 = exported
    ref = _evaluate(tiny_data, tmp_path / "pt", backend, **{"evaluate.checkpoint": str(ckpt)})
    got = _evaluate(tiny_data, tmp_path / "ort", backend, **{"evaluate.onnx_file_2d": str(f2),
                                                             "evaluate.onnx_file_3d": str(f3)})
    assert ref["runtime"] == "pytorch" and got["runtime"] == "onnxruntime"
    for k in ("PRQ", "RSQ", "RRQ", "PQ", "AbsRel"):
        assert got["kpi"][k] == pytest.approx(ref["kpi"][k], abs=1e-3), k
    assert "onnxruntime" in (tmp_path / "ort" / "log.txt").read_text()


def test_inference_with_onnx_models_writes_the_checkpoints_volumes(tiny_data, exported, tmp_path):
    backend, ckpt, f2, f3 = exported
    images = tmp_path / "images"
    with tarfile.open(tiny_data / "images.tar.gz") as tf:
        tf.extractall(images, filter="data")
    for p in sorted(images.rglob("*.png"))[2:]:
        p.unlink()
    results = {}
    for name, source in (("pt", {"inference.checkpoint": str(ckpt)}),
                         ("ort", {"inference.onnx_file_2d": str(f2), "inference.onnx_file_3d": str(f3)})):
        res = tmp_path / name
        res.mkdir()
        spec = write_spec(res / "s.yaml", make_spec(tiny_data, res, **{
            "dataset.enable_3d": True, "model.frustum3d.backend": backend, "inference.images_dir": str(images),
            "inference.batch_size": 2, **source}))
        assert run_action("inference", spec) == 0
        results[name] = json.loads((res / "inference" / "index.json").read_text())
    assert results["ort"]["runtime"] == "onnxruntime" and results["ort"]["stage"] == "3d"
    assert len(results["ort"]["images"]) == len(results["pt"]["images"]) == 2
    for a, b in zip(results["pt"]["images"], results["ort"]["images"]):
        va = np.load(tmp_path / "pt" / "inference" / a["files"]["volumes"])
        vb = np.load(tmp_path / "ort" / "inference" / b["files"]["volumes"])
        assert np.allclose(va["geometry"], vb["geometry"], atol=1e-3)
        assert (va["panoptic"] == vb["panoptic"]).mean() > 0.999
        assert a["segments_2d"] == b["segments_2d"]


def test_data_of_another_size_is_resized_to_the_exported_size(tiny_data, exported, tmp_path):
    """A 2D model exported for 160x120 evaluates 192x144 data: images resized, intrinsics rescaled, a warning
    once; the KPIs stay close to those at the exported size (same scenes, same camera frustum)."""
    backend, _, f2, f3 = exported
    src = {"evaluate.onnx_file_2d": str(f2), "evaluate.onnx_file_3d": str(f3)}
    ref = _evaluate(tiny_data, tmp_path / "native", backend, **src)
    got = _evaluate(tiny_data, tmp_path / "big", backend, **src, **{"dataset.target_size": [192, 144]})
    log = (tmp_path / "big" / "log.txt").read_text()
    assert log.count("the 2D model was exported for 160x120 images and the data is 192x144: resizing") == 1
    assert "resizing" not in (tmp_path / "native" / "log.txt").read_text()
    assert got["kpi"]["PQ"] == pytest.approx(ref["kpi"]["PQ"], abs=0.15)  # 0 for these 2-epoch models
    assert got["kpi"]["AbsRel"] == pytest.approx(ref["kpi"]["AbsRel"], abs=0.02)  # 0.696 vs 0.698 measured


def test_exported_model_sources_fail_clearly(tiny_data, exported, tmp_path, capsys):
    backend, _, f2, f3 = exported
    base = {"dataset.enable_3d": True, "model.frustum3d.backend": backend}
    cases = [
        ({"evaluate.onnx_file_2d": str(f2)}, "evaluate.onnx_file_3d is missing"),
        ({"evaluate.onnx_file_2d": str(tmp_path / "nope.onnx")}, "does not exist"),
        ({"evaluate.trt_engine": str(tmp_path)}, "has no model_2d.engine"),
        ({}, "evaluate.checkpoint is empty"),
        ({"evaluate.onnx_file_2d": str(f2), "evaluate.onnx_file_3d": str(f3), "model.frustum3d.grid_dimensions": 16,
          "model.frustum3d.frustum_dims": 16}, "exported for a (32, 32, 32) grid but the spec gives (16, 16, 16)"),
    ]
    (tmp_path / "engines").mkdir()
    (tmp_path / "engines" / "model_2d.engine").write_bytes(b"not an engine")
    cases.append(({"evaluate.trt_engine": str(tmp_path / "engines")}, "running a TensorRT engine needs"))
    for i, (overrides, message) in enumerate(cases):
        res = tmp_path / f"case{i}"
        res.mkdir()
        spec = write_spec(res / "s.yaml", make_spec(tiny_data, res, **base, **overrides))
        assert run_action("evaluate", spec) != 0, overrides
        err = capsys.readouterr().err
        assert message in err, (overrides, err[-500:])
        assert "Traceback" not in err


def test_a_2d_model_exported_for_a_static_batch_runs_any_batch(tiny_data, trained_2d, tmp_path):
    """export.batch_size=1 or 4 gives a static batch; inference with batch 2 over 6 images splits (batch 1) or
    pads (batch 4: 2 -> 4) and writes what the dynamic-batch model writes. (A 2D checkpoint: the 3D ONNX takes
    one image whatever the 2D batch, and its inputs are these 2D outputs.)"""
    images = tmp_path / "images"
    with tarfile.open(tiny_data / "images.tar.gz") as tf:
        tf.extractall(images, filter="data")
    results = {}
    for batch in (1, 4, -1):
        out = tmp_path / f"export_b{batch}"
        out.mkdir()
        spec = write_spec(out / "s.yaml", make_spec(tiny_data, out, **{
            "export.checkpoint": str(trained_2d / "latest.pth"),
            "export.input_width": 160, "export.input_height": 120, "export.batch_size": batch}))
        assert run_action("export", spec) == 0
        assert not (out / "model_3d.onnx").exists()
        res = tmp_path / f"inf_b{batch}"
        res.mkdir()
        spec = write_spec(res / "s.yaml", make_spec(tiny_data, res, **{
            "inference.images_dir": str(images), "inference.batch_size": 2,
            "inference.onnx_file_2d": str(out / "model_2d.onnx")}))
        assert run_action("inference", spec) == 0
        results[batch] = json.loads((res / "inference" / "index.json").read_text())["images"]
    assert len(results[1]) == len(results[4]) == len(results[-1]) == 6
    for a, b, c in zip(results[1], results[4], results[-1]):
        assert a["segments_2d"] == b["segments_2d"] == c["segments_2d"]
        depths = [np.load(tmp_path / f"inf_b{n}" / "inference" / e["files"]["depth_npy"])
                  for n, e in ((1, a), (4, b), (-1, c))]
        assert depths[2].max() > 0  # a real depth map, compared pixel for pixel
        np.testing.assert_allclose(depths[0], depths[2], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(depths[1], depths[2], rtol=1e-4, atol=1e-4)
