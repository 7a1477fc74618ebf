"""Spec assembly, mappings, the dataset table, real runs of the toy entrypoint, secrets and failures."""

from __future__ import annotations

import json



def _run(cli, toy, *extra, action="train", env=None):
    return cli("run", "toynet", action, "--skill-dir", str(toy["skill"]), "--automl-policy", "off", "--json",
               *extra, env=env)


def test_typed_overrides_and_json_overrides(cli, toy, tmp_path):
    (tmp_path / "o.json").write_text(json.dumps({"data.batch_size": 8}))
    code, plan, *_ = _run(cli, toy, "--train-dataset", str(toy["data"]), "--override", "learning_rate=2e-2",
                          "--override", "epochs=5", "--override", "train.mode=slow", "--overrides-json",
                          f"@{tmp_path / 'o.json'}", "--dry-run")
    assert code == 0
    assert plan["spec"]["train"]["lr"] == 0.02 and plan["spec"]["train"]["epochs"] == 5
    assert plan["spec"]["data"]["batch_size"] == 8 and plan["spec"]["train"]["mode"] == "slow"


def test_unknown_key_suggests(cli, toy):
    code, doc, *_ = _run(cli, toy, "--train-dataset", str(toy["data"]), "--override", "train.epoch=5", "--dry-run")
    assert code == 2 and doc["errors"][0]["key"] == "train.epoch" and doc["errors"][0]["suggestion"] == "train.epochs"


def test_schema_errors_name_keys_all_together(cli, toy):
    code, doc, *_ = _run(cli, toy, "--train-dataset", str(toy["data"]), "--override", "train.lr=5",
                         "--override", "train.mode=turbo", "--override", "epochs=zero", "--dry-run")
    assert code == 2
    keys = {e["key"] for e in doc["errors"]}
    assert keys == {"train.lr", "train.mode", "train.epochs"}


def test_dataset_table_fills_and_reports_missing(cli, toy):
    code, plan, *_ = _run(cli, toy, "--train-dataset", str(toy["data"]), "--dry-run")
    assert plan["spec"]["data"]["labels"] == f"{toy['data']}/labels.json"
    code, doc, *_ = _run(cli, toy, "--dry-run")
    assert code == 2
    missing = {e["key"]: e for e in doc["errors"]}
    assert set(missing) == {"data.root", "data.labels"}
    assert "--train-dataset" in missing["data.labels"]["message"] and missing["data.labels"]["expected"] == "labels.json"


def test_local_paths_must_exist(cli, toy):
    code, doc, *_ = _run(cli, toy, "--train-dataset", str(toy["tmp"] / "nope"), "--dry-run")
    assert code == 2 and any("does not exist" in e["message"] for e in doc["errors"])


def test_end_to_end_run_parent_and_explicit_wins(cli, toy):
    code, res, out, err = _run(cli, toy, "--train-dataset", str(toy["data"]))
    assert code == 0, err
    job = res["job"]
    assert job["status"] == "done" and job["kpis"]["best"]["value"] == 0.99
    # evaluate with the train job as parent: best checkpoint by ACC (epoch 1), not the latest
    code, plan, *_ = _run(cli, toy, "--eval-dataset", str(toy["data"]), "--parent-job", job["job_id"], "--dry-run",
                          action="evaluate")
    ckpt = [m for m in plan["mappings"] if m["key"] == "evaluate.checkpoint"][0]
    assert ckpt["value"].endswith("model_epoch_001_step_00004.pth") and "best ACC" in ckpt["source"]
    # an explicit value wins and the plan says so
    mine = str(toy["data"] / "labels.json")
    code, plan, *_ = _run(cli, toy, "--eval-dataset", str(toy["data"]), "--parent-job", job["job_id"], "--override",
                          f"evaluate.checkpoint={mine}", "--dry-run", action="evaluate")
    ckpt = [m for m in plan["mappings"] if m["key"] == "evaluate.checkpoint"][0]
    assert ckpt["value"] == mine and ckpt["explicit"] and "wins over" in ckpt["source"]
    # jobs list / show
    code, listing, *_ = cli("jobs", "list", "--json")
    assert [j["job_id"] for j in listing["jobs"]] == [job["job_id"]]


