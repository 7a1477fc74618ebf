"""Safe, atomic, idempotent extraction of ``.tar``, ``.tar.gz``/``.tgz`` and ``.zip`` archives.

Every member is checked before anything is written: no absolute names, no ``..`` components, no
symbolic or hard link that resolves outside the target (links are followed inside the archive's
own tree, so a chain of individually harmless links cannot escape either), no device files or
FIFOs, and the total size and member count stay under :class:`ExtractLimits`. The first offending
member is named in the error. Tar extraction then runs with tarfile's ``data`` filter as a second
line of defence.

Extraction goes to a hidden temp folder on the same file system and is renamed into place; a
JSON marker next to the result records the archive's signature (S3 ETag, or size + mtime of a
local file), so a second call with the same archive does nothing.
"""

from __future__ import annotations

import gzip
import os
import shutil
import stat
import tarfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from tao_skill.staging.errors import StagingError
from tao_skill.staging.fsutil import atomic_write_json, read_json, remove_tree, temp_sibling
from tao_skill.staging.markers import archive_signature, folder_marker, is_extracted, merge_marker
from tao_skill.staging.uris import archive_stem

_MAX_LINK_HOPS = 40
ENV_MAX_BYTES = "TAO_SKILL_EXTRACT_MAX_BYTES"
ENV_MAX_MEMBERS = "TAO_SKILL_EXTRACT_MAX_MEMBERS"
_CORRUPT = (tarfile.TarError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error, gzip.BadGzipFile)


@dataclass(frozen=True)
class ExtractLimits:
    """Upper bounds for one archive.

    Attributes:
        max_total_bytes: Sum of the uncompressed sizes of all file members.
        max_members: Number of members (files, folders and links).
    """

    max_total_bytes: int = 512 * 2**30
    max_members: int = 2_000_000

    def __post_init__(self) -> None:
        for name in ("max_total_bytes", "max_members"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"ExtractLimits.{name} must be a positive integer, got {value!r}")

    @classmethod
    def from_env(cls) -> "ExtractLimits":
        """Defaults, overridden by ``TAO_SKILL_EXTRACT_MAX_BYTES`` / ``TAO_SKILL_EXTRACT_MAX_MEMBERS`` when set."""
        values: dict[str, int] = {}
        for field, var in (("max_total_bytes", ENV_MAX_BYTES), ("max_members", ENV_MAX_MEMBERS)):
            raw = os.environ.get(var, "").strip()
            if not raw:
                continue
            try:
                values[field] = int(raw)
                if values[field] <= 0:
                    raise ValueError
            except ValueError:
                raise StagingError(f"{var}={raw!r} is not a positive integer", uri=f"env:{var}",
                                   fix=f"set {var} to a whole number (e.g. {getattr(cls(), field)}) or unset it") from None
        return cls(**values)

    @classmethod
    def coerce(cls, limits: "ExtractLimits | Mapping[str, int] | None") -> "ExtractLimits":
        """Accept an instance, a mapping of the field names, or ``None`` (defaults, see :meth:`from_env`)."""
        if limits is None:
            return cls.from_env()
        if isinstance(limits, cls):
            return limits
        if isinstance(limits, Mapping):
            unknown = set(limits) - {"max_total_bytes", "max_members"}
            if unknown:
                raise ValueError(f"unknown extraction limit(s) {sorted(unknown)}; expected max_total_bytes, max_members")
            return cls(**dict(limits))
        raise TypeError(f"limits must be ExtractLimits, a mapping or None, got {type(limits).__name__}")


@dataclass(frozen=True)
class _Member:
    name: str  # normalised relative posix path
    kind: str  # "file" | "dir" | "symlink" | "hardlink"
    size: int


class _Escape(Exception):
    pass


def _reject(uri: str, member: str, why: str, fix: str = "") -> StagingError:
    return StagingError(
        f"unsafe archive member '{member}': {why}; nothing was extracted",
        uri=uri,
        fix=fix or "re-create the archive with relative paths inside one folder and no links leaving it",
    )


def _norm_name(raw: str, uri: str) -> tuple[str, ...]:
    name = raw.replace("\\", "/") if "\\" in raw and "/" not in raw else raw
    if "\x00" in name:
        raise _reject(uri, raw, "NUL byte in name")
    if name.startswith("/") or (len(name) >= 2 and name[1] == ":" and name[0].isalpha()):
        raise _reject(uri, raw, "absolute path")
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise _reject(uri, raw, "path traversal ('..' component)")
    if not parts:
        raise _reject(uri, raw, "empty name")
    return parts


