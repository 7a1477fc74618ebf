"""Data staging for the runner: local, ``file://`` and ``s3://`` data sources, safe archive
extraction, and results upload.

Public API (boto3 is imported only when an ``s3://`` value is actually staged or uploaded):

* :func:`plan_data_sources` - dry-run description of each data source (no network by default).
* :func:`stage_data_sources` - make every data source local; returns ``{spec_key: local_path}``.
* :func:`upload_results` - upload a results folder to ``s3://``, skipping excludes and unchanged files.
* :class:`StagingError` - one-line, credential-free error with ``.uri`` and ``.fix`` (runner exit code 3).
* :class:`ExtractLimits`, :func:`extract_archive`, :func:`extract_into`, :func:`check_archive` - safe extraction.
"""

from pathlib import Path
from typing import Any

from tao_skill.staging.errors import StagingError, scrub
from tao_skill.staging.stage import plan_data_sources, stage_data_sources
from tao_skill.staging.uris import is_archive, is_s3_uri, parse_s3_uri


_ARCHIVE_NAMES = ("ExtractLimits", "check_archive", "extract_archive", "extract_into")


def __getattr__(name: str) -> Any:
    """The archive names on first use (tarfile and zipfile stay out of a plan's imports)."""
    if name in _ARCHIVE_NAMES:
        from tao_skill.staging import archive  # noqa: PLC0415

        return getattr(archive, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def upload_results(
    local_dir: Path,
    uri: str,
    excludes: list[str] | None = None,
    *,
    progress: bool = False,
    max_concurrency: int = 16,
    client: Any = None,
) -> dict[str, int]:
    """Upload ``local_dir`` under ``uri`` (``s3://``), skipping ``excludes`` and unchanged files.

    Thin lazy wrapper (keeps boto3 out of imports); see :func:`tao_skill.staging.upload.upload_results`.

    Returns:
        ``{"uploaded": n, "skipped": n, "excluded": n, "bytes": n}``.
    """
    from tao_skill.staging.upload import upload_results as _upload

    return _upload(local_dir, uri, excludes, progress=progress, max_concurrency=max_concurrency, client=client)

__all__ = [
    "ExtractLimits",
    "StagingError",
    "check_archive",
    "extract_archive",
    "extract_into",
    "is_archive",
    "is_s3_uri",
    "parse_s3_uri",
    "plan_data_sources",
    "scrub",
    "stage_data_sources",
    "upload_results",
]
