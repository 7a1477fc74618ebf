"""The download cache index: which S3 object version (bucket, key, ETag) sits at which local file.

Files live at ``<cache>/s3/<bucket>/<key>``; this SQLite index beside them (``<cache>/index.sqlite3``)
records each object's ETag and the size and mtime the local copy had when its download completed.
A file counts as cached only if its index row matches the remote ETag *and* the file on disk
still has the recorded size and mtime, so a half-written or hand-edited file is never trusted.
Rows are written only after the file was renamed into place. SQLite's locking lets several jobs
share one workspace cache.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL, key TEXT NOT NULL, etag TEXT NOT NULL,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, path TEXT NOT NULL, fetched_at REAL NOT NULL,
    PRIMARY KEY (bucket, key));
CREATE TABLE IF NOT EXISTS prefixes (
    bucket TEXT NOT NULL, prefix TEXT NOT NULL, count INTEGER NOT NULL, listed_at REAL NOT NULL,
    PRIMARY KEY (bucket, prefix));
"""


@dataclass(frozen=True)
class CachedObject:
    """One index row."""

    bucket: str
    key: str
    etag: str
    size: int
    mtime_ns: int
    path: str

    def intact(self) -> bool:
        """The local file still has the size and mtime recorded when it was completed."""
        try:
            st = Path(self.path).stat()
        except OSError:
            return False
        return st.st_size == self.size and st.st_mtime_ns == self.mtime_ns


class CacheIndex:
    """SQLite index of downloaded S3 objects under one cache folder.

    Args:
        cache_dir: The cache root (created on the first write, never by a read).
    """

    FILE = "index.sqlite3"

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = Path(cache_dir)
        self.path = self.cache_dir / self.FILE

    def _connect(self, *, write: bool) -> sqlite3.Connection | None:
        if not write and not self.path.exists():
            return None
        if write:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=60)
            conn.executescript(_SCHEMA)
        else:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=60)
        return conn

    def get(self, bucket: str, key: str) -> CachedObject | None:
        """The row for ``bucket/key``, or ``None``."""
        conn = self._connect(write=False)
        if conn is None:
            return None
        with closing(conn):
            try:
                row = conn.execute(
                    "SELECT bucket, key, etag, size, mtime_ns, path FROM objects WHERE bucket=? AND key=?", (bucket, key)
                ).fetchone()
            except sqlite3.OperationalError:  # created but empty (no tables yet)
                return None
        return CachedObject(*row) if row else None

    def is_fresh(self, bucket: str, key: str, local_path: Path, etag: str | None = None) -> bool:
        """True when ``local_path`` is a complete copy of ``bucket/key`` (of version ``etag`` when given)."""
        row = self.get(bucket, key)
        return (
            row is not None
            and Path(row.path) == Path(local_path)
            and (etag is None or row.etag == etag)
            and row.intact()
        )

    def under(self, bucket: str, prefix: str) -> list[CachedObject]:
        """All rows whose key starts with ``prefix``."""
        conn = self._connect(write=False)
        if conn is None:
            return []
        with closing(conn):
            try:
                rows = conn.execute(
                    "SELECT bucket, key, etag, size, mtime_ns, path FROM objects WHERE bucket=? AND substr(key, 1, ?)=?",
                    (bucket, len(prefix), prefix),
                ).fetchall()
            except sqlite3.OperationalError:
                return []
        return [CachedObject(*r) for r in rows]

    def record(self, bucket: str, key: str, etag: str, local_path: Path) -> None:
        """Record that ``local_path`` is now a complete copy of ``bucket/key`` at version ``etag``."""
        self.record_many([(bucket, key, etag, Path(local_path))])

    def record_many(self, items: list[tuple[str, str, str, Path]]) -> None:
        """:meth:`record` for many objects in one transaction."""
        if not items:
            return
        now = time.time()
        rows = []
        for bucket, key, etag, path in items:
            st = Path(path).stat()
            rows.append((bucket, key, etag, st.st_size, st.st_mtime_ns, str(path), now))
        conn = self._connect(write=True)
        assert conn is not None
        with closing(conn), conn:
            conn.executemany("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def forget(self, bucket: str, keys: list[str]) -> None:
        """Drop rows (the objects were deleted remotely and their files removed)."""
        if not keys or not self.path.exists():
            return
        conn = self._connect(write=True)
        assert conn is not None
        with closing(conn), conn:
            conn.executemany("DELETE FROM objects WHERE bucket=? AND key=?", [(bucket, k) for k in keys])

    def record_prefix(self, bucket: str, prefix: str, count: int) -> None:
        """Record that the whole listing of ``prefix`` (``count`` objects) is in the cache."""
        conn = self._connect(write=True)
        assert conn is not None
        with closing(conn), conn:
            conn.execute("INSERT OR REPLACE INTO prefixes VALUES (?, ?, ?, ?)", (bucket, prefix, count, time.time()))

    def prefix_complete(self, bucket: str, prefix: str) -> bool:
        """True when a complete listing of ``prefix`` was staged and every file of it is still intact."""
        conn = self._connect(write=False)
        if conn is None:
            return False
        with closing(conn):
            try:
                row = conn.execute("SELECT count FROM prefixes WHERE bucket=? AND prefix=?", (bucket, prefix)).fetchone()
            except sqlite3.OperationalError:
                return False
        if row is None:
            return False
        rows = self.under(bucket, prefix)
        return len(rows) >= row[0] and all(r.intact() for r in rows)
