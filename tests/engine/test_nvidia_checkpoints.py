"""NVIDIA-format checkpoints through the six spec keys that take weights.

The files are built from our tiny model's weights in NVIDIA's layouts: a TAO Lightning ``.pth`` (``state_dict``
with ``model.``-prefixed keys, ``criterion.empty_weight``, ``tao_model`` for 3D, no ``stage`` or ``network``
entry), the released 3D file's possible layouts (``{"model": ...}``, raw, ``module.`` prefixes) and a raw
VGGT backbone file (``aggregator.*``, ``camera_head.*``, ``depth_head.*`` plus VGGT heads we do not have).
"""

from __future__ import annotations

import json
import logging
import tarfile
from pathlib import Path

import pytest
import torch

from nvpanoptix3d.engine.checkpoint_io import is_3d_param, save_checkpoint

from .conftest import make_spec, run_action, run_subprocess, write_spec

NUM_CLASSES_PLUS_ONE = 14  # criterion.empty_weight of NVIDIA's 13-class default


def _lightning(state: dict[str, torch.Tensor], *, three_d: bool = False) -> dict:
    """A TAO Lightning checkpoint of a model state dict (what NVIDIA's trainer writes)."""
    ck = {"epoch": 4, "global_step": 1234, "pytorch-lightning_version": "2.5.0",
          "state_dict": {**{f"model.{k}": v for k, v in state.items()},
                         "criterion.empty_weight": torch.ones(NUM_CLASSES_PLUS_ONE)},
          "loops": {"fit_loop": {"state_dict": {}}}, "callbacks": {}, "optimizer_states": [], "lr_schedulers": []}
    if three_d:
        ck["tao_model"] = "panoptic_recon_3d"
    return ck


def _model_state(path: Path) -> dict[str, torch.Tensor]:
    """The network's state dict (no wrapper prefix) of one of our checkpoints."""
    sd = torch.load(path, map_location="cpu", weights_only=False)["state_dict"]
    return {k.removeprefix("model."): v for k, v in sd.items()}


def _log(res: Path) -> str:
    return (res / "log.txt").read_text()


def _warnings(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if " WARNING " in ln]


@pytest.fixture(scope="module")
def nv_2d(trained_2d, tmp_path_factory) -> dict[str, Path]:
    """NVIDIA-layout files of the trained tiny 2D model: TAO Lightning, the same lacking 3 tensors, VGGT."""
    out = tmp_path_factory.mktemp("nv2d")
    state = _model_state(trained_2d / "latest.pth")
    files = {"lightning": out / "panoptic_recon_3d_model_latest.pth", "partial": out / "partial.pth",
             "vggt": out / "vggt.pt"}
    torch.save(_lightning(state), files["lightning"])
    partial = _lightning(state)
    dropped = [k for k in partial["state_dict"] if k.endswith("class_embed.weight")][:1] + \
        [k for k in partial["state_dict"] if k.startswith("model.backbone.camera_head.")][:1] + \
        [k for k in partial["state_dict"] if k.startswith("model.backbone.aggregator.")][-1:]
    for k in dropped:
        del partial["state_dict"][k]
    torch.save(partial, files["partial"])
    vggt = {k.removeprefix("backbone."): v for k, v in state.items()
            if k.startswith(("backbone.aggregator.", "backbone.camera_head.", "backbone.depth_head."))}
    vggt.update({"point_head.scratch.output_conv2.2.weight": torch.zeros(4, 2, 1, 1),
                 "track_head.fnet.norm.weight": torch.zeros(3)})
    torch.save(vggt, files["vggt"])
    files["dropped"] = [k.removeprefix("model.") for k in dropped]  # type: ignore[assignment]
    return files


def _one_image(tiny_data: Path, dest: Path) -> Path:
    """A folder with one image of the synthetic data set."""
    with tarfile.open(tiny_data / "images.tar.gz") as tf:
        tf.extractall(dest / "all", filter="data")
    (dest / "one").mkdir()
    first = sorted((dest / "all").rglob("*.png"))[0]
    first.rename(dest / "one" / first.name)
    return dest / "one"


