"""Training through the entrypoint on the tiny synthetic data: precisions, resume, 3D stage, encryption."""

import json
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from nvpanoptix3d.engine.checkpoint_io import is_encrypted, load_checkpoint
from nvpanoptix3d.engine.optim import WarmupPoly

from .conftest import make_spec, run_action, write_spec


def _status(res):
    return json.loads((res / "status.json").read_text())


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_train_2d_each_precision(tiny_data, tmp_path, precision):
    spec = write_spec(tmp_path / "spec.yaml", make_spec(tiny_data, tmp_path, **{
        "train.num_epochs": 1, "train.precision": precision}))
    assert run_action("train", spec) == 0
    st = _status(tmp_path)
    assert st["status"] == "done" and st["action"] == "train"
    (entry,) = st["entries"]
    assert (entry["epoch"], entry["step"]) == (0, 2)
    assert {"PQ", "SQ", "RQ", "AbsRel", "val_loss", "train_loss"} <= set(entry["kpi"])
    assert st["monitor"] == {"metric": "val_loss", "direction": "minimize"}
    assert entry["loss"]["loss"] > 0 and entry["kpi"]["val_loss"] == entry["loss"]["loss"]
    ck = load_checkpoint(tmp_path / "model_epoch_000_step_00002.pth")
    assert ck["network"] == "nvpanoptix3d" and ck["stage"] == "2d" and ck["global_step"] == 2
    assert {"optimizer_states", "lr_schedulers", "rng", "config", "loops"} <= set(ck)
    assert all(torch.isfinite(v).all() for v in ck["state_dict"].values() if v.is_floating_point())
    log = (tmp_path / "log.txt").read_text()
    assert f"precision {precision}" in log and "saved checkpoint model_epoch_000_step_00002.pth" in log


def _final_weights(res):
    return load_checkpoint(res / "latest.pth")["state_dict"]


def _same(a, b):
    assert a.keys() == b.keys()
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in a) == 0.0


def test_resume_mid_epoch_and_at_epoch_boundary_reproduce_the_run(tiny_data, tmp_path):
    # MultiStep at epoch 1 halves the lr, so a schedule step lost on resume would change the weights.
    common = {"train.num_epochs": 2, "train.optim.milestones": [1], "train.optim.gamma": 0.5}
    by_epoch, by_step = tmp_path / "by_epoch", tmp_path / "by_step"
    for res, unit in ((by_epoch, "epoch"), (by_step, "step")):
        res.mkdir()
        spec = write_spec(res / "spec.yaml", make_spec(tiny_data, res, **common, **{
            "train.checkpoint_interval_unit": unit}))
        assert run_action("train", spec) == 0
    assert sorted(p.name for p in by_epoch.glob("model_*.pth")) == [
        "model_epoch_000_step_00002.pth", "model_epoch_001_step_00004.pth"]
    assert len(list(by_step.glob("model_*.pth"))) == 4
    reference = _final_weights(by_step)
    assert _same(reference, _final_weights(by_epoch))
    for src, ckpt in ((by_step, "model_epoch_000_step_00001.pth"), (by_step, "model_epoch_001_step_00003.pth"),
                      (by_epoch, "model_epoch_000_step_00002.pth")):
        res = tmp_path / f"resume_{src.name}_{ckpt[:-4]}"
        shutil.copytree(src, res)
        for later in res.glob("model_*.pth"):
            if later.name > ckpt:
                later.unlink()
        spec = write_spec(res / "spec.yaml", make_spec(tiny_data, res, **common, **{
            "train.checkpoint_interval_unit": "epoch" if src is by_epoch else "step",
            "train.resume_training_checkpoint_path": str(res / ckpt)}))
        assert run_action("train", spec) == 0
        assert (res / "model_epoch_001_step_00004.pth").exists(), f"no new checkpoint after resuming {ckpt}"
        assert _same(reference, _final_weights(res)), f"resume from {ckpt} diverged"
        st = _status(res)
        assert [e["step"] for e in st["entries"]] == [2, 4]


