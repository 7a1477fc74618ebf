"""Small file-system helpers shared by the staging modules: atomic writes and temp names."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def temp_sibling(path: Path, tag: str) -> Path:
    """A unique hidden name next to ``path`` (same file system, so ``os.replace`` is atomic)."""
    return path.parent / f".{path.name}.{tag}-{os.urandom(6).hex()}"


def atomic_write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temp file and ``os.replace``."""
    import tempfile  # noqa: PLC0415 - writes only (a plan reads)

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any | None:
    """The JSON content of ``path``, or ``None`` when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def remove_tree(path: Path) -> None:
    """Remove a file, a symlink or a folder tree; missing is fine."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        import shutil  # noqa: PLC0415

        shutil.rmtree(path)


def file_signature(path: Path) -> dict[str, int]:
    """Size and modification time of a local file: enough to tell that it has not changed."""
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