def _spec(tiny_data: Path, res: Path, **over) -> Path:
    res.mkdir(parents=True, exist_ok=True)
    return write_spec(res / "spec.yaml", make_spec(tiny_data, res, **over))


def _assert_clean_load(res: Path) -> None:
    """The job loaded every tensor and used every tensor of the file (criterion.empty_weight aside)."""
    text = _log(res)
    assert "lacks" not in text and "not used by this model" not in text, _warnings(text)
    assert "training-only tensors" in text and "criterion.empty_weight" in text


# ------------------------------------------------------------------ (a) 2D: every key loads, every job runs
def test_lightning_2d_through_evaluate_inference_export(tiny_data, nv_2d, tmp_path):
    ck = str(nv_2d["lightning"])
    res = tmp_path / "eval"
    assert run_action("evaluate", _spec(tiny_data, res, **{"evaluate.checkpoint": ck})) == 0
    kpi = json.loads((res / "status.json").read_text())["entries"][0]["kpi"]
    assert "PQ" in kpi and "PRQ" not in kpi
    _assert_clean_load(res)
    assert "2d-stage weights" in _log(res) and "(epoch 4, step 1234)" in _log(res)

    res = tmp_path / "infer"
    assert run_action("inference", _spec(tiny_data, res, **{
        "inference.checkpoint": ck, "inference.images_dir": str(_one_image(tiny_data, tmp_path / "img"))})) == 0
    index = json.loads((res / "inference" / "index.json").read_text())
    assert index["stage"] == "2d" and len(index["images"]) == 1
    _assert_clean_load(res)

    res = tmp_path / "export"
    spec = _spec(tiny_data, res, **{"export.checkpoint": ck, "export.input_width": 160, "export.input_height": 120,
                                    "export.batch_size": 1})
    with torch.no_grad():
        assert run_action("export", spec) == 0
    assert (res / "model_2d.onnx").stat().st_size > 0 and not (res / "model_3d.onnx").exists()
    _assert_clean_load(res)


def test_lightning_2d_as_checkpoint_2d_and_as_pretrained_backbone(tiny_data, nv_2d, trained_2d, tmp_path):
    """train.checkpoint_2d takes the whole 2D model; model.backbone.pretrained_model_path its backbone (the
    TAO file's head tensors are listed as unused)."""
    res = tmp_path / "train"
    assert run_action("train", _spec(tiny_data, res, **{
        "train.checkpoint_2d": str(nv_2d["lightning"]), "train.is_dry_run": True})) == 0
    _assert_clean_load(res)
    assert "2D stage initialised from" in _log(res)
    assert json.loads((res / "status.json").read_text())["status"] == "done"

    from nvpanoptix3d.config.loader import load_spec
    from nvpanoptix3d.engine import build
    from nvpanoptix3d.engine.train import initialise_weights

    spec = load_spec(_spec(tiny_data, tmp_path / "pre", **{
        "model.backbone.pretrained_model_path": str(nv_2d["lightning"])}))
    model = build.build_model(spec)
    initialise_weights(model, spec, "2d", None)
    want = _model_state(trained_2d / "latest.pth")
    for k, v in model.backbone.state_dict().items():
        assert torch.equal(v, want[f"backbone.{k}"]), k


# ------------------------------------------------------------------ (b) a file lacking tensors is an error naming them
@pytest.mark.parametrize("action,key", [("evaluate", "evaluate.checkpoint"), ("inference", "inference.checkpoint"),
                                        ("export", "export.checkpoint"), ("train", "train.checkpoint_2d")])
def test_missing_tensors_fail_and_are_named(tiny_data, nv_2d, tmp_path, action, key):
    res = tmp_path / "out"
    spec = _spec(tiny_data, res, **{key: str(nv_2d["partial"]), "train.is_dry_run": True,
                                    "inference.images_dir": str(tiny_data / "images.tar.gz")})
    assert run_action(action, spec) == 1
    errors = [ln for ln in _log(res).splitlines() if " ERROR " in ln]
    assert len(errors) == 1 and "lacks 3 of the" in errors[0], errors
    assert all(name in errors[0] for name in nv_2d["dropped"]), errors
    assert key in errors[0] and "Traceback" not in _log(res)


