"""Turn the data-source values of a resolved spec into local paths: plan (dry run) and stage.

``inputs`` is ``actions.<action>.inputs`` of skill_info.yaml: ``{spec_key: {type: file|folder,
optional: bool, extract_to_parent: bool}}``. For each input key with a value:

* a local path or ``file://`` URI is used as it is, after checking that it exists and has the
  right type;
* ``s3://bucket/key`` is downloaded into ``<cache_dir>/s3/<bucket>/<key>`` (an object for a
  ``file`` input, a prefix for a ``folder`` input);
* an archive (``.tar``, ``.tar.gz``, ``.tgz``, ``.zip``) given for a ``folder`` input marked
  ``extract_to_parent`` is extracted next to the cached archive (local archives: into the cache),
  and the value becomes the extracted folder;
* a ``folder`` input marked ``extract_to_parent`` whose folder holds ``data/<archive>`` (the
  packaged S3 layout, ``data/images.tar.gz``) gets it extracted into ``data/``, so that files
  resolve as ``<base_dir>/data/<scene_id>/...``: an S3 folder in its cache copy; a local folder is
  never written to - the value becomes a view of it in the cache (``<cache>/local/<hash>/<name>``,
  symlinks to its entries) whose ``data/`` holds the extracted scenes.

Keys without a value (``None`` or ``""``) are skipped: whether a key is required is the schema's
business, checked before staging. boto3 is imported only when an ``s3://`` value is present.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from tao_skill.staging.markers import folder_marker, is_extracted, merge_marker
from tao_skill.staging.cache import CacheIndex
from tao_skill.staging.errors import StagingError
from tao_skill.staging.fsutil import file_signature
from tao_skill.staging.uris import (
    archive_stem,
    is_archive,
    is_s3_uri,
    local_path_of,
    parse_s3_uri,
    s3_cache_path,
)

if TYPE_CHECKING:
    from tao_skill.staging.archive import ExtractLimits
    from tao_skill.staging.s3download import S3Stager


DATA_ARCHIVE_DIR = "data"  # packaged layout: <base_dir>/data/images.tar.gz -> <base_dir>/data/<scene_id>/...


def _input_type(key: str, spec: Mapping[str, Any]) -> str:
    kind = spec.get("type", "file")
    if kind not in ("file", "folder"):
        raise ValueError(f"skill_info input `{key}` has type {kind!r}; expected 'file' or 'folder'")
    return kind


def _items(values: Mapping[str, Any], inputs: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str, Mapping[str, Any]]]:
    out = []
    for key, spec in inputs.items():
        value = values.get(key)
        if value is None or value == "":
            continue
        _input_type(key, spec)
        if not isinstance(value, (str, Path)):
            raise StagingError(f"expected a path or URI string, got {type(value).__name__}", uri=repr(value)[:80], key=key,
                               fix="give a local path, file:///path or s3://bucket/key")
        out.append((key, str(value), spec))
    return out


def _wants_archive(spec: Mapping[str, Any], name: str) -> bool:
    return spec.get("type") == "folder" and bool(spec.get("extract_to_parent")) and is_archive(name)


def local_archive_dest(cache_dir: Path, archive: Path) -> Path:
    """Where a local archive is extracted: the cache, never the user's folder."""
    digest = hashlib.sha256(str(archive.resolve()).encode()).hexdigest()[:16]
    return Path(cache_dir).absolute() / "local" / digest / archive_stem(archive.name)


def local_view_dest(cache_dir: Path, folder: Path) -> Path:
    """Where the cache view of a local dataset folder with packaged scenes (``data/*.tar.gz``) lives."""
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    return Path(cache_dir).absolute() / "local" / digest / (folder.resolve().name or "dataset")


