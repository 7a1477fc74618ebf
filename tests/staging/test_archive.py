"""Safe extraction: malicious archives are rejected before anything is written, good ones extract
atomically and only once."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from tao_skill.staging import ExtractLimits, StagingError, check_archive, extract_archive, extract_into


def _tar(path: Path, members: list[tuple[str, str, bytes | str]], mode: str = "w:gz") -> Path:
    """members: (name, kind, data-or-linkname) with kind in file|dir|sym|hard|chr|blk|fifo."""
    with tarfile.open(path, mode) as tf:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            data = None
            if kind == "file":
                data = payload if isinstance(payload, bytes) else payload.encode()
                info.size = len(data)
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind in ("sym", "hard"):
                info.type = tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE
                info.linkname = str(payload)
            else:
                info.type = {"chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}[kind]
                info.devmajor, info.devminor = 1, 3
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def sandbox(tmp_path):
    """A folder holding the archive and the extraction target; anything new outside ``target`` is a leak."""
    box = tmp_path / "box"
    (box / "target").mkdir(parents=True)
    return box


MALICIOUS = {
    "traversal": ([("ok.txt", "file", "fine"), ("../evil.txt", "file", "pwned")], "'../evil.txt'", "path traversal"),
    "nested traversal": ([("a/../../evil.txt", "file", "pwned")], "'a/../../evil.txt'", "path traversal"),
    "absolute": ([("/tmp/evil_abs.txt", "file", "pwned")], "'/tmp/evil_abs.txt'", "absolute path"),
    "symlink escape": ([("link", "sym", "../../outside"), ("link/evil.txt", "file", "x")], "'link -> ../../outside'", "outside"),
    "absolute symlink": ([("etc", "sym", "/etc")], "'etc -> /etc'", "outside"),
    # each link alone stays inside; together they escape: sub/up -> .. (root), sub/esc -> up/../..
    "symlink chain": ([("sub", "dir", b""), ("sub/up", "sym", ".."), ("sub/esc", "sym", "up/../.."),
                       ("sub/esc/evil.txt", "file", "x")], "'sub/esc -> up/../..'", "outside"),
    "write through link": ([("d", "sym", "."), ("d/../evil.txt", "file", "x")], "'d/../evil.txt'", "path traversal"),
    "hard link escape": ([("h", "hard", "../../../etc/passwd")], "'h -> ../../../etc/passwd'", "outside"),
    "hard link to nothing": ([("h", "hard", "missing.txt")], "'h -> missing.txt'", "not a file earlier"),
    "char device": ([("ok.txt", "file", "1"), ("dev/null", "chr", b"")], "'dev/null'", "character device"),
    "block device": ([("sda", "blk", b"")], "'sda'", "block device"),
    "fifo": ([("pipe", "fifo", b"")], "'pipe'", "FIFO"),
}


@pytest.mark.parametrize("case", sorted(MALICIOUS))
def test_malicious_tar_rejected_nothing_written(sandbox, case):
    members, named, why = MALICIOUS[case]
    archive = _tar(sandbox / "bad.tar.gz", members)
    before = _snapshot(sandbox.parent)
    with pytest.raises(StagingError) as err:
        extract_archive(archive, sandbox / "target" / "out")
    msg = str(err.value)
    assert named in msg and why in msg and "\n" not in msg and "Fix:" in msg
    assert _snapshot(sandbox.parent) == before  # not even the good members, nor a temp folder


def test_limits_size_and_members(sandbox, monkeypatch):
    archive = _tar(sandbox / "big.tar", [(f"f{i}.bin", "file", b"x" * 100) for i in range(5)], mode="w")
    before = _snapshot(sandbox.parent)
    with pytest.raises(StagingError, match=r"expands beyond 250 bytes \(limit reached at member 'f2.bin'\)"):
        extract_archive(archive, sandbox / "target" / "out", limits=ExtractLimits(max_total_bytes=250))
    with pytest.raises(StagingError, match=r"more than 3 members \(limit reached at 'f3.bin'\)"):
        extract_archive(archive, sandbox / "target" / "out", limits={"max_members": 3})
    assert _snapshot(sandbox.parent) == before
    with pytest.raises(ValueError, match="max_members must be a positive integer"):
        ExtractLimits(max_members=0)
    monkeypatch.setenv("TAO_SKILL_EXTRACT_MAX_MEMBERS", "4")  # operators' override when the runner passes no limits
    with pytest.raises(StagingError, match=r"more than 4 members"):
        extract_archive(archive, sandbox / "target" / "out")
    monkeypatch.setenv("TAO_SKILL_EXTRACT_MAX_MEMBERS", "many")
    with pytest.raises(StagingError, match=r"env:TAO_SKILL_EXTRACT_MAX_MEMBERS: TAO_SKILL_EXTRACT_MAX_MEMBERS='many' is not"):
        extract_archive(archive, sandbox / "target" / "out")
    assert len(list(extract_archive(archive, sandbox / "target" / "out", limits={"max_members": 5}).iterdir())) == 5


def test_zip_rejections(sandbox):
    bad = sandbox / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("ok.txt", "fine")
        zf.writestr("../../evil.txt", "pwned")
    link = sandbox / "link.zip"
    with zipfile.ZipFile(link, "w") as zf:
        info = zipfile.ZipInfo("l")
        info.create_system = 3
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    before = _snapshot(sandbox.parent)
    with pytest.raises(StagingError, match=r"'\.\./\.\./evil\.txt': path traversal"):
        extract_archive(bad, sandbox / "target" / "out")
    with pytest.raises(StagingError, match="'l': symbolic links in zip archives are not supported"):
        extract_archive(link, sandbox / "target" / "out")
    assert _snapshot(sandbox.parent) == before


def test_corrupt_archives(sandbox):
    good = _tar(sandbox / "good.tar.gz", [(f"f{i}", "file", os.urandom(2000)) for i in range(4)])
    truncated = sandbox / "truncated.tar.gz"
    truncated.write_bytes(good.read_bytes()[:1500])
    garbage = sandbox / "garbage.zip"
    garbage.write_bytes(b"PK\x03\x04" + os.urandom(300))
    for path in (truncated, garbage):
        with pytest.raises(StagingError, match="corrupt or unreadable archive") as err:
            extract_archive(path, sandbox / "target" / "out")
        assert str(path) in str(err.value) and "tar -tzf" in str(err.value)
    assert not (sandbox / "target" / "out").exists()
    assert [p.name for p in (sandbox / "target").iterdir()] == []


def test_good_archive_atomic_idempotent_and_refreshed(sandbox):
    archive = _tar(sandbox / "images.tar.gz", [("images", "dir", b""), ("images/a.png", "file", "A"),
                                               ("images/sub/b.png", "file", "B"), ("images/latest", "sym", "a.png"),
                                               ("images/hard.png", "hard", "images/a.png")])
    assert check_archive(archive) == ["images"]
    out = extract_archive(archive)  # default: next to the archive, named after it
    assert out == sandbox / "images"
    assert (out / "a.png").read_text() == "A" and (out / "sub" / "b.png").read_text() == "B"
    assert os.readlink(out / "latest") == "a.png" and (out / "hard.png").read_text() == "A"
    # second call: marker matches -> nothing is touched
    stamp = (out / "a.png").stat().st_mtime_ns
    os.utime(out / "a.png", ns=(stamp - 10**9, stamp - 10**9))
    assert extract_archive(archive) == out
    assert (out / "a.png").stat().st_mtime_ns == stamp - 10**9
    # a new archive version replaces the folder as a whole
    _tar(archive, [("images/c.png", "file", "C")])
    os.utime(archive, ns=(1, 1))
    extract_archive(archive)
    assert sorted(p.name for p in out.iterdir()) == ["c.png"]
    assert [p.name for p in sandbox.iterdir() if p.name.startswith(".") and "extracting" in p.name] == []


def test_extract_into_packaged_layout(sandbox):
    data = sandbox / "base" / "data"
    data.mkdir(parents=True)
    archive = _tar(data / "images.tar.gz", [("scene1/rgb_0000.png", "file", "1"), ("scene2/rgb_0000.png", "file", "2")])
    assert extract_into(archive, data) == ["scene1", "scene2"]
    assert (data / "scene2" / "rgb_0000.png").read_text() == "2"
    assert extract_into(archive, data) == ["scene1", "scene2"]  # idempotent (marker)
    # new version drops scene2: it is removed, scene3 appears
    _tar(archive, [("data/scene1/rgb_0000.png", "file", "1b"), ("data/scene3/rgb_0000.png", "file", "3")])
    os.utime(archive, ns=(1, 1))
    assert extract_into(archive, data) == ["scene1", "scene3"]  # leading data/ unwrapped into data/
    assert sorted(p.name for p in data.iterdir() if not p.name.startswith(".")) == ["images.tar.gz", "scene1", "scene3"]
    assert (data / "scene1" / "rgb_0000.png").read_text() == "1b"


def test_extract_into_foreign_files(sandbox):
    data = sandbox / "data"
    data.mkdir()
    archive = _tar(sandbox / "images.tar.gz", [("s1/x", "file", "1"), ("s2/x", "file", "2")])
    (data / "s1").mkdir()
    with pytest.raises(StagingError, match="would overwrite 1 existing entry not created by staging"):
        extract_into(archive, data)
    (data / "s2").mkdir()  # everything already extracted by hand: adopted, not overwritten
    assert extract_into(archive, data) == ["s1", "s2"]
    assert list((data / "s1").iterdir()) == []
