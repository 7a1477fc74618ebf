"""spec_params mappings: output_dir, key, parent_model (best / latest / artifact glob), parent_model_or_ptm,
ptm, resume_model, create_onnx_file_2d/3d; explicit values win and the plan says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tao_skill.jobs import JobStore


@pytest.fixture
def fake_job(toy):
    """Record a finished job with the given files in its results dir (no process runs)."""
    store = JobStore(toy["ws"])

    def make(action="train", status="done", files=(), status_json=None, network="toyseg") -> str:
        job_id = store.new_id(action)
        results = store.job_dir(job_id) / "results"
        results.mkdir(parents=True)
        for name in files:
            (results / name).write_text(json.dumps({"epoch": 0, "step": 0}))
        if status_json is not None:
            (results / "status.json").write_text(json.dumps(status_json))
        store.create(job_id=job_id, parent_id=None, network=network, action=action, route="direct",
                     results_dir=results, results_uri=None, plan={})
        store.update(job_id, status=status)
        return job_id

    return make


CKPTS = ["model_epoch_000_step_00010.pth", "model_epoch_001_step_00020.pth", "model_epoch_002_step_00030.pth"]
STATUS = {"status": "done", "entries": [{"epoch": e, "step": (e + 1) * 10, "kpi": {"ACC": acc}}
                                         for e, acc in enumerate([0.5, 0.9, 0.6])]}


def test_output_dir_is_the_jobs_results_dir(toy_run, mapping):
    plan = toy_run("train", "--dry-run").doc
    entry = mapping(plan, "results_dir")
    assert entry["value"] == plan["results_dir"] == str(Path(plan["job_dir"]) / "results")
    assert plan["spec"]["results_dir"] == entry["value"] and entry["source"] == "the job's results dir"


def test_output_dir_with_subdir(toy_run, fake_job, mapping):
    parent = fake_job("export", files=["model_2d.onnx", "model_3d.onnx"])
    plan = toy_run("deploy", "--parent-job", parent, "--dry-run").doc
    assert mapping(plan, "deploy.engine_dir")["value"] == str(Path(plan["results_dir"]) / "engines")


def test_explicit_local_results_dir_wins(toy_run, tmp_path, mapping):
    plan = toy_run("train", "--results-dir", str(tmp_path / "mine"), "--dry-run").doc
    entry = mapping(plan, "results_dir")
    assert plan["results_dir"] == str(tmp_path / "mine") and entry["value"] == str(tmp_path / "mine")
    assert entry["explicit"] and "wins over" in entry["source"]


def test_remote_results_dir_writes_locally_then_uploads(toy_run, mapping):
    plan = toy_run("train", "--results-dir", "s3://bucket/run1", "--dry-run").doc
    assert plan["results_uri"] == "s3://bucket/run1"
    assert plan["spec"]["results_dir"] == plan["results_dir"] == mapping(plan, "results_dir")["value"]
    assert plan["results_dir"].startswith(str(Path(plan["job_dir"])))


def test_key_from_default_env_var_is_never_echoed(toy_run, mapping):
    secret = "k3y-Default-Env-1234"
    res = toy_run("train", "--dry-run", env={"TAO_SKILL_KEY": secret})
    entry = mapping(res.doc, "encryption_key")
    assert entry["value"] == "***" and entry["source"] == "environment variable TAO_SKILL_KEY"
    assert res.doc["spec"]["encryption_key"] == "***" and secret not in res.out + res.err


def test_key_from_named_env_var(toy_run, mapping):
    res = toy_run("train", "--key-env", "MY_MODEL_KEY", "--dry-run", env={"MY_MODEL_KEY": "abc-secret-987"})
    assert mapping(res.doc, "encryption_key")["source"] == "environment variable MY_MODEL_KEY"
    assert res.doc["key_env"] == "MY_MODEL_KEY" and "abc-secret-987" not in res.out


def test_key_env_named_but_unset_is_exit_2(toy_run):
    res = toy_run("train", "--key-env", "NOT_SET_ANYWHERE", "--dry-run")
    assert res.code == 2 and res.doc["errors"][0]["key"] == "--key-env"
    assert "NOT_SET_ANYWHERE" in res.doc["errors"][0]["message"]


def test_no_key_anywhere_leaves_the_field_empty(toy_run):
    plan = toy_run("train", "--dry-run").doc
    assert plan["spec"]["encryption_key"] == "" and all(m["key"] != "encryption_key" for m in plan["mappings"])


def test_parent_model_takes_the_best_checkpoint_by_kpi(toy_run, fake_job, mapping):
    parent = fake_job(files=CKPTS, status_json=STATUS)
    plan = toy_run("evaluate", "--parent-job", parent, "--dry-run").doc
    entry = mapping(plan, "evaluate.checkpoint")
    assert entry["value"].endswith("model_epoch_001_step_00020.pth") and "best ACC 0.9" in entry["source"]
    assert plan["parent_job"] == parent


def test_parent_model_falls_back_to_the_latest_without_kpis(toy_run, fake_job, mapping):
    parent = fake_job(files=CKPTS)
    entry = mapping(toy_run("evaluate", "--parent-job", parent, "--dry-run").doc, "evaluate.checkpoint")
    assert entry["value"].endswith("model_epoch_002_step_00030.pth") and "latest" in entry["source"]


@pytest.mark.parametrize(("status", "files", "text"), [
    ("done", [], "has no checkpoint"),
    ("failed", CKPTS, "failed"),
    ("canceled", CKPTS, "canceled"),
    ("running", CKPTS, "still running"),
])
def test_unusable_parent_is_a_clear_error(toy_run, fake_job, status, files, text):
    parent = fake_job(status=status, files=files)
    res = toy_run("evaluate", "--parent-job", parent, "--dry-run")
    assert res.code == 2
    err = res.doc["errors"][0]
    assert err["key"] == "--parent-job" and text in err["message"] and parent in err["message"]


def test_unknown_parent_job(toy_run):
    res = toy_run("evaluate", "--parent-job", "train-nope", "--dry-run")
    assert res.code == 2 and "no job `train-nope`" in res.doc["errors"][0]["message"]


def test_parent_of_another_network_is_refused(toy_run, fake_job):
    parent = fake_job(files=CKPTS, network="othernet")
    res = toy_run("evaluate", "--parent-job", parent, "--dry-run")
    assert res.code == 2 and "othernet" in res.doc["errors"][0]["message"]


def test_export_parent_gives_its_exported_files(toy_run, fake_job, mapping):
    parent = fake_job("export", files=["model_2d.onnx", "model_3d.onnx"])
    entry = mapping(toy_run("deploy", "--parent-job", parent, "--dry-run").doc, "deploy.onnx_file")
    assert entry["value"].endswith("/model_2d.onnx") and "matches model_2d.onnx" in entry["source"]
    empty = fake_job("export", files=[])
    res = toy_run("deploy", "--parent-job", empty, "--dry-run")
    assert res.code == 2 and "no file matching model_2d.onnx" in res.doc["errors"][0]["message"]


def test_parent_model_or_ptm(toy_run, fake_job, tmp_path, mapping):
    ptm = tmp_path / "pretrained.pth"
    ptm.write_text("w")
    plan = toy_run("train", "--ptm", str(ptm), "--dry-run").doc
    assert mapping(plan, "train.init") == {"key": "train.init", "function": "parent_model_or_ptm",
                                           "value": str(ptm), "source": "--ptm"}
    assert mapping(plan, "train.backbone")["value"] == str(ptm)  # `ptm` mapping
    parent = fake_job(files=CKPTS, status_json=STATUS)
    plan = toy_run("train", "--ptm", str(ptm), "--parent-job", parent, "--dry-run").doc
    assert mapping(plan, "train.init")["value"].endswith("model_epoch_001_step_00020.pth")


def test_resume_takes_the_latest_checkpoint_and_reuses_the_results_dir(toy_run, fake_job, mapping):
    first = fake_job(status="failed", files=CKPTS, status_json=STATUS)  # a crashed run is what one resumes
    plan = toy_run("train", "--resume", first, "--dry-run").doc
    entry = mapping(plan, "train.resume")
    assert entry["value"].endswith("model_epoch_002_step_00030.pth") and "resumed job" in entry["source"]
    assert plan["results_dir"] == JobStore(Path(plan["workspace"])).get(first).results_dir
    assert "reused" in mapping(plan, "results_dir")["source"]


def test_resume_is_for_train_jobs_only(toy_run, fake_job):
    job = fake_job("evaluate", files=CKPTS)
    res = toy_run("train", "--resume", job, "--dry-run")
    assert res.code == 2 and "only train jobs" in res.doc["errors"][0]["message"]


def test_create_onnx_files_inside_the_results_dir(toy_run, fake_job, mapping):
    parent = fake_job(files=CKPTS)
    plan = toy_run("export", "--parent-job", parent, "--dry-run").doc
    results = Path(plan["results_dir"])
    assert mapping(plan, "export.onnx_a")["value"] == str(results / "model_2d.onnx")
    assert mapping(plan, "export.onnx_b")["value"] == str(results / "model_3d.onnx")
    assert mapping(plan, "export.checkpoint")["value"].endswith("model_epoch_002_step_00030.pth")


def test_explicit_values_win_over_every_inferred_one(toy_run, fake_job, tmp_path, mapping):
    parent = fake_job(files=CKPTS, status_json=STATUS)
    mine = tmp_path / "mine.pth"
    mine.write_text("w")
    plan = toy_run("export", "--parent-job", parent, "--override", f"export.checkpoint={mine}",
                   "--override", "export.onnx_a=/tmp/elsewhere.onnx", "--dry-run").doc
    for key, value in (("export.checkpoint", str(mine)), ("export.onnx_a", "/tmp/elsewhere.onnx")):
        entry = mapping(plan, key)
        assert entry["value"] == value and entry["explicit"] is True
        assert entry["source"].startswith("explicit (--override) wins over")
    assert mapping(plan, "export.onnx_b").get("explicit") is None


def test_explicit_key_in_the_spec_is_used_and_redacted(toy_run, tmp_path, mapping):
    spec = tmp_path / "spec.yaml"
    spec.write_text("encryption_key: from-the-spec-file-555\n")
    res = toy_run("train", "--spec", str(spec), "--dry-run", env={"TAO_SKILL_KEY": "env-key"})
    entry = mapping(res.doc, "encryption_key")
    assert entry["value"] == "***" and entry["source"] == "--spec spec.yaml"
    assert "from-the-spec-file-555" not in res.out


@pytest.mark.parametrize(("parent_action", "files", "mapped"), [
    ("train", CKPTS, {"checkpoint": "model_epoch_002_step_00030.pth"}),
    ("export", ["model_2d.onnx", "model_3d.onnx"], {"onnx_file_2d": "model_2d.onnx", "onnx_file_3d": "model_3d.onnx"}),
    ("gen_trt_engine", ["engines/model_2d.engine", "engines/model_3d.engine"], {"trt_engine": "engines"}),
])
@pytest.mark.parametrize("action", ["evaluate", "inference"])
def test_real_skill_parent_job_gives_whichever_model_form_it_has(tao, tmp_path, action, parent_action, files, mapped):
    """nvpanoptix3d: --parent-job of a train, export or gen_trt_engine job fills the checkpoint, the ONNX
    models or the engine folder (optional parent_model mappings); a parent with none of them is an error."""
    ws = tmp_path / "ws"
    store = JobStore(ws)

    def parent(names) -> str:
        job_id = store.new_id(parent_action)
        results = store.job_dir(job_id) / "results"
        for name in names:
            (results / name).parent.mkdir(parents=True, exist_ok=True)
            (results / name).write_text("{}")
        store.create(job_id=job_id, parent_id=None, network="nvpanoptix3d", action=parent_action, route="direct",
                     results_dir=results, results_uri=None, plan={})
        store.update(job_id, status="done")
        return job_id

    flag = "--eval-dataset" if action == "evaluate" else "--inference-dataset"
    res = tao("run", "nvpanoptix3d", action, "--workspace", str(ws), flag, "s3://bkt/data", "--parent-job",
              parent(files), "--automl-policy", "off", "--dry-run", "--json")
    assert res.code == 0, res.out
    keys = {"checkpoint", "onnx_file_2d", "onnx_file_3d", "trt_engine"}
    section = res.doc["spec"][action]
    for key in keys:
        if key in mapped:
            assert section[key].endswith(mapped[key]), (key, section[key])
        else:
            assert section[key] == "", (key, section[key])
    res = tao("run", "nvpanoptix3d", action, "--workspace", str(ws), flag, "s3://bkt/data", "--parent-job",
              parent(["notes.txt"]), "--automl-policy", "off", "--dry-run", "--json")
    assert res.code == 2 and "has no checkpoint" in res.doc["errors"][0]["message"]