def _resolve(parts: tuple[str, ...], links: dict[tuple[str, ...], str], *, follow_last: bool, hops: int = 0) -> tuple[str, ...]:
    """Resolve ``parts`` against the archive's own symlinks, as the file system will after extraction.

    Raises:
        _Escape: the path leaves the archive root, is absolute, or loops.
    """
    out: list[str] = []
    for i, part in enumerate(parts):
        if part in ("", "."):
            continue
        if part == "..":
            if not out:
                raise _Escape("leaves the extraction folder")
            out.pop()
            continue
        out.append(part)
        is_last = i == len(parts) - 1
        target = links.get(tuple(out))
        if target is not None and (follow_last or not is_last):
            if hops >= _MAX_LINK_HOPS:
                raise _Escape("too many levels of symbolic links")
            if target.startswith("/"):
                raise _Escape("absolute link target")
            out = list(_resolve(tuple(out[:-1]) + tuple(target.split("/")), links, follow_last=True, hops=hops + 1))
    return tuple(out)


class _Checker:
    """Accumulates members in archive order and rejects the first unsafe one."""

    def __init__(self, uri: str, limits: ExtractLimits) -> None:
        self.uri, self.limits = uri, limits
        self.links: dict[tuple[str, ...], str] = {}
        self.files: set[tuple[str, ...]] = set()
        self.members: list[_Member] = []
        self.total = 0

    def add(self, raw_name: str, kind: str, size: int = 0, linkname: str = "") -> None:
        if len(self.members) >= self.limits.max_members:
            raise StagingError(
                f"archive has more than {self.limits.max_members} members (limit reached at '{raw_name}'); nothing was extracted",
                uri=self.uri,
                fix="split the archive, or raise the member limit (ExtractLimits.max_members) if it is trusted",
            )
        parts = _norm_name(raw_name, self.uri)
        if kind == "file":
            self.total += max(size, 0)
            if self.total > self.limits.max_total_bytes:
                raise StagingError(
                    f"archive expands beyond {self.limits.max_total_bytes} bytes (limit reached at member '{raw_name}'); "
                    "nothing was extracted",
                    uri=self.uri,
                    fix="split the archive, or raise the size limit (ExtractLimits.max_total_bytes) if it is trusted",
                )
        try:
            # Where the member itself lands: its parent folders may be links of this archive.
            where = _resolve(parts, self.links, follow_last=kind not in ("symlink", "hardlink"))
            if kind == "symlink":
                if not linkname or linkname.startswith("/") or (len(linkname) >= 2 and linkname[1] == ":"):
                    raise _Escape(f"absolute or empty link target '{linkname}'")
                _resolve(where[:-1] + tuple(linkname.split("/")), self.links, follow_last=True)
                self.links[where] = linkname
            elif kind == "hardlink":
                if not linkname or linkname.startswith("/"):
                    raise _Escape(f"absolute or empty hard-link target '{linkname}'")
                target = _resolve(tuple(linkname.split("/")), self.links, follow_last=True)
                if target not in self.files:
                    raise _Escape(f"hard link to '{linkname}', which is not a file earlier in the archive")
                self.files.add(where)
            elif kind == "file":
                self.files.add(where)
        except _Escape as exc:
            where_to = f" -> {linkname}" if linkname else ""
            raise _reject(self.uri, raw_name + where_to, f"link or path points outside the target ({exc})") from None
        self.members.append(_Member("/".join(parts), kind, size))

    @property
    def top_level(self) -> list[str]:
        return sorted({m.name.split("/")[0] for m in self.members})


def _tar_kind(m: tarfile.TarInfo, uri: str) -> str:
    if m.isreg():
        return "file"
    if m.isdir():
        return "dir"
    if m.issym():
        return "symlink"
    if m.islnk():
        return "hardlink"
    what = "character device" if m.ischr() else "block device" if m.isblk() else "FIFO" if m.isfifo() else "special file"
    raise _reject(uri, m.name, f"{what} members are not allowed")


def _zip_kind(zi: zipfile.ZipInfo, uri: str) -> str:
    mode = zi.external_attr >> 16
    if zi.create_system == 3 and mode:  # unix attributes present
        if stat.S_ISLNK(mode):
            raise _reject(uri, zi.filename, "symbolic links in zip archives are not supported", "store the file itself, or use a .tar.gz")
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            raise _reject(uri, zi.filename, "device, FIFO or socket members are not allowed")
    return "dir" if zi.is_dir() else "file"