def _sync_links(src: Path, dst: Path, skip: set[str]) -> None:
    """Give ``dst`` a symlink to every entry of ``src`` (except ``skip`` and staging markers); drop links
    whose entry is gone. Real files and folders in ``dst`` (extracted scenes) are never touched."""
    names = {p.name for p in src.iterdir()} - skip
    names = {n for n in names if not (n.startswith(".") and n.endswith(".extracted.json"))}
    for link in dst.iterdir():
        if link.is_symlink() and link.name not in names:
            link.unlink()
    for name in sorted(names):
        target = dst / name
        if target.is_symlink() or target.exists():
            continue
        tmp = dst / f".{name}.link-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        os.symlink(src / name, tmp)
        os.replace(tmp, target)


def _link_view(folder: Path, view: Path) -> None:
    """The cache view of ``folder``: links to its entries; ``data/`` a real folder of links to ``data/*``
    (its archives left out: their scenes are extracted there instead)."""
    folder = folder.resolve()
    try:
        view.mkdir(parents=True, exist_ok=True)
        _sync_links(folder, view, {DATA_ARCHIVE_DIR})
        data = view / DATA_ARCHIVE_DIR
        if data.is_symlink():
            data.unlink()
        data.mkdir(exist_ok=True)
        _sync_links(folder / DATA_ARCHIVE_DIR, data, {a.name for a in _data_archives(folder)})
    except OSError as exc:
        raise StagingError(f"could not prepare the staging view {view}: {exc.strerror or exc}", uri=str(folder),
                           fix="check that the workspace cache folder is writable and the disk is not full") from None


def _data_archives(folder: Path) -> list[Path]:
    data = folder / DATA_ARCHIVE_DIR
    if not data.is_dir():
        return []
    return sorted(p for p in data.iterdir() if p.is_file() and is_archive(p.name))


# -- plan ------------------------------------------------------------------------------------


def plan_data_sources(
    values: Mapping[str, Any],
    inputs: Mapping[str, Mapping[str, Any]],
    cache_dir: Path,
    *,
    check_remote: bool = False,
) -> list[dict[str, Any]]:
    """Describe, without downloading, how each data-source value will be staged.

    No network call is made unless ``check_remote`` is set (then one HEAD per object, one listing
    per prefix, to compare ETags); ``cached`` otherwise comes from the cache index alone.

    Args:
        values: Resolved spec values by dotted key (other keys are ignored).
        inputs: ``actions.<action>.inputs`` from skill_info.yaml.
        cache_dir: Workspace cache root.
        check_remote: Ask S3 whether cached copies are still current.

    Returns:
        One dict per input key with a value: ``key``, ``uri``, ``local_path``, ``cached``,
        ``kind`` (``"local"``, ``"s3"`` or ``"archive"``), plus ``scheme`` (``"local"``/``"s3"``),
        ``type``, ``optional`` and ``error`` (a one-line problem, e.g. a missing local file, or
        ``None``).
    """
    cache_dir = Path(cache_dir).absolute()
    index = CacheIndex(cache_dir)
    stager: S3Stager | None = None
    plan = []
    for key, value, spec in _items(values, inputs):
        entry: dict[str, Any] = {"key": key, "uri": value, "local_path": None, "cached": False, "kind": "local",
                                 "scheme": "s3" if is_s3_uri(value) else "local", "type": spec.get("type", "file"),
                                 "optional": bool(spec.get("optional", False)), "error": None}
        try:
            if is_s3_uri(value):
                if check_remote and stager is None:
                    from tao_skill.staging.s3download import S3Stager

                    stager = S3Stager(cache_dir, progress=False)
                _plan_s3(entry, value, spec, cache_dir, index, stager)
            else:
                _plan_local(entry, value, spec, cache_dir)
        except StagingError as exc:
            entry["error"] = str(exc.with_key(key))
        plan.append(entry)
    return plan