def test_missing_tensors_through_the_entrypoint_process(tiny_data, nv_2d, tmp_path):
    spec = _spec(tiny_data, tmp_path / "out")
    proc = run_subprocess("evaluate", spec, f"evaluate.checkpoint={nv_2d['partial']}")
    assert proc.returncode != 0
    errors = [ln for ln in proc.stderr.splitlines() if " ERROR " in ln]
    assert len(errors) == 1 and all(name in errors[0] for name in nv_2d["dropped"]), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


# ------------------------------------------------------------------ (c) a raw VGGT file as the pretrained backbone
def test_vggt_file_as_pretrained_backbone(tiny_data, nv_2d, trained_2d, tmp_path, caplog):
    from nvpanoptix3d.config.loader import load_spec
    from nvpanoptix3d.engine import build
    from nvpanoptix3d.engine.train import initialise_weights

    want = _model_state(trained_2d / "latest.pth")
    spec = load_spec(_spec(tiny_data, tmp_path / "direct", **{
        "model.backbone.pretrained_model_path": str(nv_2d["vggt"])}))
    model = build.build_model(spec)
    before = {k: v.clone() for k, v in model.backbone.dpt2pixeldecoder.state_dict().items()}
    with caplog.at_level(logging.INFO, logger="nvpanoptix3d"):
        initialise_weights(model, spec, "2d", None)
    for k, v in model.backbone.state_dict().items():
        if k.startswith(("aggregator.", "camera_head.", "depth_head.")):
            assert torch.equal(v, want[f"backbone.{k}"]), k
    assert all(torch.equal(v, before[k]) for k, v in model.backbone.dpt2pixeldecoder.state_dict().items())
    unused = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "not used" in r.getMessage()]
    assert len(unused) == 1 and "2 tensors" in unused[0], unused
    assert "point_head.scratch.output_conv2.2.weight" in unused[0] and "track_head.fnet.norm.weight" in unused[0]
    assert any("holds no dpt2pixeldecoder" in r.getMessage() for r in caplog.records)

    # ``module.``-prefixed, with the dpt2pixeldecoder, under a "model" entry; and through a train job
    vggt = torch.load(nv_2d["vggt"], weights_only=True)
    vggt.update({k.removeprefix("backbone."): v for k, v in want.items() if k.startswith("backbone.dpt2pixeldecoder.")})
    torch.save({"model": {f"module.{k}": v for k, v in vggt.items()}}, tmp_path / "vggt_full.pth")
    res = tmp_path / "train"
    assert run_action("train", _spec(tiny_data, res, **{
        "model.backbone.pretrained_model_path": str(tmp_path / "vggt_full.pth"), "train.is_dry_run": True})) == 0
    text = _log(res)
    assert "backbone initialised from" in text and "holds no" not in text
    (warn,) = [ln for ln in _warnings(text) if "not used by this model" in ln]
    assert "point_head.scratch.output_conv2.2.weight" in warn and "track_head.fnet.norm.weight" in warn

    # a VGGT file lacking a tensor of a part it holds is an error naming it
    del vggt["camera_head.trunk.0.norm1.weight"]
    torch.save(vggt, tmp_path / "vggt_partial.pth")
    res = tmp_path / "bad"
    assert run_action("train", _spec(tiny_data, res, **{
        "model.backbone.pretrained_model_path": str(tmp_path / "vggt_partial.pth"), "train.is_dry_run": True})) == 1
    (err,) = [ln for ln in _log(res).splitlines() if " ERROR " in ln]
    assert "camera_head.trunk.0.norm1.weight" in err and "model.backbone.pretrained_model_path" in err