def test_ptm_fills_parent_model_or_ptm(cli, toy):
    ptm = str(toy["data"] / "labels.json")
    code, plan, *_ = _run(cli, toy, "--train-dataset", str(toy["data"]), "--ptm", ptm, "--dry-run")
    assert {m["key"]: m["value"] for m in plan["mappings"]}["train.init"] == ptm


def test_parent_without_checkpoint_is_a_clear_error(cli, toy):
    code, res, *_ = _run(cli, toy, "--eval-dataset", str(toy["data"]), "--override",
                         f"evaluate.checkpoint={toy['data'] / 'labels.json'}", action="evaluate")
    assert code == 0
    code, doc, *_ = _run(cli, toy, "--eval-dataset", str(toy["data"]), "--parent-job", res["job"]["job_id"], "--dry-run",
                         action="evaluate")
    assert code == 2 and "has no checkpoint" in doc["errors"][0]["message"]


def test_failing_entrypoint_gives_exit_4_and_failed_job(cli, toy):
    code, res, out, err = _run(cli, toy, "--train-dataset", str(toy["data"]), "--override", "train.fail=true")
    assert code == 4 and res["status"] == "failed" and res["job"]["exit_code"] == 3
    code, logs, *_ = cli("jobs", "logs", res["job"]["job_id"], "--json")
    assert "toy failure requested" in logs["log"]
    code, dep, *_ = _run(cli, toy, "--eval-dataset", str(toy["data"]), "--parent-job", res["job"]["job_id"], "--dry-run",
                         action="evaluate")
    assert code == 2 and "failed" in dep["errors"][0]["message"]


def test_secrets_never_leave_the_process(cli, toy):
    secret = "s3cr3t-Pa55phrase-XYZ"
    code, res, out, err = _run(cli, toy, "--train-dataset", str(toy["data"]), env={"TAO_SKILL_KEY": secret})
    assert code == 0, err
    assert "key present" in err and secret not in out and secret not in err
    mapping = [m for m in res["mappings"] if m["key"] == "encryption_key"][0]
    assert mapping["value"] == "***" and "TAO_SKILL_KEY" in mapping["source"]
    # an explicit key in an override is also redacted everywhere
    code, res2, out2, err2 = _run(cli, toy, "--train-dataset", str(toy["data"]), "--override", f"encryption_key={secret}")
    assert code == 0 and secret not in out2 and secret not in err2
    for path in toy["ws"].rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_multi_gpu_env_passes_through(cli, toy):
    code, res, out, err = _run(cli, toy, "--train-dataset", str(toy["data"]), env={"WORLD_SIZE": "2", "NODE_RANK": "1"})
    assert code == 0 and "world 2 rank 1" in err


def test_unknown_network_and_action(cli, toy):
    code, doc, *_ = cli("run", "toynett", "train", "--skill-dir", str(toy["skill"]), "--dry-run", "--json")
    assert code == 2 and doc["errors"][0]["suggestion"] == "toynet"
    code, doc, *_ = cli("run", "toynet", "trian", "--skill-dir", str(toy["skill"]), "--dry-run", "--json")
    assert code == 2 and doc["errors"][0]["suggestion"] == "train"


def test_describe_and_list(cli, toy):
    code, doc, *_ = cli("describe", "toynet", "train", "--skill-dir", str(toy["skill"]), "--json")
    assert code == 0 and doc["automl_status"] == "runnable"
    assert doc["actions"]["train"]["popular"] == {"data.batch_size": 4, "train.epochs": 3}
    assert {d["key"] for d in doc["actions"]["train"]["data_sources"]} == {"data.root", "data.labels"}
    code, doc, *_ = cli("list", "--skill-dir", str(toy["skill"]), "--json")
    assert {s["network"] for s in doc["skills"]} >= {"toynet", "nvpanoptix3d"}


def test_resume_reuses_results_dir(cli, toy):
    code, res, *_ = _run(cli, toy, "--train-dataset", str(toy["data"]))
    first = res["job"]
    code, plan, *_ = _run(cli, toy, "--train-dataset", str(toy["data"]), "--resume", first["job_id"], "--dry-run")
    assert plan["results_dir"] == first["results_dir"]