def _plan_local(entry: dict[str, Any], value: str, spec: Mapping[str, Any], cache_dir: Path) -> None:
    path = local_path_of(value)
    entry["local_path"] = str(path)
    if _wants_archive(spec, path.name):
        entry["kind"] = "archive"
        dest = local_archive_dest(cache_dir, path)
        entry["local_path"] = str(dest)
        entry["cached"] = path.is_file() and is_extracted(folder_marker(dest), file_signature(path), [dest])
    else:
        entry["cached"] = path.exists()
        archives = _data_archives(path) if path.is_dir() and spec.get("extract_to_parent") else []
        if archives:  # staged as a view in the cache with the scenes extracted (the user's folder is not written)
            view = local_view_dest(cache_dir, path)
            entry["local_path"] = str(view)
            entry["cached"] = all(is_extracted(merge_marker(view / DATA_ARCHIVE_DIR, a), file_signature(a))
                                  for a in archives)
    if not path.exists():
        entry["error"] = str(_missing_local(entry["key"], value, path))


def _plan_s3(entry: dict[str, Any], value: str, spec: Mapping[str, Any], cache_dir: Path, index: CacheIndex,
             stager: S3Stager | None) -> None:
    loc = parse_s3_uri(value)
    entry["kind"] = "s3"
    if spec.get("type") == "file" or is_archive(loc.key):
        path = s3_cache_path(cache_dir, loc)
        etag = None
        if stager is not None:
            obj = stager.head(loc)
            etag = obj.etag if obj is not None else "<missing>"
        cached = index.is_fresh(loc.bucket, loc.key, path, etag)
        entry["local_path"] = str(path)
        if _wants_archive(spec, loc.key):
            entry["kind"] = "archive"
            dest = path.parent / archive_stem(path.name)
            entry["local_path"] = str(dest)
            row = index.get(loc.bucket, loc.key)
            cached = cached and row is not None and is_extracted(folder_marker(dest), {"etag": row.etag, "size": row.size}, [dest])
        entry["cached"] = cached
        return
    root = s3_cache_path(cache_dir, loc, as_prefix=True)
    entry["local_path"] = str(root)
    cached = index.prefix_complete(loc.bucket, loc.prefix)
    if cached and stager is not None:
        rows = {r.key: r.etag for r in index.under(loc.bucket, loc.prefix)}
        cached = all(rows.get(o.key) == o.etag for o in stager.list(loc) if not o.key.endswith("/"))
    if cached and spec.get("extract_to_parent"):
        for arch in _data_archives(root):
            key = f"{loc.prefix}{DATA_ARCHIVE_DIR}/{arch.name}"
            row = index.get(loc.bucket, key)
            if row is None or not is_extracted(merge_marker(arch.parent, arch), {"etag": row.etag, "size": row.size}):
                cached = False
    entry["cached"] = cached


def _missing_local(key: str, value: str, path: Path) -> StagingError:
    return StagingError(f"local path {path} does not exist", uri=value, key=key,
                        fix="check the path (relative paths are taken from the current folder) or use an s3:// URI")


# -- stage -----------------------------------------------------------------------------------


def stage_data_sources(
    values: Mapping[str, Any],
    inputs: Mapping[str, Mapping[str, Any]],
    cache_dir: Path,
    *,
    progress: bool = True,
    limits: ExtractLimits | Mapping[str, int] | None = None,
    max_concurrency: int = 16,
) -> dict[str, str]:
    """Make every data-source value local, downloading and extracting as needed.

    Args:
        values: Resolved spec values by dotted key (other keys are ignored).
        inputs: ``actions.<action>.inputs`` from skill_info.yaml.
        cache_dir: Workspace cache root.
        progress: Show transfer progress bars (only when stderr is a terminal).
        limits: Archive extraction limits (default :class:`ExtractLimits`).
        max_concurrency: Parallel S3 transfers.

    Returns:
        ``{spec_key: local_path}`` for each input key with a value; the runner writes these into
        the spec it launches.

    Raises:
        StagingError: the first source that could not be staged (one line, naming key, URI, fix).
    """
    cache_dir = Path(cache_dir).absolute()
    import logging  # noqa: PLC0415 - staging only (a plan does not stage)

    from tao_skill.staging.archive import ExtractLimits  # noqa: PLC0415 - tarfile/zipfile only to stage

    limits = ExtractLimits.coerce(limits)
    items = _items(values, inputs)
    stager: S3Stager | None = None
    done: dict[tuple[str, str, bool], str] = {}
    out: dict[str, str] = {}
    for key, value, spec in items:
        memo = (value, str(spec.get("type", "file")), bool(spec.get("extract_to_parent")))
        if memo in done:  # e.g. dataset.val.base_dir and dataset.test.base_dir on the same prefix
            out[key] = done[memo]
            continue
        try:
            if is_s3_uri(value):
                if stager is None:
                    from tao_skill.staging.s3download import S3Stager

                    stager = S3Stager(cache_dir, progress=progress, max_concurrency=max_concurrency)
                local = _stage_s3(key, value, spec, stager, limits)
            else:
                local = _stage_local(key, value, spec, cache_dir, limits)
        except StagingError as exc:
            raise exc.with_key(key) from exc.__cause__
        logging.getLogger("tao_skill.staging").info("staged %s = %s -> %s", key, value, local)
        done[memo] = out[key] = str(local)
    return out


