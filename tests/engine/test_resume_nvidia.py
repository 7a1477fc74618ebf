"""Resuming from a checkpoint NVIDIA's TAO trainer wrote (TAO Lightning layout, built here from our tiny run's
checkpoint: ``model.``-prefixed tensors + ``criterion.empty_weight``, ``epoch``, ``global_step``, Lightning's
loops without our loader state, ``optimizer_states``, ``lr_schedulers``, ``hyper_parameters``, none of our
entries), and the per-epoch schedule on resume (stepped once, not twice)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from nvpanoptix3d.engine.checkpoint_io import load_checkpoint
from nvpanoptix3d.engine.resume_tao import _loops, _position

from .conftest import make_spec, run_action, write_spec

OURS_ONLY = ("network", "stage", "config", "rng", "saved_at_epoch_end", "architecture")


def _tao(ours: Path, **changes) -> dict:
    """A TAO Lightning checkpoint holding what ``ours`` holds, in TAO's layout."""
    ck = torch.load(ours, map_location="cpu", weights_only=False)
    fit = {k: v for k, v in ck["loops"]["fit_loop"].items() if k != "state_dict"}  # no loader state of ours
    tao = {**{k: v for k, v in ck.items() if k not in OURS_ONLY}, "pytorch-lightning_version": "2.5.0",
           "state_dict": {**ck["state_dict"], "criterion.empty_weight": torch.ones(14)},
           "loops": {"fit_loop": fit}, "callbacks": {}, "hyper_parameters": {"model": {"mode": "panoptic"}}}
    assert all(k.startswith("model.") for k in ck["state_dict"])
    tao.update(changes)
    return tao


def _resume(tiny_data: Path, res: Path, checkpoint: dict | Path, **over) -> tuple[int, str]:
    res.mkdir(parents=True, exist_ok=True)
    if isinstance(checkpoint, dict):
        torch.save(checkpoint, res / "nvidia.pth")
        checkpoint = res / "nvidia.pth"
    spec = write_spec(res / "spec.yaml", make_spec(tiny_data, res, **over, **{
        "train.resume_training_checkpoint_path": str(checkpoint)}))
    rc = run_action("train", spec)
    return rc, (res / "log.txt").read_text() if (res / "log.txt").exists() else ""


def _max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in a)


def test_a_tao_checkpoint_resumes_weights_position_optimiser_and_schedule_exactly(tiny_data, trained_2d, tmp_path):
    rc, log = _resume(tiny_data, tmp_path, _tao(trained_2d / "model_epoch_000_step_00002.pth"))
    assert rc == 0, log
    assert "epoch 0, step 2, written at the end of its epoch" in log
    assert "optimiser state (AdamW moments, lr of each group) restored" in log
    assert "learning-rate schedule state restored" in log and "criterion.empty_weight" in log
    assert " WARNING " not in log
    ref, got = load_checkpoint(trained_2d / "latest.pth"), load_checkpoint(tmp_path / "latest.pth")
    assert (got["epoch"], got["global_step"]) == (ref["epoch"], ref["global_step"]) == (1, 4)
    assert _max_diff(ref["state_dict"], got["state_dict"]) == 0.0  # the uninterrupted run, bit for bit
    st = json.loads((tmp_path / "status.json").read_text())
    assert st["status"] == "done" and [e["step"] for e in st["entries"]] == [4]


def test_an_optimiser_of_another_structure_starts_fresh_with_a_warning_and_the_schedule_in_place(
        tiny_data, trained_2d, tmp_path):
    tao = _tao(trained_2d / "model_epoch_000_step_00002.pth")
    opt = tao["optimizer_states"][0]
    ids = [i for g in opt["param_groups"] for i in g["params"]]
    opt["param_groups"] = [dict(opt["param_groups"][0], params=ids)]  # one group of everything (not ours)
    tao["lr_schedulers"] = [{"last_epoch": 1, "base_lrs": [1e-3], "lr_lambdas": [None]}]  # another kind
    rc, log = _resume(tiny_data, tmp_path, tao)
    assert rc == 0, log
    warned = [ln for ln in log.splitlines() if " WARNING " in ln]
    assert any("1 parameter groups in the file, 4 in this model's optimiser" in ln and
               "the optimiser starts fresh" in ln for ln in warned), warned
    assert any("schedule of the spec (MultiStepLR) placed at epoch 1" in ln for ln in warned), warned
    assert "Traceback" not in log
    ref, got = load_checkpoint(trained_2d / "latest.pth"), load_checkpoint(tmp_path / "latest.pth")
    assert got["global_step"] == 4 and got["lr_schedulers"][0]["last_epoch"] == ref["lr_schedulers"][0]["last_epoch"]
    assert [g["lr"] for g in got["optimizer_states"][0]["param_groups"]] == \
        [g["lr"] for g in ref["optimizer_states"][0]["param_groups"]]
    assert _max_diff(ref["state_dict"], got["state_dict"]) > 0  # fresh moments: another trajectory


