"""Data-source values: what kind of location a spec value names, and where it lives in the cache.

A value is a local path, a ``file://`` URI or an ``s3://bucket/key-or-prefix`` URI. Nothing in
this module touches the network or imports boto3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from tao_skill.staging.errors import StagingError

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
# S3 bucket naming rules (3-63 chars, lower case, digits, dots, hyphens); we accept what S3-compatible
# stores accept in practice (underscores for some MinIO setups) but nothing that could form a path.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
_IP_LIKE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")  # S3 refuses bucket names formatted as IP addresses
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def is_s3_uri(value: str) -> bool:
    """True when ``value`` is an ``s3://`` URI."""
    return isinstance(value, str) and value.lower().startswith("s3://")


def is_archive(name: str) -> bool:
    """True when ``name`` ends with a supported archive suffix (``.tar``, ``.tar.gz``, ``.tgz``, ``.zip``)."""
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def archive_stem(name: str) -> str:
    """``images.tar.gz`` -> ``images``; the folder an archive is extracted to is named after it."""
    base = PurePosixPath(name).name
    for suffix in ARCHIVE_SUFFIXES:
        if base.lower().endswith(suffix):
            return base[: -len(suffix)] or "archive"
    return base


@dataclass(frozen=True)
class S3Location:
    """A parsed ``s3://bucket/key`` URI (``key`` may be empty or end with ``/``)."""

    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def prefix(self) -> str:
        """The key as a folder prefix: empty for the bucket root, else ending with ``/``."""
        key = self.key.strip("/")
        return f"{key}/" if key else ""

    def child(self, key: str) -> "S3Location":
        return S3Location(self.bucket, key)


def parse_s3_uri(uri: str) -> S3Location:
    """Split ``s3://bucket/key`` into bucket and key.

    Raises:
        StagingError: the bucket name is missing or not a valid S3 bucket name.
    """
    rest = uri[len("s3://") :]
    bucket, _, key = rest.partition("/")
    if not bucket or not _BUCKET.match(bucket) or ".." in bucket or ".-" in bucket or "-." in bucket \
            or _IP_LIKE.match(bucket):
        raise StagingError(
            f"'{bucket}' is not a valid S3 bucket name",
            uri=uri,
            fix="write the value as s3://<bucket>/<key-or-prefix> with a bucket of 3-63 lower-case letters, digits, '.' or '-'",
        )
    if "?" in key or "#" in key:
        raise StagingError(
            "S3 URIs may not carry a query string or fragment",
            uri=uri.split("?")[0],
            fix="give the plain s3://bucket/key; credentials come from the AWS environment, not the URI",
        )
    return S3Location(bucket, key)


def local_path_of(value: str) -> Path:
    """The local path of a plain path or ``file://`` URI (``~`` expanded, made absolute).

    Raises:
        StagingError: the value has a scheme other than ``file://`` or ``s3://``.
    """
    match = _SCHEME.match(value)
    if match:
        scheme = match.group(1).lower()
        if scheme != "file":
            raise StagingError(
                f"unsupported URI scheme '{scheme}://'",
                uri=value.split("?")[0],
                fix="use a local path, file:///absolute/path or s3://bucket/key (copy other stores to S3 or local disk first)",
            )
        parsed = urlparse(value)
        if parsed.netloc not in ("", "localhost"):
            raise StagingError(
                f"file:// URI names host '{parsed.netloc}', only local files are supported",
                uri=value,
                fix="write file:///absolute/path (three slashes) for a local file",
            )
        return Path(unquote(parsed.path))
    return Path(value).expanduser().absolute()


def safe_relative_key(key: str, *, uri: str) -> PurePosixPath:
    """An S3 key as a relative path that cannot leave the folder it is joined to.

    S3 keys are arbitrary strings; ``a/../../x`` or ``/etc/x`` must never become a path outside
    the cache.

    Raises:
        StagingError: the key has ``..``/``.`` components, NUL bytes or is empty.
    """
    parts = [p for p in key.split("/") if p != ""]
    if not parts or any(p in (".", "..") or "\x00" in p or "\\" in p for p in parts):
        raise StagingError(
            f"object key '{key}' cannot be stored as a local file (empty, '.', '..' or backslash components)",
            uri=uri,
            fix="rename the object in the bucket to a plain relative key such as data/scene/rgb_0000.png",
        )
    return PurePosixPath(*parts)


def s3_cache_path(cache_dir: Path, loc: S3Location, *, as_prefix: bool = False) -> Path:
    """Where the object or prefix ``loc`` lives in the cache: ``<cache>/s3/<bucket>/<key>``."""
    root = Path(cache_dir) / "s3" / loc.bucket
    key = loc.prefix if as_prefix else loc.key
    if not key.strip("/"):
        return root
    return root / safe_relative_key(key, uri=loc.uri)