def _corrupt(uri: str, exc: BaseException) -> StagingError:
    return StagingError(
        f"corrupt or unreadable archive ({type(exc).__name__}: {exc})",
        uri=uri,
        fix="re-create and re-upload the archive (check it with `tar -tzf` or `unzip -t`), then run again",
    )


def _free_space_check(target_parent: Path, needed: int, uri: str) -> None:
    try:
        free = shutil.disk_usage(target_parent).free
    except OSError:
        return
    if needed > free:
        raise StagingError(
            f"archive needs {needed} bytes but only {free} are free under {target_parent}",
            uri=uri,
            fix="free disk space or point the workspace/cache to a larger disk",
        )


def check_archive(archive: Path, *, limits: ExtractLimits | Mapping[str, int] | None = None, uri: str | None = None) -> list[str]:
    """Validate every member of ``archive`` without extracting anything.

    Args:
        archive: A ``.tar``, ``.tar.gz``, ``.tgz`` or ``.zip`` file.
        limits: Size and member-count limits (defaults: :class:`ExtractLimits`).
        uri: How to name the archive in errors (defaults to its path).

    Returns:
        The archive's top-level entry names.

    Raises:
        StagingError: an unsafe member (named), a limit exceeded, or a corrupt archive.
    """
    uri = uri or str(archive)
    limits = ExtractLimits.coerce(limits)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                return _check_zip(zf, uri, limits).top_level
        with tarfile.open(archive, "r:*") as tf:
            return _check_tar(tf, uri, limits).top_level
    except _CORRUPT as exc:
        raise _corrupt(uri, exc) from None


def _check_tar(tf: tarfile.TarFile, uri: str, limits: ExtractLimits) -> _Checker:
    checker = _Checker(uri, limits)
    for m in tf:  # iterates lazily: a member bomb stops at the limit
        checker.add(m.name, _tar_kind(m, uri), m.size if m.isreg() else 0, m.linkname if (m.issym() or m.islnk()) else "")
    return checker


def _check_zip(zf: zipfile.ZipFile, uri: str, limits: ExtractLimits) -> _Checker:
    checker = _Checker(uri, limits)
    for zi in zf.infolist():
        checker.add(zi.filename, _zip_kind(zi, uri), zi.file_size)
    return checker


