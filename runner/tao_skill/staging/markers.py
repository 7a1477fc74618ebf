"""Extraction markers: which archive version was extracted where (read when planning, written when staging).

Apart from :mod:`tao_skill.staging.archive` so that a plan, which only asks whether a data source is already
extracted, imports neither tarfile nor zipfile.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from tao_skill.staging.fsutil import file_signature, read_json


def _marker_current(marker: Path, signature: Mapping[str, Any]) -> dict[str, Any] | None:
    data = read_json(marker)
    if isinstance(data, dict) and data.get("signature") == dict(signature):
        return data
    return None


def archive_signature(archive: Path, etag: str | None = None) -> dict[str, Any]:
    """What identifies one version of an archive: its S3 ETag when known, else size + mtime."""
    sig: dict[str, Any] = dict(file_signature(archive))
    if etag:
        sig = {"etag": etag, "size": sig["size"]}
    return sig


def folder_marker(dest: Path) -> Path:
    """The marker file recording the extraction of an archive into folder ``dest``."""
    return dest.parent / f".{dest.name}.extracted.json"


def merge_marker(target_dir: Path, archive: Path) -> Path:
    """The marker recording that ``archive`` was extracted into the existing folder ``target_dir``."""
    return target_dir / f".{archive.name}.extracted.json"


def is_extracted(marker: Path, signature: Mapping[str, Any], must_exist: list[Path] | None = None) -> bool:
    """True when ``marker`` records ``signature`` and its outputs are still present."""
    data = _marker_current(marker, signature)
    if data is None:
        return False
    paths = must_exist if must_exist is not None else [marker.parent / e for e in data.get("entries", [])]
    return all(p.exists() for p in paths)
