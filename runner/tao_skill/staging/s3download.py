"""Download S3 objects and prefixes into the workspace cache, once per object version.

Objects land at ``<cache>/s3/<bucket>/<key>``. Transfers run in parallel through boto3's transfer
manager (s3transfer), each into a private temp folder under ``<cache>/tmp/`` and renamed into place
only after the whole object arrived with the expected size, so an interrupted run never leaves a
file that looks complete. Every GetObject carries ``If-Match: <listed ETag>``: the bytes recorded
in the index are exactly the version that was listed. Files whose index row matches the remote ETag
(and whose size and mtime are unchanged on disk) are not downloaded again.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.exceptions import ClientError
from s3transfer.subscribers import BaseSubscriber

from tao_skill.staging import s3client
from tao_skill.staging.cache import CacheIndex
from tao_skill.staging.errors import StagingError
from tao_skill.staging.fsutil import remove_tree
from tao_skill.staging.progress import progress_wanted, transfer_progress
from tao_skill.staging.uris import S3Location, is_archive, s3_cache_path, safe_relative_key

_STALE_TMP_S = 24 * 3600


@dataclass(frozen=True)
class RemoteObject:
    """One object as listed: key, ETag (with quotes, as S3 returns it) and size in bytes."""

    key: str
    etag: str
    size: int


class _Feed(BaseSubscriber):
    """Gives s3transfer the size and ETag we already know (no extra HEAD) and reports progress."""

    def __init__(self, obj: RemoteObject, advance: Any) -> None:
        self._obj, self._advance = obj, advance

    def on_queued(self, future: Any, **kwargs: Any) -> None:
        future.meta.provide_transfer_size(self._obj.size)
        future.meta.provide_object_etag(self._obj.etag)

    def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
        self._advance(bytes_transferred)


class S3Stager:
    """Stage S3 objects and prefixes into one cache folder.

    Args:
        cache_dir: Workspace cache root.
        progress: Draw a progress bar (only on a terminal).
        max_concurrency: Parallel transfers.
        client: An S3 client (default: :func:`s3client.make_client`).
    """

    def __init__(self, cache_dir: Path, *, progress: bool = True, max_concurrency: int = 16, client: Any = None) -> None:
        self.cache_dir = Path(cache_dir)
        self.index = CacheIndex(self.cache_dir)
        self.progress = progress_wanted(progress)
        self.max_concurrency = max_concurrency
        self.client = client if client is not None else s3client.make_client(max_pool_connections=max(2 * max_concurrency, 10))
        self._expected: dict[tuple[str, str], str] = {}
        self.client.meta.events.register("before-parameter-build.s3.GetObject", self._add_if_match)
        self.stats = {"downloaded": 0, "bytes": 0, "reused": 0, "removed": 0}

    # -- requests ------------------------------------------------------------------------------

    def _add_if_match(self, params: dict[str, Any], **kwargs: Any) -> None:
        etag = self._expected.get((params.get("Bucket", ""), params.get("Key", "")))
        if etag and "IfMatch" not in params:
            params["IfMatch"] = etag

    def _error(self, exc: BaseException, uri: str, **kw: Any) -> StagingError:
        return s3client.translate_error(exc, uri, client=self.client, **kw)

    def _bucket_exists(self, bucket: str) -> bool:
        try:
            self.client.head_bucket(Bucket=bucket)
            return True
        except ClientError as exc:
            if s3client.error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                return False
            return True  # 403 etc.: exists but not ours to inspect; the object call reports the rest
        except Exception as exc:
            raise self._error(exc, f"s3://{bucket}/") from None

    def head(self, loc: S3Location) -> RemoteObject | None:
        """The object at ``loc``, or ``None`` when the key does not exist (the bucket does).

        Raises:
            StagingError: missing bucket, access denied, credentials, endpoint.
        """
        try:
            resp = self.client.head_object(Bucket=loc.bucket, Key=loc.key)
        except ClientError as exc:
            if s3client.error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                if not self._bucket_exists(loc.bucket):
                    raise self._error(exc, loc.uri, bucket_missing=True) from None
                return None
            raise self._error(exc, loc.uri) from None
        except Exception as exc:
            raise self._error(exc, loc.uri) from None
        return RemoteObject(loc.key, resp.get("ETag", ""), int(resp.get("ContentLength", 0)))

    def list(self, loc: S3Location, *, limit: int | None = None) -> list[RemoteObject]:
        """All objects under ``loc.prefix`` (or the first ``limit``)."""
        uri = f"s3://{loc.bucket}/{loc.prefix}"
        out: list[RemoteObject] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=loc.bucket, Prefix=loc.prefix, PaginationConfig={"MaxItems": limit} if limit else {})
            for page in pages:
                for item in page.get("Contents", []):
                    out.append(RemoteObject(item["Key"], item.get("ETag", ""), int(item.get("Size", 0))))
        except Exception as exc:
            raise self._error(exc, uri, what="prefix") from None
        return out

    # -- what a value names ----------------------------------------------------------------

    def locate(self, loc: S3Location, *, want: Literal["file", "folder"], key: str | None = None
               ) -> tuple[Literal["object", "prefix"], list[RemoteObject]]:
        """Decide whether ``loc`` is an object or a prefix, from the input's type and by listing.

        A ``file`` input must be an object. A ``folder`` input is a prefix, or a single archive
        object (extracted later). Raises a StagingError that says which was found otherwise.
        """
        if want == "file" or is_archive(loc.key):
            if loc.key.endswith("/") or not loc.key:
                raise StagingError("a file is expected but the URI ends with '/' (a prefix)", uri=loc.uri, key=key,
                                   fix="give the full object key, e.g. s3://bucket/meta/train.json")
            obj = self.head(loc)
            if obj is not None:
                return "object", [obj]
            if self.list(loc.child(loc.prefix), limit=1):
                raise StagingError("a file is expected but this is a prefix (folder) in the bucket", uri=loc.uri, key=key,
                                   fix="point the value at one object inside it")
            raise StagingError("no object at this key", uri=loc.uri, key=key,
                               fix="check the key (list the parent with `aws s3 ls`) and that the file was uploaded")
        objs = self.list(loc)
        if objs:
            return "prefix", objs
        obj = self.head(loc) if loc.key.strip("/") else None
        if obj is not None:
            raise StagingError("a folder is expected but this is a single object that is not an archive", uri=loc.uri, key=key,
                               fix="give the prefix that holds the files, or a .tar.gz/.tgz/.tar/.zip archive of them")
        raise StagingError("no objects under this prefix", uri=loc.uri, key=key,
                           fix="check the prefix (list it with `aws s3 ls`) and that the data was uploaded")

    # -- downloads -------------------------------------------------------------------------

    def fetch_object(self, loc: S3Location, obj: RemoteObject) -> Path:
        """Make ``<cache>/s3/<bucket>/<key>`` a complete copy of ``obj``; returns its path."""
        path = s3_cache_path(self.cache_dir, loc)
        if self.index.is_fresh(loc.bucket, obj.key, path, obj.etag):
            self.stats["reused"] += 1
            return path
        self._download(loc.bucket, [(obj, path)], label=loc.uri)
        return path

    def fetch_prefix(self, loc: S3Location, objs: list[RemoteObject]) -> Path:
        """Mirror the listing ``objs`` of ``loc`` into the cache; returns the local folder.

        Objects already cached at the listed ETag are skipped; files of objects that no longer
        exist remotely (and that staging downloaded before) are removed.
        """
        root = s3_cache_path(self.cache_dir, loc, as_prefix=True)
        root.mkdir(parents=True, exist_ok=True)
        known = {row.key: row for row in self.index.under(loc.bucket, loc.prefix)}
        todo: list[tuple[RemoteObject, Path]] = []
        for obj in objs:
            rel = obj.key[len(loc.prefix):]
            if obj.key.endswith("/"):  # folder placeholder objects
                if rel.strip("/"):
                    (root / safe_relative_key(rel, uri=f"s3://{loc.bucket}/{obj.key}")).mkdir(parents=True, exist_ok=True)
                continue
            path = root / safe_relative_key(rel, uri=f"s3://{loc.bucket}/{obj.key}")
            row = known.get(obj.key)
            if row is not None and row.etag == obj.etag and Path(row.path) == path and row.intact():
                self.stats["reused"] += 1
                continue
            todo.append((obj, path))
        self._download(loc.bucket, todo, label=f"s3://{loc.bucket}/{loc.prefix}")
        listed = {o.key for o in objs}
        gone = [k for k in known if k not in listed]
        for k in gone:
            remove_tree(Path(known[k].path))
        self.stats["removed"] += len(gone)
        self.index.forget(loc.bucket, gone)
        self.index.record_prefix(loc.bucket, loc.prefix, sum(1 for o in objs if not o.key.endswith("/")))
        return root

    def _tmp_dir(self) -> Path:
        base = self.cache_dir / "tmp"
        base.mkdir(parents=True, exist_ok=True)
        now = time.time()
        for old in base.iterdir():  # leftovers of killed runs; recent ones may belong to a live job
            try:
                if now - old.stat().st_mtime > _STALE_TMP_S:
                    remove_tree(old)
            except OSError:
                pass
        tmp = base / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        tmp.mkdir()
        return tmp

    def _download(self, bucket: str, items: list[tuple[RemoteObject, Path]], *, label: str) -> None:
        if not items:
            return
        total = sum(o.size for o, _ in items)
        tmp = self._tmp_dir()
        free = shutil.disk_usage(tmp).free
        if total > free:
            shutil.rmtree(tmp, ignore_errors=True)
            raise StagingError(f"{len(items)} object(s) need {total} bytes but only {free} are free in the cache {self.cache_dir}",
                               uri=label, fix="free disk space or put the workspace (its cache/) on a larger disk")
        config = TransferConfig(max_concurrency=self.max_concurrency, use_threads=True)
        done: list[tuple[str, str, str, Path]] = []
        first_error: tuple[BaseException, str] | None = None
        try:
            for obj, _ in items:
                self._expected[(bucket, obj.key)] = obj.etag
            with transfer_progress(f"{label} ({len(items)} file{'s' if len(items) != 1 else ''})", total,
                                   enabled=self.progress) as advance:
                manager = create_transfer_manager(self.client, config)
                try:
                    futures = []
                    for i, (obj, _) in enumerate(items):
                        futures.append(manager.download(bucket, obj.key, str(tmp / f"{i:08d}"),
                                                        subscribers=[_Feed(obj, advance)]))
                    for i, ((obj, path), fut) in enumerate(zip(items, futures)):
                        uri = f"s3://{bucket}/{obj.key}"
                        try:
                            fut.result()
                            part = tmp / f"{i:08d}"
                            got = part.stat().st_size
                            if got != obj.size:
                                raise StagingError(f"incomplete download ({got} of {obj.size} bytes)", uri=uri,
                                                   fix="run again; check the network or the S3-compatible store")
                            path.parent.mkdir(parents=True, exist_ok=True)
                            if path.is_dir() and not path.is_symlink():
                                raise StagingError(f"cannot store the object: {path} is a folder (another key uses it as a prefix)",
                                                   uri=uri, fix="rename one of the two objects in the bucket")
                            os.replace(part, path)
                            done.append((bucket, obj.key, obj.etag, path))
                            self.stats["downloaded"] += 1
                            self.stats["bytes"] += obj.size
                        except Exception as exc:  # keep waiting: record what did arrive, report the first failure
                            if first_error is None:
                                first_error = (exc, uri)
                    manager.shutdown()
                except BaseException:  # interrupted: stop queued transfers, keep what completed
                    manager.shutdown(cancel=True)
                    raise
        finally:
            self.index.record_many(done)
            for obj, _ in items:
                self._expected.pop((bucket, obj.key), None)
            shutil.rmtree(tmp, ignore_errors=True)
        if first_error is not None:
            exc, uri = first_error
            raise self._error(exc, uri) from None