def _stage_local(key: str, value: str, spec: Mapping[str, Any], cache_dir: Path, limits: ExtractLimits) -> Path:
    from tao_skill.staging.archive import extract_archive, extract_into  # noqa: PLC0415

    path = local_path_of(value)
    if not path.exists():
        raise _missing_local(key, value, path)
    if spec.get("type") == "file":
        if not path.is_file():
            raise StagingError(f"{path} is a folder but a file is expected", uri=value, key=key,
                               fix="point the value at the file itself")
        return path
    if path.is_file():
        if _wants_archive(spec, path.name):
            return extract_archive(path, local_archive_dest(cache_dir, path), limits=limits, uri=value)
        raise StagingError(f"{path} is a file but a folder is expected", uri=value, key=key,
                           fix="give the folder that holds the files" + (
                               ", or a .tar.gz/.tgz/.tar/.zip archive" if spec.get("extract_to_parent") else ""))
    archives = _data_archives(path) if spec.get("extract_to_parent") else []
    if not archives:
        return path
    # Never write into the user's folder: the job reads a view of it in the cache (links to every entry)
    # whose data/ also holds the extracted scenes.
    view = local_view_dest(cache_dir, path)
    _link_view(path, view)
    for arch in archives:
        extract_into(arch, view / DATA_ARCHIVE_DIR, limits=limits, uri=str(arch))
    return view


def _stage_s3(key: str, value: str, spec: Mapping[str, Any], stager: S3Stager, limits: ExtractLimits) -> Path:
    from tao_skill.staging.archive import extract_archive, extract_into  # noqa: PLC0415

    loc = parse_s3_uri(value)
    want = "file" if spec.get("type") == "file" else "folder"
    kind, objs = stager.locate(loc, want=want, key=key)
    if kind == "object":
        path = stager.fetch_object(loc, objs[0])
        if want == "folder":  # an archive for a folder input
            if not spec.get("extract_to_parent"):
                raise StagingError("a folder is expected but this is an archive, and this input is not extracted",
                                   uri=value, key=key, fix="give the prefix that holds the extracted files")
            return extract_archive(path, path.parent / archive_stem(path.name), limits=limits, uri=value,
                                   signature={"etag": objs[0].etag, "size": objs[0].size})
        return path
    root = stager.fetch_prefix(loc, objs)
    if spec.get("extract_to_parent"):
        etags = {o.key: o for o in objs}
        for arch in _data_archives(root):
            obj = etags.get(f"{loc.prefix}{DATA_ARCHIVE_DIR}/{arch.name}")
            sig = {"etag": obj.etag, "size": obj.size} if obj is not None else None
            extract_into(arch, arch.parent, limits=limits, uri=f"s3://{loc.bucket}/{loc.prefix}{DATA_ARCHIVE_DIR}/{arch.name}",
                         signature=sig)
    return root
