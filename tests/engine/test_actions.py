"""evaluate, inference, export, gen_trt_engine and bad input through the entrypoint."""

import json
import shutil
import sys
import tarfile

import numpy as np
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from nvpanoptix3d.engine.outputs import mesh_from_volume, read_ply, write_ply
from nvpanoptix3d.entrypoint import parse_overrides, parse_value
from nvpanoptix3d.geometry import FrustumGrid

from .conftest import make_spec, run_action, run_subprocess, write_spec


def _log(res):
    return (res / "log.txt").read_text()


# ------------------------------------------------------------------ evaluate
@pytest.mark.parametrize("split", ["val", "test"])
def test_evaluate_3d_writes_kpis_and_table(tiny_data, trained_3d, tmp_path, split):
    spec = write_spec(tmp_path / "s.yaml", make_spec(tiny_data, tmp_path, **{
        "dataset.enable_3d": True, "evaluate.checkpoint": str(trained_3d / "latest.pth"), "evaluate.split": split}))
    assert run_action("evaluate", spec) == 0
    st = json.loads((tmp_path / "status.json").read_text())
    assert st["action"] == "evaluate" and st["status"] == "done"
    (entry,) = st["entries"]
    assert {"PRQ", "RSQ", "RRQ", "PQ", "SQ", "RQ", "AbsRel", "RMSE", "delta1"} <= set(entry["kpi"])
    assert all(0.0 <= entry["kpi"][k] <= 1.0 for k in ("PRQ", "RSQ", "RRQ", "PQ"))
    assert entry["per_class"]["3d"], "per-class 3D results missing"
    table = (tmp_path / "evaluation.txt").read_text()
    assert "PRQ" in table and "mean" in table and "wall" in table
    assert json.loads((tmp_path / "evaluation.json").read_text())["split"] == split


def test_evaluate_2d_checkpoint_for_2d_stage(tiny_data, trained_2d, tmp_path):
    spec = write_spec(tmp_path / "s.yaml", make_spec(tiny_data, tmp_path, **{
        "evaluate.checkpoint": str(trained_2d / "latest.pth")}))
    assert run_action("evaluate", spec) == 0
    kpi = json.loads((tmp_path / "status.json").read_text())["entries"][0]["kpi"]
    assert "PQ" in kpi and "PRQ" not in kpi


# ------------------------------------------------------------------ inference
def _images(tiny_data, dest):
    with tarfile.open(tiny_data / "images.tar.gz") as tf:
        tf.extractall(dest, filter="data")
    return sorted(dest.rglob("*.png"))


def test_inference_nested_folder_with_and_without_intrinsics(tiny_data, trained_3d, tmp_path):
    root = tmp_path / "imgs"
    paths = _images(tiny_data, root / "deep" / "er")[:2]
    for extra in sorted((root / "deep").rglob("*.png"))[2:]:
        extra.unlink()
    k = json.loads((tiny_data / "meta" / "synth_info.json").read_text())["intrinsic"]
    np.save(paths[0].with_name(paths[0].stem + "_intrinsic.npy"), np.asarray(k, dtype=np.float32)[:3, :3])
    spec = write_spec(tmp_path / "s.yaml", make_spec(tiny_data, tmp_path / "out", **{
        "dataset.enable_3d": True, "inference.checkpoint": str(trained_3d / "latest.pth"),
        "inference.images_dir": str(root)}))
    assert run_action("inference", spec) == 0
    out = tmp_path / "out" / "inference"
    index = json.loads((out / "index.json").read_text())
    assert index["stage"] == "3d" and len(index["images"]) == 2
    assert sorted(e["default_intrinsic"] for e in index["images"]) == [False, True]
    assert "used the dataset's default intrinsics" in _log(tmp_path / "out")
    for entry in index["images"]:
        f = entry["files"]
        assert entry["name"].startswith("deep/er/")
        pan = np.asarray(Image.open(out / f["panoptic_2d"]))
        assert pan.shape == (120, 160) and pan.dtype == np.uint16
        assert np.asarray(Image.open(out / f["panoptic_2d_color"])).shape == (120, 160, 3)
        assert np.load(out / f["depth_npy"]).shape == (120, 160)
        vol = np.load(out / f["volumes"])
        assert {"geometry", "semantic", "instance", "panoptic"} <= set(vol.files)
        assert vol["geometry"].shape == (32, 32, 32)
        v, fc, c = read_ply(out / f["mesh"])
        assert len(v) == entry["mesh_vertices"] and len(fc) == entry["mesh_faces"]


