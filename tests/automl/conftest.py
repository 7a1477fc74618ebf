"""Fixtures for the AutoML tests: a generated copy of the `hpotoy` skill (KPI a known function of lr,
wd and optimizer), a dataset for it, an isolated workspace, and the CLI as a background process (the
in-process `tao` fixture is in tests/conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "automl_skill"


@pytest.fixture(scope="session")
def generated_skill(tmp_path_factory) -> Path:
    """The fixture skill with its schema and template generated once per session."""
    from tao_skill.schemagen import generate

    skill = tmp_path_factory.mktemp("hpotoy") / "skill"
    shutil.copytree(FIXTURE, skill, ignore=shutil.ignore_patterns("__pycache__"))
    sys.path.insert(0, str(skill))
    try:
        generate(skill)
    finally:
        sys.path.remove(str(skill))
    return skill


@pytest.fixture
def hpo(generated_skill, tmp_path, monkeypatch):
    """A private copy of the generated skill, a dataset, an isolated workspace, no key in the environment."""
    skill = tmp_path / "skill"
    shutil.copytree(generated_skill, skill)
    data = tmp_path / "data"
    data.mkdir()
    (data / "labels.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TAO_SKILL_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("PYTHONPATH", str(skill) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    monkeypatch.syspath_prepend(str(skill))
    for var in ("TAO_SKILL_KEY", "TAO_SKILL_ENCRYPTION_KEY"):
        monkeypatch.delenv(var, raising=False)
    return {"skill": skill, "data": data, "ws": tmp_path / "ws", "tmp": tmp_path}


def train_args(hpo: dict, *extra: str) -> list[str]:
    return ["run", "hpotoy", "train", "--skill-dir", str(hpo["skill"]), "--train-dataset", str(hpo["data"]),
            "--json", *extra]


def spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """The installed CLI as a background process (for parallel workers and crash tests)."""
    return subprocess.Popen([sys.executable, "-c", "import sys; from tao_skill.cli import main; sys.exit(main())",
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, start_new_session=True)


def seen(ws: Path, job_id: str) -> dict:
    """What the fixture entrypoint of a trial job ran with (results/seen.json)."""
    from tao_skill.jobs import JobStore

    return json.loads((Path(JobStore(ws).get(job_id).results_dir) / "seen.json").read_text())


def children(tao, parent: str) -> list[dict]:
    res = tao("jobs", "list", "--parent", parent, "--json")
    assert res.code == 0, res.out
    return res.doc["jobs"]


# ------------------------------------------------------------------------------------- a real PostgreSQL
PG_REQUIRED_ENV = "TAO_SKILL_REQUIRE_POSTGRES"  # set by .ci/run: a missing server fails instead of skipping


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None


class PostgresServer:
    """A throwaway PostgreSQL cluster bound to 127.0.0.1 (initdb + pg_ctl; run as `postgres` when we are root,
    since the server refuses to run as root). ``stop()``/``start()`` simulate an outage."""

    def __init__(self, bindir: Path) -> None:
        import pwd
        import socket
        import tempfile

        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="tao-pg-"))  # not under pytest's 0700 root-only folder
        self.data, self.log = self.root / "data", self.root / "server.log"
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres" if _has_user("postgres") else "nobody"
            pw = pwd.getpwnam(self.user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._pg("initdb", "-D", str(self.data), "-U", "tao", "-A", "trust", "-E", "UTF8", "--no-sync")
        self.start()
        self._pg("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "tao", "studies")
        self.url = f"postgresql://tao@127.0.0.1:{self.port}/studies"

    def _pg(self, tool: str, *args: str) -> None:
        res = subprocess.run([str(self.bindir / tool), *args], capture_output=True, text=True, user=self.user,
                             cwd=str(self.root), timeout=120)
        if res.returncode != 0:
            raise RuntimeError(f"{tool} failed: {res.stderr[-2000:]}")

    def start(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o",
                 f"-h 127.0.0.1 -p {self.port} -k {self.root} -F", "start")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def close(self) -> None:
        try:
            self.stop()
        except RuntimeError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the session (skipped without the Debian package unless CI requires it)."""
    bindir = _pg_bin()
    if bindir is None:
        if os.environ.get(PG_REQUIRED_ENV):
            pytest.fail("PostgreSQL is not installed (apt-get install -y postgresql)")
        pytest.skip("PostgreSQL is not installed (apt-get install -y postgresql)")
    server = PostgresServer(bindir)
    try:
        yield server
    finally:
        server.close()
