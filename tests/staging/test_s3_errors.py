"""Each S3 failure gives one line naming the URI and the fix, and never a credential."""

from __future__ import annotations

import socket
from xml.sax.saxutils import escape

import pytest
from botocore.awsrequest import AWSResponse

from tao_skill.staging import StagingError, scrub, stage_data_sources, upload_results
from tao_skill.staging.errors import register_secrets

FILE_INPUT = {"dataset.label_map": {"type": "file"}}
FOLDER_INPUT = {"dataset.val.base_dir": {"type": "folder", "extract_to_parent": True}}
IMAGES_INPUT = {"inference.images_dir": {"type": "folder", "extract_to_parent": True}}


def _stage_error(h, values, inputs, cache) -> str:
    with pytest.raises(StagingError) as err:
        stage_data_sources(values, inputs, cache, progress=False)
    msg = str(err.value)
    assert "\n" not in msg and ". Fix: " in msg and err.value.fix and err.value.uri
    for secret in h.SECRETS:
        assert secret not in msg and secret not in repr(err.value.__dict__)
    return msg


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs):
        yield self._body


def _respond_with(monkeypatch, status: int, code: str, message: str) -> None:
    """Make every request of staging's clients get this S3 error response (botocore parses it for real)."""
    from tao_skill.staging import s3client

    real = s3client.make_client
    body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{escape(message)}</Message>'
            f"<RequestId>1</RequestId></Error>").encode()

    def wrapped(**kwargs):
        client = real(**kwargs)
        client.meta.events.register(
            "before-send.s3.*", lambda request, **kw: AWSResponse(request.url, status, {"Content-Type": "application/xml"}, _Raw(body)))
        return client

    monkeypatch.setattr(s3client, "make_client", wrapped)


def test_missing_bucket(tmp_path, aws_env, h):
    for values, inputs in (({"dataset.label_map": "s3://no-such-bucket-1/meta/colormap.json"}, FILE_INPUT),
                           ({"dataset.val.base_dir": "s3://no-such-bucket-1/data/eval"}, FOLDER_INPUT)):
        msg = _stage_error(h, values, inputs, tmp_path / "c")
        assert "bucket 'no-such-bucket-1' does not exist" in msg and "s3://no-such-bucket-1/" in msg
        assert "check the bucket name" in msg


def test_missing_key(tmp_path, bucket, h):
    msg = _stage_error(h, {"dataset.label_map": f"s3://{bucket}/meta/colormap.json"}, FILE_INPUT, tmp_path / "c")
    assert msg.startswith(f"`dataset.label_map` = s3://{bucket}/meta/colormap.json: no object at this key")


def test_access_denied(tmp_path, bucket, monkeypatch, h):
    _respond_with(monkeypatch, 403, "AccessDenied", "Access Denied")
    msg = _stage_error(h, {"dataset.val.base_dir": f"s3://{bucket}/data/eval"}, FOLDER_INPUT, tmp_path / "c")
    assert "access denied (AccessDenied)" in msg and "s3:GetObject and s3:ListBucket" in msg and bucket in msg
    msg = _stage_error(h, {"dataset.label_map": f"s3://{bucket}/meta/colormap.json"}, FILE_INPUT, tmp_path / "c")
    assert "access denied (" in msg and "meta/colormap.json" in msg