def test_encrypted_own_checkpoint_and_stage_mismatch(tiny_data, nv_2d, trained_2d, tmp_path):
    """Our encrypted files load like NVIDIA's; a 2D file cannot serve the 3D stage or be train.checkpoint_3d."""
    ck = torch.load(trained_2d / "latest.pth", map_location="cpu", weights_only=False)
    save_checkpoint({"state_dict": ck["state_dict"], "network": "nvpanoptix3d", "stage": "2d"},
                    tmp_path / "enc.pth", key="pass phrase")
    res = tmp_path / "enc"
    assert run_action("evaluate", _spec(tiny_data, res, **{"evaluate.checkpoint": str(tmp_path / "enc.pth"),
                                                           "encryption_key": "pass phrase"})) == 0
    assert "lacks" not in _log(res) and "not used by this model" not in _log(res)
    assert not any(is_3d_param(k) for k in torch.load(nv_2d["lightning"], weights_only=True)["state_dict"])
    for action, key, needle in (("evaluate", "evaluate.checkpoint", "is a 2D-stage checkpoint"),
                                ("train", "train.checkpoint_3d", "holds no 3D-stage tensors")):
        res = tmp_path / action
        assert run_action(action, _spec(tiny_data, res, **{key: str(nv_2d["lightning"]),
                                                           "dataset.enable_3d": True})) == 1
        (err,) = [ln for ln in _log(res).splitlines() if " ERROR " in ln]
        assert needle in err and key in err, err


# ------------------------------------------------------------------ 3D: TAO Lightning and the released layouts
@pytest.fixture(scope="module")
def nv_3d(tiny_data, trained_2d, tmp_path_factory) -> dict[str, Path]:
    """3D files: the trained tiny 2D model's tensors plus freshly initialised 3D modules (projector.*,
    completion.*), as TAO Lightning writes them and in two layouts the released file may have."""
    from nvpanoptix3d.config.loader import load_spec
    from nvpanoptix3d.engine import build

    out = tmp_path_factory.mktemp("nv3d")
    spec = load_spec(_spec(tiny_data, out / "build", **{"dataset.enable_3d": True}))
    torch.manual_seed(0)
    full = build.build_model(spec, stage="3d").state_dict()
    two_d = _model_state(trained_2d / "latest.pth")
    assert set(two_d) == {k for k in full if not is_3d_param(k)}
    assert {k.split(".")[0] for k in full if is_3d_param(k)} == {"projector", "completion"}
    state = {**two_d, **{k: v for k, v in full.items() if is_3d_param(k)}}
    files = {"lightning": out / "panoptic_recon_3d_model_latest.pth", "released": out / "tao_vggt_front3d.pth",
             "raw": out / "raw_3d.pth", "partial": out / "partial_3d.pth"}
    torch.save(_lightning(state, three_d=True), files["lightning"])
    torch.save({"model": {f"module.{k}": v for k, v in state.items()}, "epoch": 30}, files["released"])
    torch.save(state, files["raw"])
    lost = sorted(k for k in state if k.startswith("completion."))[0]
    torch.save({k: v for k, v in state.items() if k != lost}, files["partial"])
    files["state"] = state  # type: ignore[assignment]
    return files


def _spec_3d(tiny_data: Path, res: Path, **over) -> Path:
    return _spec(tiny_data, res, **{"dataset.enable_3d": True, **over})