def test_warmuppoly_stops_at_max_steps_and_saves_the_final_state(tiny_data, tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", make_spec(tiny_data, tmp_path, **{
        "train.num_epochs": 5, "train.optim.lr_scheduler": "Warmuppoly", "train.optim.max_steps": 3,
        "train.optim.warmup_iters": 2, "train.optim.warmup_factor": 0.1, "train.checkpoint_interval": 5}))
    assert run_action("train", spec) == 0
    ck = load_checkpoint(tmp_path / "latest.pth")
    assert ck["global_step"] == 3 and (tmp_path / "model_epoch_001_step_00003.pth").exists()
    assert ck["lr_schedulers"][0]["last_epoch"] == 3
    lr = ck["optimizer_states"][0]["param_groups"][-1]["lr"]
    assert lr == pytest.approx(0.001 * WarmupPoly(max_steps=3, warmup_iters=2, warmup_factor=0.1)(3))


def test_3d_stage_trains_from_2d_checkpoint_with_frozen_2d(trained_2d, trained_3d):
    st = _status(trained_3d)
    assert st["monitor"]["metric"] == "val_loss"  # train.optim.monitor_name (default)
    assert st["best"]["metric"] == "val_loss"
    entry = st["entries"][-1]
    assert {"PRQ", "RSQ", "RRQ", "PRQ_th", "PRQ_st", "PQ"} <= set(entry["kpi"])
    assert "3d" in entry["per_class"]
    ck3 = load_checkpoint(trained_3d / "latest.pth")
    assert ck3["stage"] == "3d"
    ck2 = load_checkpoint(trained_2d / "latest.pth")["state_dict"]
    s3 = ck3["state_dict"]
    shared = [k for k in ck2 if k in s3]
    assert len(shared) == len(ck2)
    changed = [k for k in shared if not torch.equal(ck2[k], s3[k])]
    assert not changed, f"2D weights changed in the 3D stage: {changed[:5]}"
    assert any(k.startswith("model.completion.") for k in s3)


def test_encrypted_training_resume_and_wrong_key(tiny_data, tmp_path, monkeypatch):
    secret = "correct horse battery staple"
    monkeypatch.setenv("TAO_SKILL_ENCRYPTION_KEY", secret)
    spec = write_spec(tmp_path / "spec.yaml", make_spec(tiny_data, tmp_path, **{
        "encryption_key": "***", "train.num_epochs": 1}))
    assert run_action("train", spec) == 0
    ckpt = tmp_path / "model_epoch_000_step_00002.pth"
    assert is_encrypted(ckpt) and is_encrypted(tmp_path / "latest.pth")
    assert load_checkpoint(ckpt, key=secret)["global_step"] == 2
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert secret.encode() not in f.read_bytes(), f"key leaked into {f.name}"
    spec2 = write_spec(tmp_path / "spec2.yaml", make_spec(tiny_data, tmp_path, **{
        "encryption_key": "***", "train.num_epochs": 2, "train.resume_training_checkpoint_path": str(ckpt)}))
    assert run_action("train", spec2) == 0
    assert is_encrypted(tmp_path / "model_epoch_001_step_00004.pth")
    monkeypatch.setenv("TAO_SKILL_ENCRYPTION_KEY", "wrong key")
    ev = write_spec(tmp_path / "ev.yaml", make_spec(tiny_data, tmp_path / "ev", **{
        "encryption_key": "***", "evaluate.checkpoint": str(ckpt)}))
    assert run_action("evaluate", ev) == 1
    assert "wrong encryption_key" in (tmp_path / "ev" / "log.txt").read_text()


def test_killed_training_leaves_a_loadable_checkpoint(tiny_data, tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", make_spec(tiny_data, tmp_path, **{
        "train.num_epochs": 1000, "train.checkpoint_interval_unit": "step", "train.checkpoint_interval": 1,
        "train.validation_interval": 1000}))
    proc = subprocess.Popen([sys.executable, "-m", "nvpanoptix3d.entrypoint", "train", "-e", str(spec)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("model_*.pth"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    saved = sorted(load_checkpoint(f)["global_step"] for f in tmp_path.glob("model_*.pth"))
    assert len(saved) >= 3
    ck = load_checkpoint(tmp_path / "latest.pth")
    # the kill may land between a step's model file and its latest.pth: latest is then the step before
    assert ck["global_step"] >= saved[-1] - 1 and ck["global_step"] >= 2 and ck["state_dict"]
    assert _status(tmp_path)["status"] == "running"  # killed: never marked done