@pytest.mark.parametrize("status, code, expected", [
    (403, "InvalidAccessKeyId", "S3 rejected the credentials (InvalidAccessKeyId)"),
    (500, "InternalError", "S3 error InternalError: The AWS Access Key Id *** does not exist"),
])
def test_botocore_text_is_scrubbed(tmp_path, bucket, monkeypatch, h, status, code, expected):
    # A store that echoes the key id, the secret and a presigned URL back in its error message.
    _respond_with(monkeypatch, status, code,
                  f"The AWS Access Key Id {h.ACCESS_KEY} does not exist; see https://x/y?X-Amz-Credential={h.ACCESS_KEY}"
                  f"%2F20240101&X-Amz-Signature=abcdef0123456789 secret={h.SECRET_KEY}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    msg = _stage_error(h, {"dataset.val.base_dir": f"s3://{bucket}/data"}, FOLDER_INPUT, tmp_path / "c")
    assert expected in msg and "abcdef0123456789" not in msg


def test_no_credentials(tmp_path, monkeypatch, moto_endpoint, h):
    h.isolate_aws(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    msg = _stage_error(h, {"dataset.label_map": "s3://some-bucket/meta/colormap.json"}, FILE_INPUT, tmp_path / "c")
    assert "no usable AWS credentials were found" in msg and "AWS_ACCESS_KEY_ID" in msg and "AWS_PROFILE" in msg
    with pytest.raises(StagingError, match="no usable AWS credentials"):
        (tmp_path / "res").mkdir()
        upload_results(tmp_path / "res", "s3://some-bucket/results")


def test_unknown_profile(tmp_path, monkeypatch, h):
    h.isolate_aws(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_PROFILE", "does-not-exist")
    msg = _stage_error(h, {"dataset.label_map": "s3://some-bucket/k.json"}, FILE_INPUT, tmp_path / "c")
    assert "AWS profile 'does-not-exist' not found" in msg


def test_endpoint_unreachable(tmp_path, aws_env, monkeypatch, h):
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    msg = _stage_error(h, {"dataset.val.base_dir": "s3://some-bucket/data/eval"}, FOLDER_INPUT, tmp_path / "c")
    assert f"cannot reach the S3 endpoint http://127.0.0.1:{port}" in msg and "AWS_ENDPOINT_URL" in msg


def test_corrupt_archive_from_s3(tmp_path, s3, bucket, h):
    good = h.make_tar({f"img_{i}.png": bytes(500) for i in range(10)})
    s3.put_object(Bucket=bucket, Key="eval/images.tar.gz", Body=good[: len(good) // 2])
    msg = _stage_error(h, {"inference.images_dir": f"s3://{bucket}/eval/images.tar.gz"}, IMAGES_INPUT, tmp_path / "c")
    assert f"s3://{bucket}/eval/images.tar.gz: corrupt or unreadable archive" in msg
    assert not (tmp_path / "c" / "s3" / bucket / "eval" / "images").exists()


def test_unsafe_object_key_cannot_escape_cache(tmp_path, s3, bucket, h):
    s3.put_object(Bucket=bucket, Key="data/../../../escaped.txt", Body=b"x")
    msg = _stage_error(h, {"dataset.val.base_dir": f"s3://{bucket}/data"}, FOLDER_INPUT, tmp_path / "c")
    assert "cannot be stored as a local file" in msg
    assert not list(tmp_path.rglob("escaped.txt"))


def test_scrub_and_one_line_error(monkeypatch, h):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", h.SECRET_KEY)
    text = (f"failed https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAABCDEFGHIJKLMNOP%2F2024"
            f"&X-Amz-Signature=deadbeef&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr and secret {h.SECRET_KEY}\n"
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG Signature=abc AWSAccessKeyId=ASIAXYZXYZXYZXYZXYZX")
    out = scrub(text)
    for leak in ("AKIAABCDEFGHIJKLMNOP", "deadbeef", "IQoJb3JpZ2luX2VjEJr", h.SECRET_KEY, "wJalrXUtnFEMI", "ASIAXYZ", "=abc"):
        assert leak not in out, leak
    assert "https://b.s3.amazonaws.com/k?" in out and "X-Amz-Algorithm=AWS4-HMAC-SHA256" in out
    register_secrets(["profile-secret-value-123"])
    err = StagingError("bad\nthing profile-secret-value-123", uri="s3://b/k", fix="do\tthis")
    assert str(err) == "s3://b/k: bad thing ***. Fix: do this"
    assert str(err.with_key("a.b")) == "`a.b` = s3://b/k: bad thing ***. Fix: do this"
