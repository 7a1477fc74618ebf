"""Upload a job's local results folder to an ``s3://`` destination, skipping what is already there.

A file is skipped when the remote object under the same key has the same size and an ETag equal
to the file's own: the MD5 for single-part uploads, or the multipart ETag (MD5 of the parts' MD5s,
``-<parts>``) recomputed with the part size our transfers use. Objects whose ETag is not an MD5
(SSE-KMS) are simply uploaded again. Files matching ``excludes`` (skill_info ``upload_excludes``)
are never uploaded.
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import os
from pathlib import Path
from typing import Any

from tao_skill.staging.errors import StagingError
from tao_skill.staging.progress import progress_wanted, transfer_progress
from tao_skill.staging.uris import is_s3_uri, parse_s3_uri

MULTIPART_THRESHOLD = 8 * 2**20
MULTIPART_CHUNKSIZE = 8 * 2**20
_MAX_PARTS = 10_000


def is_excluded(rel: str, patterns: list[str]) -> bool:
    """Whether the relative posix path ``rel`` matches an exclude pattern.

    A pattern ending with ``/`` is a folder prefix (``inputs/`` excludes everything under
    ``inputs``); otherwise it is a glob matched against the whole relative path and, when it
    has no ``/``, against the file name too (``*.tmp``).
    """
    parts = rel.split("/")
    folders = ["/".join(parts[: i + 1]) for i in range(len(parts) - 1)]
    for pat in patterns:
        pat = pat.strip().removeprefix("./")
        if not pat:
            continue
        if pat.endswith("/"):
            folder = pat.rstrip("/")
            if any(fnmatch.fnmatchcase(f, folder) for f in folders):
                return True
        elif fnmatch.fnmatchcase(rel, pat) or ("/" not in pat and fnmatch.fnmatchcase(parts[-1], pat)):
            return True
    return False


def local_etag(path: Path, *, threshold: int | None = None, chunksize: int | None = None) -> str:
    """The ETag S3 gives ``path`` when uploaded with our transfer settings (quoted, like S3 returns it)."""
    threshold = MULTIPART_THRESHOLD if threshold is None else threshold
    chunksize = MULTIPART_CHUNKSIZE if chunksize is None else chunksize
    size = path.stat().st_size
    if size < threshold:
        h = hashlib.md5(usedforsecurity=False)
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return f'"{h.hexdigest()}"'
    while math.ceil(size / chunksize) > _MAX_PARTS:  # s3transfer grows the part size the same way
        chunksize *= 2
    digests = []
    with open(path, "rb") as fh:
        for part in iter(lambda: fh.read(chunksize), b""):
            digests.append(hashlib.md5(part, usedforsecurity=False).digest())
    return f'"{hashlib.md5(b"".join(digests), usedforsecurity=False).hexdigest()}-{len(digests)}"'


def _collect(local_dir: Path, excludes: list[str]) -> tuple[list[tuple[str, Path]], int]:
    files, excluded = [], 0
    for dirpath, dirnames, filenames in os.walk(local_dir):
        dirnames.sort()
        base = Path(dirpath)
        for name in sorted(filenames):
            path = base / name
            rel = path.relative_to(local_dir).as_posix()
            if is_excluded(rel, excludes) or path.is_symlink() or not path.is_file():
                excluded += 1
                continue
            files.append((rel, path))
    return files, excluded


def upload_results(
    local_dir: Path,
    uri: str,
    excludes: list[str] | None = None,
    *,
    progress: bool = False,
    max_concurrency: int = 16,
    client: Any = None,
) -> dict[str, int]:
    """Upload the files of ``local_dir`` under the prefix ``uri``, keeping relative paths.

    Args:
        local_dir: The job's local results folder.
        uri: ``s3://bucket/prefix`` destination.
        excludes: Patterns to leave out (see :func:`is_excluded`), e.g. ``["inputs/"]``.
        progress: Show a progress bar (only when stderr is a terminal).
        max_concurrency: Parallel transfers.
        client: An S3 client (default: :func:`tao_skill.staging.s3client.make_client`).

    Returns:
        ``{"uploaded": n, "skipped": n, "excluded": n, "bytes": n}`` (``skipped`` = unchanged
        files already at the destination, ``bytes`` = bytes uploaded).

    Raises:
        StagingError: the folder is missing, the URI is not ``s3://``, or S3 refused (one line, scrubbed).
    """
    local_dir = Path(local_dir)
    if not is_s3_uri(uri):
        raise StagingError("results can only be uploaded to an s3:// URI", uri=uri,
                           fix="give results_dir as s3://bucket/prefix, or a local folder (then nothing is uploaded)")
    if not local_dir.is_dir():
        raise StagingError(f"local results folder {local_dir} does not exist", uri=uri,
                           fix="run the job first; the results folder is created by the job")
    loc = parse_s3_uri(uri)
    prefix = loc.prefix
    files, excluded = _collect(local_dir, list(excludes or []))

    from boto3.s3.transfer import TransferConfig, create_transfer_manager
    from s3transfer.subscribers import BaseSubscriber

    from tao_skill.staging import s3client

    client = client if client is not None else s3client.make_client(max_pool_connections=max(2 * max_concurrency, 10))
    remote: dict[str, tuple[str, int]] = {}
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=loc.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                remote[item["Key"]] = (item.get("ETag", ""), int(item.get("Size", 0)))
    except Exception as exc:
        raise s3client.translate_error(exc, uri, client=client, what="upload") from None

    todo: list[tuple[str, Path, int]] = []
    skipped = 0
    for rel, path in files:
        key = prefix + rel
        size = path.stat().st_size
        have = remote.get(key)
        if have is not None and have[1] == size and local_etag(path) == have[0]:
            skipped += 1
            continue
        todo.append((key, path, size))

    class _Advance(BaseSubscriber):
        def __init__(self, advance: Any) -> None:
            self._advance = advance

        def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
            self._advance(bytes_transferred)

    config = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_CHUNKSIZE,
                            max_concurrency=max_concurrency, use_threads=True)
    uploaded = nbytes = 0
    first_error: tuple[BaseException, str] | None = None
    if todo:
        total = sum(s for _, _, s in todo)
        with transfer_progress(f"upload {uri} ({len(todo)} files)", total, enabled=progress_wanted(progress)) as advance:
            manager = create_transfer_manager(client, config)
            try:
                futures = [(key, size, manager.upload(str(path), loc.bucket, key, subscribers=[_Advance(advance)]))
                           for key, path, size in todo]
                for key, size, fut in futures:
                    try:
                        fut.result()
                        uploaded += 1
                        nbytes += size
                    except Exception as exc:
                        if first_error is None:
                            first_error = (exc, f"s3://{loc.bucket}/{key}")
            finally:
                manager.shutdown()
    if first_error is not None:
        exc, where = first_error
        raise s3client.translate_error(exc, where, client=client, what="upload") from None
    return {"uploaded": uploaded, "skipped": skipped, "excluded": excluded, "bytes": nbytes}
