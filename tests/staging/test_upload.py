"""Results upload to S3 (moto server): excludes honoured, unchanged files skipped on re-upload."""

from __future__ import annotations

import os

import pytest

from tao_skill.staging import StagingError, upload_results
from tao_skill.staging import upload as upload_mod


def _results(root):
    files = {
        "status.json": b'{"status": "done"}',
        "model_epoch_000_step_00002.pth": os.urandom(3000),
        "logs/train.log": b"epoch 0\n",
        "inputs/spec.yaml": b"dataset: {}\n",
        "inputs/data/meta/train.json": b"{}",
        "tmp.swp": b"x",
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def _remote(s3, bucket, prefix):
    out = {}
    for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        out[item["Key"][len(prefix):]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return out


def test_upload_excludes_and_skips_unchanged(tmp_path, s3, bucket):
    res = tmp_path / "results"
    files = _results(res)
    uri = f"s3://{bucket}/jobs/42"
    stats = upload_results(res, uri, ["inputs/", "*.swp"])
    assert stats == {"uploaded": 3, "skipped": 0, "excluded": 3, "bytes": sum(len(files[k]) for k in
                                                                                ("status.json", "logs/train.log", "model_epoch_000_step_00002.pth"))}
    remote = _remote(s3, bucket, "jobs/42/")
    assert remote == {k: v for k, v in files.items() if not k.startswith("inputs/") and k != "tmp.swp"}

    assert upload_results(res, uri, ["inputs/", "*.swp"])["skipped"] == 3  # nothing changed
    (res / "status.json").write_bytes(b'{"status": "failed"}')  # same size, new content
    stats = upload_results(res, uri + "/", ["inputs/", "*.swp"])
    assert (stats["uploaded"], stats["skipped"]) == (1, 2)
    assert _remote(s3, bucket, "jobs/42/")["status.json"] == b'{"status": "failed"}'


def test_multipart_etag_recognised(tmp_path, s3, bucket, monkeypatch):
    monkeypatch.setattr(upload_mod, "MULTIPART_THRESHOLD", 5 * 2**20)
    monkeypatch.setattr(upload_mod, "MULTIPART_CHUNKSIZE", 5 * 2**20)
    res = tmp_path / "r"
    res.mkdir()
    (res / "big.pth").write_bytes(os.urandom(5 * 2**20 + 1000))
    assert upload_results(res, f"s3://{bucket}/m")["uploaded"] == 1
    etag = s3.head_object(Bucket=bucket, Key="m/big.pth")["ETag"]
    assert etag.endswith('-2"') and upload_mod.local_etag(res / "big.pth") == etag
    assert upload_results(res, f"s3://{bucket}/m") == {"uploaded": 0, "skipped": 1, "excluded": 0, "bytes": 0}


@pytest.mark.parametrize("rel, patterns, excluded", [
    ("inputs/spec.yaml", ["inputs/"], True),
    ("inputs", ["inputs/"], False),  # a file named like the folder is not the folder
    ("a/inputs/x", ["inputs/"], False),
    ("a/inputs/x", ["*/inputs/"], True),
    ("logs/x.log", ["*.log"], True),
    ("logs/x.log", ["logs/*.log"], True),
    ("logs/x.log", ["./logs/"], True),
    ("status.json", ["inputs/", "*.tmp"], False),
])
def test_is_excluded(rel, patterns, excluded):
    assert upload_mod.is_excluded(rel, patterns) is excluded


def test_upload_errors(tmp_path, aws_env):
    with pytest.raises(StagingError, match="does not exist. Fix: run the job first"):
        upload_results(tmp_path / "missing", "s3://bucket-x/r")
    with pytest.raises(StagingError, match="only be uploaded to an s3:// URI"):
        upload_results(tmp_path, "/local/dir")
    with pytest.raises(StagingError, match="bucket 'no-such-upload-bucket' does not exist"):
        upload_results(tmp_path, "s3://no-such-upload-bucket/r")