def test_a_tao_file_lacking_tensors_or_of_the_other_stage_is_a_clear_error(tiny_data, trained_2d, tmp_path):
    tao = _tao(trained_2d / "model_epoch_000_step_00002.pth")
    dropped = sorted(k for k in tao["state_dict"] if k.endswith("class_embed.weight"))[:1]
    for k in dropped:
        del tao["state_dict"][k]
    rc, log = _resume(tiny_data, tmp_path / "lacking", tao)
    assert rc != 0 and "lacks 1 of the" in log and dropped[0].removeprefix("model.") in log, log
    rc, log = _resume(tiny_data, tmp_path / "stage", _tao(trained_2d / "model_epoch_000_step_00002.pth"),
                      **{"dataset.enable_3d": True})
    assert rc != 0 and "is a 2d checkpoint but dataset.enable_3d selects the 3d stage" in log, log
    assert "Traceback" not in log


def test_the_loop_position_of_a_file_written_inside_its_epoch():
    fit = {"epoch_progress": {"current": {"ready": 3, "started": 3, "processed": 2, "completed": 2}},
           "epoch_loop.batch_progress": {"current": {"ready": 1, "started": 1, "processed": 1, "completed": 1},
                                         "is_last_batch": False}}
    assert _position({"loops": {"fit_loop": fit}})[:2] == (False, 1)
    assert _position({})[:2] == (True, 0)  # no loop state: TAO's per-epoch checkpoints
    template = {"state_dict": {}, "epoch_progress": {p: {"ready": 0, "started": 0, "processed": 0, "completed": 0}
                                                     for p in ("total", "current")},
                "epoch_loop.batch_progress": {p: {"ready": 0, "started": 0, "processed": 0, "completed": 0}
                                              for p in ("total", "current")} | {"is_last_batch": False},
                "epoch_loop.state_dict": {"_batches_that_stepped": 0}}
    mid = _loops(template, epoch=2, step=9, at_end=False, done=1, loader_seed=7)
    assert mid["epoch_progress"]["current"] == {"ready": 3, "started": 3, "processed": 2, "completed": 2}
    assert mid["state_dict"]["combined_loader"] == [{"epoch": 2, "batches_done": 1, "seed": 7}]
    assert mid["epoch_loop.state_dict"]["_batches_that_stepped"] == 9
    end = _loops(template, epoch=2, step=9, at_end=True, done=0, loader_seed=7)
    assert end["epoch_progress"]["current"] == {"ready": 3, "started": 3, "processed": 3, "completed": 2}
    assert end["epoch_loop.batch_progress"]["is_last_batch"] and end["state_dict"] == {}


def test_resuming_at_an_epoch_boundary_does_not_step_the_epoch_schedule_twice(tiny_data, tmp_path):
    # milestone 2: the uninterrupted run trains epoch 1 at the full lr; a second step on resume halved it
    common = {"train.num_epochs": 2, "train.optim.milestones": [2], "train.optim.gamma": 0.5}
    ref = tmp_path / "ref"
    ref.mkdir()
    assert run_action("train", write_spec(ref / "spec.yaml", make_spec(tiny_data, ref, **common))) == 0
    res = tmp_path / "resumed"
    shutil.copytree(ref, res)
    (res / "model_epoch_001_step_00004.pth").unlink()
    rc, log = _resume(tiny_data, res, res / "model_epoch_000_step_00002.pth", **common)
    assert rc == 0, log
    a, b = load_checkpoint(ref / "model_epoch_001_step_00004.pth"), load_checkpoint(res / "model_epoch_001_step_00004.pth")
    assert b["lr_schedulers"][0]["last_epoch"] == a["lr_schedulers"][0]["last_epoch"] == 2
    assert _max_diff(a["state_dict"], b["state_dict"]) == 0.0
