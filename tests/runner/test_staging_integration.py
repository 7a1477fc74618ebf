"""The runner's last step: s3:// data sources staged into the workspace cache before launch (exit 3 on
failure), s3:// results dirs written locally and uploaded at the end, also after a failure.
A real S3 HTTP endpoint on loopback (moto server, the `s3` fixture of tests/conftest.py) stands in for AWS."""

from __future__ import annotations

import json
from pathlib import Path


def _upload_dataset(client, bucket: str, prefix: str) -> str:
    for key, body in (("labels.json", b"{}"), ("meta/val.json", b"{}"), ("images/a.png", b"png")):
        client.put_object(Bucket=bucket, Key=f"{prefix}/{key}", Body=body)
    return f"s3://{bucket}/{prefix}"


def test_dry_run_plans_staging_without_downloading(tao, toy, s3):
    client, bucket = s3
    uri = _upload_dataset(client, bucket, "data")
    res = tao("run", "toyseg", "train", "--skill-dir", str(toy["skill"]), "--train-dataset", uri,
              "--eval-dataset", uri, "--automl-policy", "off", "--dry-run", "--json")
    assert res.code == 0, res.out
    rows = {d["key"]: d for d in res.doc["data_sources"]}
    assert rows["dataset.train.labels"]["uri"] == f"{uri}/labels.json"
    assert rows["dataset.train.labels"]["cached"] is False and rows["dataset.train.labels"]["source"] == "train_datasets"
    assert rows["dataset.train.labels"]["local_path"].startswith(str(toy["ws"].resolve() / "cache"))
    assert not (toy["ws"] / "cache").exists() or not any((toy["ws"] / "cache").rglob("labels.json"))


def test_s3_sources_are_staged_and_results_uploaded(tao, toy, s3):
    client, bucket = s3
    uri = _upload_dataset(client, bucket, "data")
    res = tao("run", "toyseg", "train", "--skill-dir", str(toy["skill"]), "--train-dataset", uri,
              "--eval-dataset", uri, "--automl-policy", "off", "--results-dir", f"s3://{bucket}/results/run1", "--json")
    assert res.code == 0, res.err
    job = res.doc["job"]
    spec_file = Path(job["job_dir"]) / "spec.yaml"
    assert str(toy["ws"].resolve() / "cache") in spec_file.read_text()  # the child read local copies
    assert job["results_uri"] == f"s3://{bucket}/results/run1" and job["upload"]["uploaded"] >= 4
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="results/run1/")["Contents"]}
    assert f"results/run1/model_epoch_001_step_00020.pth" in keys and "results/run1/status.json" in keys


def test_results_are_uploaded_after_a_failure_too(tao, toy, s3):
    client, bucket = s3
    res = tao("run", "toyseg", "train", "--skill-dir", str(toy["skill"]), "--train-dataset", str(toy["data"]),
              "--eval-dataset", str(toy["data"]), "--automl-policy", "off", "--override", "train.fail=true",
              "--results-dir", f"s3://{bucket}/results/failed", "--json")
    assert res.code == 4
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="results/failed/")["Contents"]}
    status = json.loads(client.get_object(Bucket=bucket, Key="results/failed/status.json")["Body"].read())
    assert "results/failed/model_epoch_000_step_00010.pth" in keys and status["status"] == "failed"


def test_staging_failure_is_exit_3_and_a_failed_job(tao, toy, s3):
    _, bucket = s3
    uri = f"s3://{bucket}/not-there"
    res = tao("run", "toyseg", "train", "--skill-dir", str(toy["skill"]), "--train-dataset", uri,
              "--eval-dataset", uri, "--automl-policy", "off", "--no-remote-check", "--json")  # staging finds it
    assert res.code == 3
    err = res.doc["errors"][0]
    assert "not-there" in err["message"] and "runner/test/secret" not in res.out + res.err
    jobs = tao("jobs", "list", "--json").doc["jobs"]
    assert jobs[0]["status"] == "failed" and jobs[0]["exit_code"] == 3