def test_lightning_3d_through_every_key(tiny_data, nv_3d, tmp_path, caplog):
    """inference, export (both ONNX models) and train (checkpoint_2d and checkpoint_3d the same file) run
    from a TAO Lightning 3D file; evaluate.checkpoint reads it through the same loader (its job runs in
    the released-layout test)."""
    from nvpanoptix3d.config.loader import load_spec
    from nvpanoptix3d.engine.predict import load_for_prediction

    ck = str(nv_3d["lightning"])
    spec = load_spec(_spec_3d(tiny_data, tmp_path / "direct", **{"evaluate.checkpoint": ck}))
    model, stage, meta, _ = load_for_prediction(spec, "evaluate", stage="3d")
    assert stage == "3d" and meta["step"] == 1234
    assert all(torch.equal(model.state_dict()[k], v) for k, v in nv_3d["state"].items())
    with caplog.at_level(logging.INFO, logger="nvpanoptix3d"):  # the 2D stage served by a 3D file
        model, stage, _, _ = load_for_prediction(spec, "evaluate", stage="2d")
    assert stage == "2d" and not hasattr(model, "completion")
    assert any("belong to the other stage" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    res = tmp_path / "infer"
    assert run_action("inference", _spec_3d(tiny_data, res, **{
        "inference.checkpoint": ck, "inference.images_dir": str(_one_image(tiny_data, tmp_path / "img"))})) == 0
    assert json.loads((res / "inference" / "index.json").read_text())["stage"] == "3d"
    _assert_clean_load(res)
    assert "3d-stage weights" in _log(res)

    res = tmp_path / "export"
    with torch.no_grad():
        assert run_action("export", _spec_3d(tiny_data, res, **{
            "export.checkpoint": ck, "export.input_width": 160, "export.input_height": 120,
            "export.batch_size": 1, "export.max_voxels": 40000})) == 0
    assert (res / "model_2d.onnx").is_file() and (res / "model_3d.onnx").is_file()
    _assert_clean_load(res)

    res = tmp_path / "train"
    assert run_action("train", _spec_3d(tiny_data, res, **{
        "train.checkpoint_2d": ck, "train.checkpoint_3d": ck, "train.is_dry_run": True})) == 0
    _assert_clean_load(res)
    assert "2D stage initialised from" in _log(res) and "3D stage initialised from" in _log(res)


def test_released_3d_layouts_as_checkpoint_3d_and_evaluate(tiny_data, nv_3d, trained_2d, tmp_path, caplog):
    """``{"model": {"module.*": ...}}`` and a raw state dict, without stage or tao_model entries, initialise
    the 3D modules as train.checkpoint_3d (a train job from a 3D file runs in the Lightning test) and serve
    evaluate (its job runs here)."""
    from nvpanoptix3d.config.loader import load_spec
    from nvpanoptix3d.engine import build
    from nvpanoptix3d.engine.predict import load_trained_model
    from nvpanoptix3d.engine.train import initialise_weights

    spec = load_spec(_spec_3d(tiny_data, tmp_path / "direct", **{
        "train.checkpoint_2d": str(trained_2d / "latest.pth"), "train.checkpoint_3d": str(nv_3d["released"])}))
    model = build.build_model(spec, stage="3d")
    with caplog.at_level(logging.INFO, logger="nvpanoptix3d"):
        initialise_weights(model, spec, "3d", None)
    got = model.state_dict()
    assert all(torch.equal(got[k], v) for k, v in nv_3d["state"].items())
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    for name, epoch in (("released", 30), ("raw", 0)):
        model, stage, meta = load_trained_model(spec, str(nv_3d[name]), key=None, what="evaluate.checkpoint")
        assert stage == "3d" and meta["epoch"] == epoch
        assert all(torch.equal(model.state_dict()[k], v) for k, v in nv_3d["state"].items())

    res = tmp_path / "eval"
    assert run_action("evaluate", _spec_3d(tiny_data, res, **{"evaluate.checkpoint": str(nv_3d["raw"])})) == 0
    assert "PRQ" in json.loads((res / "status.json").read_text())["entries"][0]["kpi"]
    assert "lacks" not in _log(res) and "not used by this model" not in _log(res)

    # a 3D file lacking a completion tensor: train.checkpoint_3d and evaluate name it
    lost = sorted(k for k in nv_3d["state"] if k.startswith("completion."))[0]
    for action, key in (("train", "train.checkpoint_3d"), ("evaluate", "evaluate.checkpoint")):
        res = tmp_path / f"bad_{action}"
        spec = _spec_3d(tiny_data, res, **{key: str(nv_3d["partial"]), "train.is_dry_run": True,
                                           "train.checkpoint_2d": str(trained_2d / "latest.pth")})
        assert run_action(action, spec) == 1
        (err,) = [ln for ln in _log(res).splitlines() if " ERROR " in ln]
        assert lost in err and key in err, err
