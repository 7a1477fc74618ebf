"""Job lineage on the real skill with the tiny preset: the SKILL.md two-stage recipe and chaining calls with
exactly the flags SKILL.md shows (only the first job takes --spec), architecture overrides refused at plan
time, an AutoML job as parent, --resume J alone, --ptm kinds, and checkpoints that say how to rebuild their
network.

One tiny 2D train, the 3D train from it and an evaluate of that are shared by the module (about a minute on
two cores); everything else here is a dry run on their records. Export/inference runs, a real AutoML parent
and resume after kill -9 of the training are marked slow.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

TINY = {
    "model": {
        "object_mask_threshold": 0.3,
        "backbone": {"preset": "tiny"},
        "sem_seg_head": {"convs_dim": 32, "mask_dim": 32, "depth_dim": 32, "transformer_enc_layers": 1},
        "mask_former": {"num_object_queries": 12, "hidden_dim": 32, "nheads": 4, "dim_feedforward": 64,
                        "transformer_dim_feedforward": 64, "dec_layers": 2, "train_num_points": 512,
                        "size_divisibility": -1},
        "frustum3d": {"backend": "dense", "grid_dimensions": 32, "frustum_dims": 32, "unet_features": 4,
                      "unet_output_channels": 4, "iso_recon_value": 1.0},
        "projection": {"voxel_size": 0.18, "depth_feature_dim": 8, "depth_bins": 16},
    },
    "dataset": {"name": "front3d", "contiguous_id": True, "target_size": [160, 120], "reduced_target_size": [80, 60],
                "depth_size": [120, 160], "min_instance_pixels": 20, "train": {"batch_size": 2, "num_workers": 0},
                "val": {"batch_size": 2, "num_workers": 0}, "test": {"batch_size": 2, "num_workers": 0}},
    "train": {"num_epochs": 1, "activation_checkpoint": False, "optim": {"lr": 0.001}},
}


def cli(*args: str, env: dict[str, str] | None = None):
    """The CLI in-process (like the `tao` fixture, usable from module fixtures); stdout parsed as JSON."""
    from click.testing import CliRunner

    from tao_skill.app import Application
    from tao_skill.cli import cli as root

    res = CliRunner().invoke(root, list(args), obj=Application(json_mode="--json" in args), env=env,
                             catch_exceptions=False)
    doc = json.loads(res.stdout) if "--json" in args and res.stdout.strip() else None
    return res.exit_code, doc, res.stderr


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """A synthetic dataset, the tiny spec, and the two-stage recipe: 2D train -> 3D train -> evaluate."""
    root = tmp_path_factory.mktemp("lineage")
    data = root / "data"
    subprocess.run([sys.executable, "-m", "nvpanoptix3d.data.synth", str(data), "--scenes", "4", "--seed", "0",
                    "--grid", "32", "--voxel-size", "0.18"], check=True, capture_output=True)
    spec = root / "tiny.yaml"
    spec.write_text(yaml.safe_dump(TINY))
    ws = root / "ws"
    env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    w = ("--workspace", str(ws))
    code, j2d, err = cli("run", "nvpanoptix3d", "train", "--automl-policy", "off", "--spec", str(spec),
                         "--train-dataset", str(data), "--eval-dataset", str(data), *w, "--json", env=env)
    assert code == 0, err[-3000:]
    # SKILL.md two-stage recipe, step 2: no --spec (the budget override keeps the test short; the template's
    # budget is what a user gets without it)
    code, j3d, err = cli("run", "nvpanoptix3d", "train", "--automl-policy", "off", "--override",
                         "dataset.enable_3d=true", "--parent-job", j2d["job_id"], "--train-dataset", str(data),
                         "--eval-dataset", str(data), "--override", "train.num_epochs=1", *w, "--json", env=env)
    assert code == 0, err[-3000:]
    # SKILL.md chaining example: evaluate --parent-job $J --eval-dataset D
    code, ev, err = cli("run", "nvpanoptix3d", "evaluate", "--parent-job", j3d["job_id"], "--eval-dataset",
                        str(data), *w, "--json", env=env)
    assert code == 0, err[-3000:]
    return {"root": root, "data": data, "spec": spec, "ws": ws, "w": w, "env": env, "j2d": j2d, "j3d": j3d, "ev": ev}


def _dry(chain, *args: str):
    return cli("run", "nvpanoptix3d", *args, *chain["w"], "--dry-run", "--json")


def test_two_stage_recipe_builds_each_child_from_its_parent(chain):
    j2d, j3d = chain["j2d"], chain["j3d"]
    assert j2d["spec"]["dataset"]["enable_3d"] is False
    spec3 = j3d["spec"]
    assert spec3["model"]["backbone"]["preset"] == "tiny" and spec3["dataset"]["target_size"] == [160, 120]
    assert spec3["dataset"]["enable_3d"] is True and spec3["train"]["checkpoint_2d"].startswith(j2d["results_dir"])
    lineage = j3d["lineage"]
    assert lineage["source"] == f"parent {j2d['job_id']}" and "model.backbone.preset" in lineage["keys"]
    assert {"key": "model.backbone.preset", "source": f"parent {j2d['job_id']}"} in lineage["entries"]
    assert [c["key"] for c in lineage["changed"]] == ["dataset.enable_3d"]  # train.* is not inherited
    assert j3d["status"] == "done" and "PRQ" in j3d["kpis"]["last"]


def test_evaluate_of_a_3d_checkpoint_runs_the_3d_stage_and_reports_prq(chain):
    ev = chain["ev"]
    assert ev["spec"]["dataset"]["enable_3d"] is True and ev["spec"]["model"]["backbone"]["preset"] == "tiny"
    assert ev["spec"]["evaluate"]["checkpoint"].startswith(chain["j3d"]["results_dir"])
    assert ev["status"] == "done" and isinstance(ev["kpis"]["last"]["PRQ"], float)
    shown = cli("jobs", "show", ev["job_id"], *chain["w"], "--json")[1]
    assert [p["job_id"] for p in shown["parent_chain"]] == [chain["j3d"]["job_id"], chain["j2d"]["job_id"]]
    assert shown["last"]["PRQ"] == ev["kpis"]["last"]["PRQ"] and shown["timings"]["duration_s"] > 0


@pytest.mark.parametrize("action, extra", [("inference", ["--inference-dataset"]), ("export", [])])
def test_inference_and_export_plans_take_the_3d_stage(chain, action, extra):
    args = [action, "--parent-job", chain["j3d"]["job_id"]] + ([*extra, str(chain["data"])] if extra else [])
    code, doc, err = _dry(chain, *args)
    assert code == 0, err
    assert doc["spec"]["dataset"]["enable_3d"] is True and doc["spec"]["model"]["backbone"]["preset"] == "tiny"
    assert doc["spec"]["dataset"]["target_size"] == [160, 120]
    assert doc["lineage"]["source"] == f"parent {chain['j3d']['job_id']}"


def test_an_architecture_override_is_exit_2_naming_the_keys(chain):
    code, doc, _ = _dry(chain, "evaluate", "--parent-job", chain["j3d"]["job_id"], "--eval-dataset",
                        str(chain["data"]), "--override", "model.mask_former.dec_layers=4", "--override",
                        "preset=full")
    assert code == 2
    (err,) = [e for e in doc["errors"] if "architecture" in e["message"]]
    assert set(err["got"]) == {"model.mask_former.dec_layers", "model.backbone.preset"}
    assert "would not load" in err["message"]


def test_a_geometry_override_is_allowed_and_shown_as_changed(chain):
    code, doc, err = _dry(chain, "evaluate", "--parent-job", chain["j3d"]["job_id"], "--eval-dataset",
                          str(chain["data"]), "--override", "model.object_mask_threshold=0.5")
    assert code == 0, err
    (changed,) = doc["lineage"]["changed"]
    assert changed["key"] == "model.object_mask_threshold" and changed["parent"] == 0.3 and changed["value"] == 0.5


def test_the_3d_stage_over_a_2d_parent_is_refused_outside_train(chain):
    code, doc, _ = _dry(chain, "evaluate", "--parent-job", chain["j2d"]["job_id"], "--eval-dataset",
                        str(chain["data"]), "--override", "dataset.enable_3d=true")
    assert code == 2
    assert any(e["key"] == "dataset.enable_3d" and "no weights" in e["message"] for e in doc["errors"])


def test_checkpoints_carry_what_rebuilds_their_network(chain):
    from nvpanoptix3d.config.loader import validate_spec
    from nvpanoptix3d.engine.build import build_model
    from nvpanoptix3d.engine.checkpoint_io import load_checkpoint, read_architecture

    ckpt = chain["ev"]["spec"]["evaluate"]["checkpoint"]
    arch = read_architecture(ckpt)
    assert arch["stage"] == "3d" and arch["model"]["backbone"]["preset"] == "tiny"
    assert arch["voxel_size"] == 0.18 and arch["grid"]["grid_dimensions"] == 32
    assert arch["image_size"]["target_size"] == [160, 120] and arch["classes"]["num_classes"] == 13
    spec = {"model": arch["model"], "dataset": {"enable_3d": True, **arch["image_size"],
                                                 "num_thing_classes": arch["classes"]["num_thing_classes"]}}
    model = build_model(validate_spec(spec))  # from the file alone
    state = {k.removeprefix("model."): v for k, v in load_checkpoint(ckpt)["state_dict"].items()}
    missing, _ = model.load_state_dict({k: v for k, v in state.items() if k in model.state_dict()}, strict=False)
    assert not [k for k in missing if not k.endswith("num_batches_tracked")]


def _fake_automl_job(chain, best_job: str) -> str:
    """An AutoML job as the AutoML launcher records it (kpis.best names the trial's job)."""
    from tao_skill.jobs import JobStore

    store = JobStore(chain["ws"])
    job_id = f"train-automl-{os.getpid()}-{time.monotonic_ns()}"
    store.create(job_id=job_id, parent_id=None, network="nvpanoptix3d", action="train", route="automl",
                 results_dir=chain["ws"] / "jobs" / job_id / "results", results_uri=None, plan={"route": "automl"})
    store.update(job_id, status="done", finished=time.time(),
                 kpis={"status": "done", "best": {"metric": "PRQ", "value": 0.25, "trial": 3, "job_id": best_job},
                       "final": None})
    return job_id


def test_an_automl_parent_means_its_best_trial(chain):
    automl = _fake_automl_job(chain, chain["j3d"]["job_id"])
    code, doc, err = _dry(chain, "evaluate", "--parent-job", automl, "--eval-dataset", str(chain["data"]))
    assert code == 0, err
    res = doc["parent_resolution"]
    assert (res["chosen"], res["job_id"], res["trial"], res["metric"], res["value"]) == \
        ("best trial", chain["j3d"]["job_id"], 3, "PRQ", 0.25)
    assert doc["spec"]["evaluate"]["checkpoint"].startswith(chain["j3d"]["results_dir"])
    assert doc["spec"]["dataset"]["enable_3d"] is True and doc["parent_job"] == automl


def test_an_automl_parent_without_a_finished_trial_is_exit_2(chain):
    automl = _fake_automl_job(chain, "train-no-such-trial")
    code, doc, _ = _dry(chain, "evaluate", "--parent-job", automl, "--eval-dataset", str(chain["data"]))
    assert code == 2 and "no finished trial" in doc["errors"][0]["message"]


def test_resume_alone_takes_the_jobs_spec_and_data_and_routes_direct(chain):
    code, doc, err = _dry(chain, "train", "--resume", chain["j3d"]["job_id"])  # no dataset flags, policy default
    assert code == 0, err
    assert doc["route"] == "direct" and "--resume" in doc["route_reason"]
    assert doc["results_dir"] == chain["j3d"]["results_dir"]
    assert doc["spec"]["train"]["resume_training_checkpoint_path"].startswith(chain["j3d"]["results_dir"])
    assert doc["spec"]["dataset"]["train"]["base_dir"] == chain["j3d"]["spec"]["dataset"]["train"]["base_dir"]
    assert doc["spec"]["dataset"]["enable_3d"] is True


def test_resume_of_a_job_without_a_checkpoint_is_a_clear_error(chain):
    code, ev_train, _ = cli("run", "nvpanoptix3d", "train", "--automl-policy", "off", "--spec", str(chain["spec"]),
                            "--train-dataset", str(chain["data"]), "--eval-dataset", str(chain["data"]),
                            "--override", "train.num_epochs=1", *chain["w"], "--dry-run", "--json")
    from tao_skill.jobs import JobStore

    store = JobStore(chain["ws"])  # a recorded train job that died before its first checkpoint
    store.create(job_id=ev_train["job_id"], parent_id=None, network="nvpanoptix3d", action="train", route="direct",
                 results_dir=Path(ev_train["results_dir"]), results_uri=None, plan=ev_train)
    store.update(ev_train["job_id"], status="failed", finished=time.time())
    code, doc, _ = _dry(chain, "train", "--resume", ev_train["job_id"])
    assert code == 2 and "has no checkpoint" in doc["errors"][0]["message"]


def test_ptm_kinds_fill_only_keys_the_engine_accepts(chain, tmp_path):
    ckpt3d = chain["ev"]["spec"]["evaluate"]["checkpoint"]
    ckpt2d = chain["j3d"]["spec"]["train"]["checkpoint_2d"]
    vggt = tmp_path / "vggt.pt"
    torch.save({"aggregator.patch_embed.proj.weight": torch.zeros(2, 2), "camera_head.w": torch.zeros(1)}, vggt)
    base = ["train", "--automl-policy", "off", "--spec", str(chain["spec"]), "--train-dataset", str(chain["data"]),
            "--eval-dataset", str(chain["data"])]

    def keys(doc):
        return {m["key"] for m in doc["mappings"] if m["function"] == "ptm"}

    code, doc, err = _dry(chain, *base, "--ptm", ckpt3d)  # 3D checkpoint on a 2D-stage run
    assert code == 0, err
    assert keys(doc) == {"train.checkpoint_2d"} and doc["ptm"]["kind"] == "3d" and doc["ptm"]["skipped"]
    code, doc, err = _dry(chain, *base, "--ptm", ckpt3d, "--override", "dataset.enable_3d=true")
    assert code == 0 and keys(doc) == {"train.checkpoint_2d", "train.checkpoint_3d"}, err
    code, doc, err = _dry(chain, *base, "--ptm", ckpt2d)
    assert code == 0 and keys(doc) == {"train.checkpoint_2d"} and doc["ptm"]["kind"] == "2d", err
    code, doc, err = _dry(chain, *base, "--ptm", str(vggt))
    assert code == 0 and keys(doc) == {"model.backbone.pretrained_model_path"} and doc["ptm"]["kind"] == "backbone"
    code, doc, err = _dry(chain, *base, "--ptm", str(vggt), "--ptm-kind", "2d")  # the flag wins over the file
    assert code == 0 and keys(doc) == {"train.checkpoint_2d"}, err
    odd = tmp_path / "odd.pt"
    torch.save({"something.else": torch.zeros(1)}, odd)
    code, doc, _ = _dry(chain, *base, "--ptm", str(odd))
    assert code == 2 and "--ptm-kind" in doc["errors"][0]["suggestion"]
    code, doc, _ = _dry(chain, *base, "--ptm", str(vggt), "--ptm-kind", "nonsense")
    assert code == 2 and doc["errors"][0]["key"] == "--ptm-kind"


@pytest.mark.slow
@pytest.mark.parametrize("action, extra", [("inference", ["--inference-dataset"]), ("export", [])])
def test_inference_and_export_of_the_3d_job_run(chain, action, extra):
    args = ["run", "nvpanoptix3d", action, "--parent-job", chain["j3d"]["job_id"]]
    args += [*extra, str(chain["data"])] if extra else []
    code, doc, err = cli(*args, *chain["w"], "--json", env=chain["env"])
    assert code == 0, err[-3000:]
    results = Path(doc["job"]["results_dir"])
    if action == "export":
        assert (results / "model_2d.onnx").is_file() and (results / "model_3d.onnx").is_file()


@pytest.mark.slow
def test_a_real_automl_job_as_parent(chain):
    code, study, err = cli("run", "nvpanoptix3d", "train", "--automl-policy", "on", "--spec", str(chain["spec"]),
                           "--train-dataset", str(chain["data"]), "--eval-dataset", str(chain["data"]),
                           "--max-trials", "2", "--final", "none", "--epochs-per-trial", "1", "--metric", "PQ",
                           *chain["w"], "--json", env=chain["env"])
    assert code == 0, err[-3000:]
    code, doc, err = _dry(chain, "evaluate", "--parent-job", study["job_id"], "--eval-dataset", str(chain["data"]))
    assert code == 0, err
    assert doc["parent_resolution"]["chosen"] == "best trial" and doc["parent_resolution"]["automl_job"] == \
        study["job_id"]


@pytest.mark.slow
def test_resume_alone_after_kill_9_of_the_training(chain):
    w = chain["w"]
    code, det, err = cli("run", "nvpanoptix3d", "train", "--automl-policy", "off", "--spec", str(chain["spec"]),
                         "--train-dataset", str(chain["data"]), "--eval-dataset", str(chain["data"]), "--override",
                         "train.num_epochs=30", "--detach", *w, "--json", env=chain["env"])
    assert code == 0, err
    job_id = det["job_id"]
    from tao_skill.jobs import JobStore

    store = JobStore(chain["ws"])
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not list(Path(det["results_dir"]).glob("model_epoch_*.pth")):
        time.sleep(0.5)
    assert list(Path(det["results_dir"]).glob("model_epoch_*.pth")), "no checkpoint appeared"
    refused = _dry(chain, "train", "--resume", job_id)
    assert refused[0] == 2 and "still running" in refused[1]["errors"][0]["message"]
    os.kill(store.get(job_id).pid, signal.SIGKILL)
    code, waited, _ = cli("jobs", "wait", job_id, *w, "--json")
    assert waited["status"] == "failed"
    code, doc, err = cli("run", "nvpanoptix3d", "train", "--resume", job_id, "--override", "train.num_epochs=2", *w,
                         "--json", env=chain["env"])
    assert code == 0, err[-3000:]
    assert doc["job"]["results_dir"] == det["results_dir"] and doc["route"] == "direct"
