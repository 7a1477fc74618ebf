"""The runner's last step: s3:// data sources staged into the workspace cache before launch (exit 3 on
failure), s3:// results dirs written locally and uploaded at the end, also after a failure.
A real S3 HTTP endpoint on loopback (moto server) stands in for AWS."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(endpoint, monkeypatch, tmp_path):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    env = {"AWS_ACCESS_KEY_ID": "AKIATESTRUNNER000001", "AWS_SECRET_ACCESS_KEY": "runner/test/secret/0123456789",
           "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_MAX_ATTEMPTS": "1", "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    import boto3

    client = boto3.session.Session().client("s3")
    bucket = f"runner-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    return client, bucket


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
              "--eval-dataset", uri, "--automl-policy", "off", "--json")
    assert res.code == 3
    err = res.doc["errors"][0]
    assert "not-there" in err["message"] and "runner/test/secret" not in res.out + res.err
    jobs = tao("jobs", "list", "--json").doc["jobs"]
    assert jobs[0]["status"] == "failed" and jobs[0]["exit_code"] == 3