@pytest.mark.parametrize("as_archive", [False, True])
def test_inference_extracted_tar_gz_and_archive_path_2d(tiny_data, trained_2d, tmp_path, as_archive):
    if as_archive:
        images_dir = tiny_data / "images.tar.gz"
    else:
        images_dir = tmp_path / "extracted"
        _images(tiny_data, images_dir)
    spec = write_spec(tmp_path / "s.yaml", make_spec(tiny_data, tmp_path / "out", **{
        "inference.checkpoint": str(trained_2d / "latest.pth"), "inference.images_dir": str(images_dir),
        "inference.mode": "semantic", "inference.batch_size": 4}))
    assert run_action("inference", spec) == 0
    index = json.loads((tmp_path / "out" / "inference" / "index.json").read_text())
    assert index["stage"] == "2d" and index["mode"] == "semantic" and len(index["images"]) == 6
    assert "volumes" not in index["images"][0]["files"]


def test_mesh_of_a_sphere_is_in_camera_space_and_coloured(tmp_path):
    grid = FrustumGrid.cube(24, 0.1, 0.4, 6.0)
    idx = np.stack(np.meshgrid(*[np.arange(24)] * 3, indexing="ij"), -1)
    dist = np.abs(np.linalg.norm(idx - 12, axis=-1) - 6.0).astype(np.float32)
    pan = np.where(idx[..., 0] < 12, 1, 2).astype(np.int32)
    colors = {0: np.zeros(3, np.uint8), 1: np.array([255, 0, 0], np.uint8), 2: np.array([0, 0, 255], np.uint8)}
    v, f, c = mesh_from_volume(dist, pan, colors, iso_value=1.0, grid=grid)
    assert len(v) > 100 and len(f) > 100
    centre = (12 + 0.5) * grid.voxel_size + grid.origin
    r = np.linalg.norm(v - centre, axis=1)
    assert 0.45 < r.min() and r.max() < 0.75  # shell around radius 0.6 m at +-0.1 m
    assert {tuple(x) for x in c} <= {(255, 0, 0), (0, 0, 255)}
    write_ply(tmp_path / "m.ply", v, f, c)
    v2, f2, c2 = read_ply(tmp_path / "m.ply")
    assert np.allclose(v, v2) and np.array_equal(f, f2) and np.array_equal(c, c2)