def _extract_validated(archive: Path, tmp: Path, uri: str, limits: ExtractLimits, free_check_dir: Path) -> list[str]:
    """Validate all members, then extract into the fresh folder ``tmp``; returns top-level names."""
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                checker = _check_zip(zf, uri, limits)
                _free_space_check(free_check_dir, checker.total, uri)
                tmp.mkdir(parents=True)
                for zi in zf.infolist():
                    parts = _norm_name(zi.filename, uri)
                    dest = tmp.joinpath(*parts)
                    if zi.is_dir():
                        dest.mkdir(parents=True, exist_ok=True)
                        continue
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    # zipfile enforces the declared size and the CRC while reading.
                    with zf.open(zi) as src, open(dest, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
                return checker.top_level
        with tarfile.open(archive, "r:*") as tf:
            checker = _check_tar(tf, uri, limits)
            _free_space_check(free_check_dir, checker.total, uri)
            tmp.mkdir(parents=True)
            kwargs: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            try:
                tf.extractall(tmp, members=tf.getmembers(), **kwargs)
            except tarfile.FilterError as exc:  # our checks should have caught it first
                raise _reject(uri, getattr(getattr(exc, "tarinfo", None), "name", "?"), str(exc)) from None
            return checker.top_level
    except _CORRUPT as exc:
        raise _corrupt(uri, exc) from None


def extract_archive(
    archive: Path,
    dest: Path | None = None,
    *,
    limits: ExtractLimits | Mapping[str, int] | None = None,
    signature: Mapping[str, Any] | None = None,
    uri: str | None = None,
) -> Path:
    """Extract ``archive`` into its own folder ``dest`` (default: next to it, named after it).

    A single top-level folder in the archive is unwrapped (``images.tar.gz`` holding ``images/...``
    gives ``dest/...``). Runs again only when the archive's signature changed.

    Args:
        archive: The archive file.
        dest: The folder to create (replaced atomically when the archive changed).
        limits: Size and member-count limits.
        signature: Identity of this archive version (default: size + mtime of the file).
        uri: How to name the archive in errors.

    Returns:
        ``dest``.

    Raises:
        StagingError: unsafe member, limit exceeded, corrupt archive, or a file system error.
    """
    archive = Path(archive)
    dest = Path(dest) if dest is not None else archive.parent / archive_stem(archive.name)
    uri = uri or str(archive)
    sig = dict(signature) if signature is not None else archive_signature(archive)
    marker = folder_marker(dest)
    if is_extracted(marker, sig, [dest]):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(dest, "extracting")
    try:
        top = _extract_validated(archive, tmp, uri, ExtractLimits.coerce(limits), dest.parent)
        entries = list(tmp.iterdir())
        source = entries[0] if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink() else tmp
        old = None
        if dest.exists() or dest.is_symlink():
            old = temp_sibling(dest, "old")
            os.replace(dest, old)
        os.replace(source, dest)
        if old is not None:
            remove_tree(old)
        atomic_write_json(marker, {"archive": str(archive), "signature": sig, "entries": [dest.name],
                                   "top_level": top, "extracted_at": time.time()})
    except OSError as exc:
        raise StagingError(f"could not extract archive into {dest}: {exc}", uri=uri,
                           fix="check that the folder is writable and the disk is not full") from None
    finally:
        remove_tree(tmp)
    return dest


def extract_into(
    archive: Path,
    target_dir: Path,
    *,
    limits: ExtractLimits | Mapping[str, int] | None = None,
    signature: Mapping[str, Any] | None = None,
    uri: str | None = None,
) -> list[str]:
    """Extract ``archive`` into the existing folder ``target_dir`` (the packaged ``data/images.tar.gz`` layout).

    Each top-level entry of the archive is moved into ``target_dir`` with an atomic rename. An
    archive whose only top-level entry has the target's own name (``data/...`` into ``data/``) is
    unwrapped. Entries from an earlier extraction of this archive are replaced; if every entry
    already exists and no marker says who made them (the user extracted by hand), they are adopted
    as they are; a partial overlap with foreign files is an error rather than a silent overwrite.

    Returns:
        The names of the entries now in ``target_dir`` that came from the archive.

    Raises:
        StagingError: unsafe member, limit exceeded, corrupt archive, conflicting files.
    """
    archive, target_dir = Path(archive), Path(target_dir)
    uri = uri or str(archive)
    sig = dict(signature) if signature is not None else archive_signature(archive)
    marker = merge_marker(target_dir, archive)
    if is_extracted(marker, sig):
        return list(read_json(marker)["entries"])
    previous = read_json(marker)
    owned = set(previous.get("entries", [])) if isinstance(previous, dict) else set()
    tmp = temp_sibling(target_dir / archive.name, "extracting")
    try:
        _extract_validated(archive, tmp, uri, ExtractLimits.coerce(limits), target_dir)
        root = tmp
        entries = list(tmp.iterdir())
        if len(entries) == 1 and entries[0].name == target_dir.name and entries[0].is_dir() and not entries[0].is_symlink():
            root = entries[0]
        names = sorted(p.name for p in root.iterdir())
        foreign = [n for n in names if n not in owned and ((target_dir / n).exists() or (target_dir / n).is_symlink())]
        if foreign and not owned and len(foreign) == len(names):
            pass  # extracted by hand earlier: adopt
        elif foreign:
            raise StagingError(
                f"extracting would overwrite {len(foreign)} existing entr{'y' if len(foreign) == 1 else 'ies'} "
                f"not created by staging (first: {target_dir / foreign[0]})",
                uri=uri,
                fix="remove the partially extracted files (or the archive) from the dataset folder and run again",
            )
        else:
            for name in names:
                dest = target_dir / name
                old = None
                if dest.exists() or dest.is_symlink():
                    old = temp_sibling(dest, "old")
                    os.replace(dest, old)
                os.replace(root / name, dest)
                if old is not None:
                    remove_tree(old)
        for stale in owned - set(names):
            remove_tree(target_dir / stale)
        atomic_write_json(marker, {"archive": str(archive), "signature": sig, "entries": names,
                                   "extracted_at": time.time()})
        return names
    except OSError as exc:
        raise StagingError(f"could not extract archive into {target_dir}: {exc}", uri=uri,
                           fix="check that the dataset folder is writable and the disk is not full") from None
    finally:
        remove_tree(tmp)