# ------------------------------------------------------------------ export
@pytest.mark.parametrize("backend", ["dense", "sparse"])
def test_export_2d_and_3d_onnx_match_pytorch(tiny_data, backend, request, tmp_path):
    """Both backends export both stages; then, on a real image (other voxels than the export's check input):
    2D through onnxruntime, host lifting, 3D through onnxruntime == the model's own 3D forward."""
    from nvpanoptix3d.config import load_spec
    from nvpanoptix3d.engine.export import OUTPUT_KEYS_2D, inputs_3d
    from nvpanoptix3d.engine.predict import load_trained_model

    trained = request.getfixturevalue("trained_3d" if backend == "dense" else "trained_3d_sparse")
    f2, f3 = tmp_path / "m_2d.onnx", tmp_path / "m_3d.onnx"
    spec_d = make_spec(tiny_data, tmp_path, **{
        "dataset.enable_3d": True, "export.checkpoint": str(trained / "latest.pth"), "export.input_width": 160,
        "export.input_height": 120, "export.max_voxels": 40000, "export.onnx_file_2d": str(f2),
        "export.onnx_file_3d": str(f3), "model.frustum3d.backend": backend})
    spec_path = write_spec(tmp_path / "s.yaml", spec_d)
    assert run_action("export", spec_path) == 0
    assert "3D ONNX checked" in _log(tmp_path) and "2D ONNX checked" in _log(tmp_path)
    spec = load_spec(spec_path)
    model, _, _ = load_trained_model(spec, str(trained / "latest.pth"), key=None, what="x")
    assert model.backend == backend
    img = np.asarray(Image.open(sorted((tiny_data / "data").rglob("rgb_*.png"))[0]).convert("RGB"), np.float32)
    x = torch.from_numpy(img).permute(2, 0, 1)[None]
    s2 = ort.InferenceSession(str(f2), providers=["CPUExecutionProvider"])
    names = [o.name for o in s2.get_outputs()]
    o2 = dict(zip(names, s2.run(None, {"batch_inputs": x.numpy()})))
    k = torch.tensor(json.loads((tiny_data / "meta" / "synth_info.json").read_text())["intrinsic"])[None].float()
    grid = FrustumGrid.cube(32, 0.18, 0.4, 6.0)
    frustum = torch.from_numpy(grid.frustum_mask(k[0].numpy(), (160, 120)))[None]
    with torch.no_grad():
        ref2d = model(x / 255.0)
    assert np.allclose(o2["pred_logits"], ref2d["pred_logits"].numpy(), atol=1e-4)
    out2d = {OUTPUT_KEYS_2D[n]: torch.from_numpy(v) for n, v in o2.items()}
    with torch.no_grad():
        assert np.allclose(out2d["encoder_features"], model.encoder_features(ref2d).numpy(), atol=1e-3)
    with torch.no_grad():  # the model's own 3D stage on the ONNX 2D outputs
        ref = model.complete(model.lifter(out2d, out2d["encoder_features"], k, frustum, (160, 120)),
                             out2d["query_features"], frustum)
    feeds = inputs_3d(model.lifter, out2d, k, frustum, (160, 120), 40000)
    assert list(feeds) == [i.name for i in ort.InferenceSession(str(f3)).get_inputs()]
    s3 = ort.InferenceSession(str(f3), providers=["CPUExecutionProvider"])
    o3 = s3.run(None, {n: t.numpy() for n, t in feeds.items()})
    assert np.allclose(o3[-1][0], ref["pred_geometry"][0].numpy(), atol=1e-3)
    for lvl in range(3):
        assert np.allclose(o3[lvl][0], ref["pred_occupancy"][lvl][0].numpy(), atol=1e-3)
        assert np.allclose(o3[3 + lvl][0], ref["pred_masks_3d"][lvl][0].numpy(), atol=1e-3)
    import onnx

    constants = [int(np.prod(t.dims)) for t in onnx.load(str(f3)).graph.initializer
                 if not t.name.startswith("completion.")]  # the weights themselves may be large
    assert max(constants, default=0) < 32**3, "a dense grid-sized constant was folded into the 3D model"
    from nvpanoptix3d.engine.trt_compat import tensorrt_problems

    assert tensorrt_problems(f2) == [] and tensorrt_problems(f3) == []  # nothing TensorRT's parser rejects


def test_tensorrt_check_names_the_nodes_tensorrt_rejects():
    from onnx import TensorProto, helper

    from nvpanoptix3d.engine.trt_compat import tensorrt_problems

    nodes = [helper.make_node("Unique", ["x"], ["u"], name="uniq"),
             helper.make_node("Greater", ["x", "x"], ["b"]),
             helper.make_node("NonZero", ["b"], ["nz"], name="nz_bool"),
             helper.make_node("Constant", [], ["k"], value=helper.make_tensor("kv", TensorProto.INT64, [1], [5000])),
             helper.make_node("TopK", ["x", "k"], ["tv", "ti"], name="big_topk"),
             helper.make_node("ScatterND", ["x", "idx", "upd"], ["s"], name="scat", reduction="add"),
             helper.make_node("NonZero", ["x"], ["nz_ok"], name="nz_float")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8]),
                     helper.make_tensor_value_info("idx", TensorProto.INT64, [2, 1]),
                     helper.make_tensor_value_info("upd", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("s",)])
    problems = tensorrt_problems(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    text = "\n".join(problems)
    assert len(problems) == 4, text
    assert "uniq: operator not supported" in text and "nz_bool: input type BOOL" in text
    assert "big_topk: K=5000" in text and "scat: reduction=add" in text and "nz_float" not in text


@pytest.mark.parametrize("spconv_installed", [True, False], ids=["spconv", "no-spconv"])
def test_spconv_spec_exports_like_the_other_backends(tiny_data, trained_3d_sparse, tmp_path, monkeypatch,
                                                      spconv_installed):
    """A checkpoint of backend=spconv (the same parameters as sparse) exports: every backend exports the
    completion's weights as the same masked dense graph. The export's self-check runs the model's own
    execution: spconv's kernels when spconv is installed, the pure sparse layers (same numbers) when not."""
    from nvpanoptix3d.network.completion import spconv_exec

    if spconv_installed and not spconv_exec.available():
        pytest.skip("spconv is not installed")
    if not spconv_installed:
        monkeypatch.setattr(spconv_exec, "spconv_ops", None)
    spec = write_spec(tmp_path / "s.yaml", make_spec(tiny_data, tmp_path, **{
        "dataset.enable_3d": True, "model.frustum3d.backend": "spconv",
        "export.checkpoint": str(trained_3d_sparse / "latest.pth"), "export.input_width": 160,
        "export.input_height": 120, "export.max_voxels": 40000}))
    assert run_action("export", spec) == 0
    assert "3D ONNX checked" in _log(tmp_path)
    names = [i.name for i in ort.InferenceSession(str(tmp_path / "model_3d.onnx")).get_inputs()]
    assert names == ["voxel_coords", "voxel_features", "num_voxels", "frustum_mask", "segm_decoder_out"]


def test_export_2d_only_from_2d_checkpoint(tiny_data, trained_2d, tmp_path):
    spec = write_spec(tmp_path / "s.yaml", make_spec(tiny_data, tmp_path, **{
        "export.checkpoint": str(trained_2d / "latest.pth"), "export.input_width": 160, "export.input_height": 120,
        "export.onnx_file": str(tmp_path / "legacy.onnx")}))
    with torch.no_grad():  # the fused transformer fast path (no ONNX symbolic) must not be taken
        assert run_action("export", spec) == 0
    sess = ort.InferenceSession(str(tmp_path / "legacy.onnx"), providers=["CPUExecutionProvider"])
    outs = sess.run(None, {"batch_inputs": np.random.rand(2, 3, 120, 160).astype(np.float32) * 255})
    assert outs[0].shape == (2, 12, 14)  # dynamic batch axis
    assert not (tmp_path / "model_3d.onnx").exists()


# ------------------------------------------------------------------ gen_trt_engine
def test_gen_trt_engine_error_paths(tiny_data, tmp_path, monkeypatch):
    import onnx
    from onnx import TensorProto, helper

    onnx_file = tmp_path / "m.onnx"
    graph = helper.make_graph([helper.make_node("Unique", ["x"], ["y"], name="uniq")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(onnx_file))
    (tmp_path / "junk.onnx").write_bytes(b"x")
    spec = write_spec(tmp_path / "s.yaml", make_spec(tiny_data, tmp_path, **{
        "gen_trt_engine.onnx_file": str(tmp_path / "missing.onnx")}))
    assert run_action("gen_trt_engine", spec) == 1
    assert "gen_trt_engine.onnx_file" in _log(tmp_path) and "missing.onnx does not exist" in _log(tmp_path)
    assert run_action("gen_trt_engine", spec, f"gen_trt_engine.onnx_file={tmp_path / 'junk.onnx'}") == 1
    assert "junk.onnx is not a readable ONNX model" in _log(tmp_path)
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # import fails like a missing package
    assert run_action("gen_trt_engine", spec, f"gen_trt_engine.onnx_file={onnx_file}") == 1
    assert "`tensorrt` package is not installed" in _log(tmp_path)
    assert "uniq: operator not supported by TensorRT" in _log(tmp_path)  # warned before the TensorRT check
    monkeypatch.setitem(sys.modules, "tensorrt", type(sys)("tensorrt"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert run_action("gen_trt_engine", spec, f"gen_trt_engine.onnx_file={onnx_file}") == 1
    assert "needs an NVIDIA GPU" in _log(tmp_path)


# ------------------------------------------------------------------ entrypoint and bad input
def test_override_parsing():
    assert parse_value("3") == 3 and parse_value("1e-4") == 1e-4 and parse_value("true") is True
    assert parse_value("[1, 2]") == [1, 2] and parse_value("abc") == "abc" and parse_value("") == ""
    assert parse_overrides(["a.b=2", "c=x=y"]) == {"a.b": 2, "c": "x=y"}
    with pytest.raises(ValueError, match="dotted.key=value"):
        parse_overrides(["novalue"])


def test_invalid_spec_exits_2(tiny_data, tmp_path, capsys):
    spec = write_spec(tmp_path / "s.yaml", make_spec(tiny_data, tmp_path))
    assert run_action("train", spec, "train.num_epochs=0") == 2
    assert "train.num_epochs" in capsys.readouterr().err
    assert run_action("train", spec, "train.no_such_key=1") == 2
    assert run_action("fly", spec) == 2
    assert run_action("train", tmp_path / "missing.yaml") == 2


def test_bad_inputs_fail_with_one_line_and_no_traceback(tiny_data, trained_2d, tmp_path):
    spec = write_spec(tmp_path / "s.yaml", make_spec(tiny_data, tmp_path / "out"))
    other = tmp_path / "other_net.pth"
    torch.save({"state_dict": {"encoder.weight": torch.zeros(3)}, "network": "dino"}, other)
    foreign = tmp_path / "foreign.pth"
    torch.save({"encoder.weight": torch.zeros(3), "head.bias": torch.zeros(2)}, foreign)
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "bad.png").write_bytes(b"not an image")
    ck = str(trained_2d / "latest.pth")
    cases = [
        (("evaluate", "evaluate.checkpoint=/nope/model.pth"), "/nope/model.pth does not exist"),
        (("evaluate", f"evaluate.checkpoint={other}"), "belongs to network `dino`"),
        (("export", f"export.checkpoint={foreign}"), "does not hold NVPanoptix3D weights"),
        (("inference", f"inference.checkpoint={ck}", f"inference.images_dir={empty}"), "holds no images"),
        (("inference", f"inference.checkpoint={ck}", "inference.images_dir=/nope/dir"), "/nope/dir does not exist"),
    ]
    log = tmp_path / "out" / "log.txt"
    for args, needle in cases:
        before = len(log.read_text()) if log.exists() else 0
        assert run_action(*args[:1], spec, *args[1:]) == 1, args
        errors = [ln for ln in log.read_text()[before:].splitlines() if " ERROR " in ln]
        assert len(errors) == 1 and needle in errors[0], (args, errors)
        assert "Traceback" not in log.read_text(), args
    # The console of a real process: one error line naming the file, no traceback, exit 1.
    proc = run_subprocess("inference", spec, f"inference.checkpoint={ck}", f"inference.images_dir={broken}")
    assert proc.returncode == 1, proc.stderr[-2000:]
    errors = [ln for ln in proc.stderr.splitlines() if " ERROR " in ln]
    assert len(errors) == 1 and "unreadable image" in errors[0] and "bad.png" in errors[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


def test_two_process_ddp_on_cpu(tiny_data, tmp_path):
    spec = write_spec(tmp_path / "s.yaml", make_spec(tiny_data, tmp_path, **{
        "train.num_gpus": 2, "train.num_epochs": 2}))
    proc = run_subprocess("train", spec, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "world size 2, strategy ddp" in _log(tmp_path)
    st = json.loads((tmp_path / "status.json").read_text())
    # 4 training samples over 2 processes with batch 2: one step per epoch.
    assert st["status"] == "done" and [(e["epoch"], e["step"]) for e in st["entries"]] == [(0, 1), (1, 2)]
    assert sorted(p.name for p in tmp_path.glob("model_*.pth")) == ["model_epoch_000_step_00001.pth",
                                                                     "model_epoch_001_step_00002.pth"]
    shutil.rmtree(tmp_path / "lightning_logs", ignore_errors=True)
