"""Hostile input through the CLI: every bad input is a clear exit 2 (3 for staging), never a hang, never a
traceback, never a non-strict JSON document, and nothing is written outside the workspace.

Most cases go through ``tao_skill.cli.main`` in-process (the real entry point, its output captured); a
representative set runs the installed entry point in a subprocess. Every case checks the same contract:
the exit code, a message naming the key, flag or path, stdout parsed by a strict JSON parser (NaN and
Infinity refused), no traceback on stderr, and the files under the test's folder outside the workspace
unchanged.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.runner.conftest import TOY_FIXTURE, make_dataset

BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))


def _strict_json(text: str) -> Any:
    def refuse(name: str):
        raise AssertionError(f"non-strict JSON constant {name} on stdout")

    return json.loads(text, parse_constant=refuse)


@dataclass
class Res:
    code: int
    out: str
    err: str
    doc: Any
    seconds: float

    @property
    def text(self) -> str:
        """Every message the user sees: JSON error messages/keys/got and stderr."""
        parts = [self.err]
        if isinstance(self.doc, dict):
            for e in self.doc.get("errors") or []:
                parts += [str(e.get("key")), str(e.get("message")), str(e.get("got"))]
        return "\n".join(parts)


def _parse(out: str, json_mode: bool) -> Any:
    if not json_mode:
        return None
    assert out.strip(), "--json printed nothing"
    return _strict_json(out)


def call(*args: str) -> Res:
    """``tao_skill.cli.main`` in-process, stdout/stderr captured."""
    from tao_skill.cli import main

    out, err = io.StringIO(), io.StringIO()
    start = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    res = Res(code, out.getvalue(), err.getvalue(), None, time.monotonic() - start)
    res.doc = _parse(res.out, "--json" in args)
    return res


def script(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Res:
    """The installed entry point in a subprocess."""
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", "import sys; from tao_skill.cli import main; sys.exit(main())", *args],
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    res = Res(proc.returncode, proc.stdout, proc.stderr, None, time.monotonic() - start)
    res.doc = _parse(res.out, "--json" in args)
    return res


def _tree(root: Path, skip: tuple[Path, ...]) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if not any((here / d) == s or s in (here / d).parents for s in skip)]
        for name in filenames + [d for d in dirnames]:
            p = here / name
            try:
                st = p.lstat()
            except OSError:
                continue
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns if p.is_file() else 0)
    return out


def contract(res: Res, code: int, *needles: str) -> None:
    """Exit code, one strict JSON document (when --json), no traceback, every needle named."""
    assert res.code == code, (res.code, res.out[-2000:], res.err[-2000:])
    assert "Traceback" not in res.err and "Traceback" not in res.out, res.err
    if res.doc is not None and code != 0:
        assert res.doc["ok"] is False and res.doc["exit_code"] == code and res.doc["errors"], res.doc
    for needle in needles:
        assert needle in res.text, (needle, res.text[-3000:])


@pytest.fixture
def h(tmp_path):
    """A toy skill copy, a dataset, hostile files, and the ``run``/``validate`` argument lists for them."""
    skill = tmp_path / "toy_skill"
    shutil.copytree(TOY_FIXTURE, skill, ignore=shutil.ignore_patterns("__pycache__"))
    data = make_dataset(tmp_path / "data")
    files = tmp_path / "in"
    files.mkdir()
    ws = tmp_path / "ws"

    def base(cmd: str = "validate") -> list[str]:
        args = [cmd, "toyseg", "train", "--skill-dir", str(skill), "--train-dataset", str(data),
                "--eval-dataset", str(data), "--json"]
        return args + (["--automl-policy", "off", "--dry-run"] if cmd == "run" else [])

    def write(name: str, content: str | bytes) -> str:
        path = files / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return str(path)

    return {"tmp": tmp_path, "skill": skill, "data": data, "files": files, "ws": ws, "base": base, "write": write}


def check_case(h, args: list[str], code: int, needles: tuple[str, ...], max_s: float = 20.0,
               extra_ok: tuple[Path, ...] = ()) -> Res:
    """Run one in-process case and check the contract plus "nothing written outside the workspace"."""
    before = _tree(h["tmp"], (h["ws"], *extra_ok))
    res = call(*args)
    contract(res, code, *needles)
    assert res.seconds < max_s, f"took {res.seconds:.1f} s"
    after = _tree(h["tmp"], (h["ws"], *extra_ok))
    assert after == before, f"written outside the workspace: {sorted(set(after) ^ set(before))}"
    return res


# -- spec files (--spec) --------------------------------------------------------------------------

def _mkfifo(h) -> str:
    path = h["files"] / "fifo.yaml"
    os.mkfifo(path)
    return str(path)


SPEC_CASES: dict[str, tuple[Callable[[Any], str], tuple[str, ...]]] = {
    "duplicate_key": (lambda h: h["write"]("dup.yaml", "train:\n  lr: 0.1\n  lr: 0.2\n"),
                      ("--spec", "duplicate key `train.lr`", "line 3")),
    "same_key_two_spellings": (lambda h: h["write"]("two.yaml", "train.lr: 0.1\ntrain:\n  lr: 0.2\n"),
                               ("`train.lr` is set twice", "two.yaml")),
    "shorthand_and_key": (lambda h: h["write"]("sh.yaml", "epochs: 2\ntrain:\n  epochs: 3\n"), ("`train.epochs` is set twice",)),
    "billion_laughs": (lambda h: h["write"]("bomb.yaml", BILLION_LAUGHS), ("--spec", "aliases are not allowed")),
    "recursive_alias": (lambda h: h["write"]("rec.yaml", "train: &x\n  milestones: [*x]\n"), ("aliases are not allowed",)),
    "merge_key": (lambda h: h["write"]("merge.yaml", "base: &b {lr: 0.1}\ntrain:\n  <<: *b\n"), ("--spec", "not allowed")),
    "binary": (lambda h: h["write"]("bin.yaml", bytes(range(256)) * 4), ("--spec", "bin.yaml", "binary")),
    "latin1": (lambda h: h["write"]("latin1.yaml", "train:\n  mode: caf\xe9\n".encode("latin-1")),
               ("latin1.yaml", "not UTF-8")),
    "utf16": (lambda h: h["write"]("utf16.yaml", "train:\n  lr: 0.1\n".encode("utf-16")), ("utf16.yaml",)),
    "empty": (lambda h: h["write"]("empty.yaml", ""), ("empty.yaml", "is empty")),
    "whitespace_only": (lambda h: h["write"]("ws.yaml", "\n\n   \n"), ("ws.yaml", "is empty")),
    "comments_only": (lambda h: h["write"]("comments.yaml", "# nothing here\n"), ("comments.yaml", "no settings")),
    "top_level_list": (lambda h: h["write"]("list.yaml", "- a\n- b\n"), ("list.yaml", "mapping")),
    "top_level_scalar": (lambda h: h["write"]("scalar.yaml", "hello\n"), ("scalar.yaml", "mapping")),
    "python_tag": (lambda h: h["write"]("tag.yaml", "train: !!python/object/apply:os.system ['echo pwned']\n"),
                   ("tag.yaml", "not valid YAML")),
    "two_documents": (lambda h: h["write"]("multi.yaml", "train: {lr: 0.1}\n---\ntrain: {lr: 0.2}\n"),
                      ("multi.yaml", "not valid YAML")),
    "tab_indent": (lambda h: h["write"]("tab.yaml", "train:\n\tlr: 0.1\n"), ("tab.yaml", "not valid YAML")),
    "huge_integer": (lambda h: h["write"]("bigint.yaml", "train:\n  epochs: " + "9" * 5000 + "\n"), ("bigint.yaml",)),
    "nul_in_string": (lambda h: h["write"]("nul.yaml", 'dataset:\n  train:\n    root: "a\\0b"\n'),
                      ("nul.yaml", "NUL", "dataset.train.root")),
    "nan_value": (lambda h: h["write"]("nan.yaml", "train:\n  lr: .nan\n"), ("train.lr", "finite", "NaN")),
    "inf_value": (lambda h: h["write"]("inf.yaml", "train:\n  sleep_s: .inf\n"), ("train.sleep_s", "Infinity")),
    "deep_block_nesting": (lambda h: h["write"]("deep.yaml", "".join(f"{'  ' * i}k{i}:\n" for i in range(500)) + "  " * 500 + "1\n"),
                           ("deep.yaml", "levels deep")),
    "deep_flow_nesting": (lambda h: h["write"]("flow.yaml", "train: " + "[" * 900 + "]" * 900 + "\n"), ("flow.yaml",)),
    "too_big": (lambda h: h["write"]("big.yaml", "#" * (2 * 2**20 + 10) + "\n"), ("big.yaml", "limit")),
    "directory": (lambda h: str(h["files"]), ("--spec", "is a directory")),
    "dev_zero": (lambda h: "/dev/zero", ("/dev/zero", "not a regular file")),
    "dev_null": (lambda h: "/dev/null", ("/dev/null", "not a regular file")),
    "fifo": (_mkfifo, ("fifo.yaml", "not a regular file")),
    "missing": (lambda h: str(h["files"] / "nope.yaml"), ("--spec", "nope.yaml", "does not exist")),
    "under_a_file": (lambda h: h["write"]("f.yaml", "a: 1\n") + "/x.yaml", ("does not exist",)),
    "results_dir_not_a_string": (lambda h: h["write"]("rd.yaml", "results_dir: [1, 2]\n"), ("results_dir", "string")),
    "symlink_to_dir": (lambda h: (os.symlink(h["data"], h["files"] / "link.yaml"), str(h["files"] / "link.yaml"))[1],
                       ("link.yaml", "directory")),
}


@pytest.mark.parametrize("case", sorted(SPEC_CASES))
def test_spec_file(h, case):
    make, needles = SPEC_CASES[case]
    check_case(h, [*h["base"](), "--spec", make(h)], 2, needles, max_s=5.0)


def test_a_flood_of_unknown_keys_is_reported_in_bounded_time(h):
    spec = h["write"]("flood.yaml", "".join(f"unknown_key_{i}_abcdefgh: {i}\n" for i in range(40_000)))
    res = check_case(h, [*h["base"](), "--spec", spec], 2, ("unknown_key_39999_abcdefgh",), max_s=15.0)
    assert len(res.doc["errors"]) == 40_000


def test_too_many_yaml_nodes(h):
    spec = h["write"]("nodes.yaml", "train:\n  milestones: [" + ", ".join(["1"] * 120_000) + "]\n")
    check_case(h, [*h["base"](), "--spec", spec], 2, ("nodes.yaml", "YAML nodes"), max_s=15.0)


def test_a_credentials_file_given_as_spec_is_not_echoed(h):
    spec = h["write"]("credentials", "[default]\naws_access_key_id = AKIAABCDEFGHIJKLMNOP\n"
                                     "aws_secret_access_key = hunter2-secret-value\n")
    res = check_case(h, [*h["base"](), "--spec", spec], 2, ("credentials", "not valid YAML", "line 2"))
    assert "AKIA" not in res.out + res.err and "hunter2" not in res.out + res.err


@pytest.mark.parametrize("loader", ["C", "pure-Python"])
def test_yaml_refusals_with_either_parser(monkeypatch, loader):
    import yaml

    from tao_skill import yamlio

    if loader == "pure-Python":
        monkeypatch.setattr(yamlio, "_Loader", yaml.SafeLoader)
    for text, kind in ((BILLION_LAUGHS, "alias"), ("a: 1\na: 2\n", "duplicate"), ('a: "x\\0"\n', "nul"),
                       ("a: [1,\nsecret-AKIAABCDEFGHIJKLMNOP: x", "syntax")):
        with pytest.raises(yamlio.InputError) as err:
            yamlio.load_yaml(text, source="spec")
        assert err.value.kind == kind and "AKIA" not in str(err.value)
    assert yamlio.load_yaml("a: &x 1\nb: 2\n") == {"a": 1, "b": 2}  # an anchor nobody reuses is harmless


def test_spec_problems_come_with_every_other_problem(h):
    spec = h["write"]("dup.yaml", "train:\n  lr: 0.1\n  lr: 0.2\n")
    res = check_case(h, [*h["base"](), "--spec", spec, "--override", "nosuch=1", "--override", "train.lr=.nan"], 2,
                     ("duplicate key", "nosuch", "train.lr", "NaN"))
    assert len(res.doc["errors"]) >= 3


# -- --overrides-json --------------------------------------------------------------------------------

JSON_CASES: dict[str, tuple[Callable[[Any], str], tuple[str, ...]]] = {
    "empty": (lambda h: "", ("--overrides-json", "empty")),
    "blank": (lambda h: "   ", ("--overrides-json", "empty")),
    "truncated": (lambda h: '{"train.lr": ', ("--overrides-json", "not valid JSON")),
    "list": (lambda h: "[1, 2]", ("--overrides-json", "JSON object")),
    "null": (lambda h: "null", ("--overrides-json", "JSON object")),
    "string": (lambda h: '"train.lr=1"', ("--overrides-json", "JSON object")),
    "duplicate": (lambda h: '{"train.lr": 0.1,\n "train.lr": 0.2}', ("--overrides-json", "duplicate key `train.lr`",
                                                                       "line 2")),
    "same_key_two_spellings": (lambda h: '{"train.lr": 0.1, "train": {"lr": 0.2}}', ("`train.lr` is set twice",)),
    "nested_duplicate": (lambda h: '{"train": {"lr": 0.1, "lr": 0.2}}', ("duplicate key `lr`",)),
    "nan": (lambda h: '{"train.lr": NaN}', ("train.lr", "NaN")),
    "infinity": (lambda h: '{"train.sleep_s": Infinity}', ("train.sleep_s", "Infinity")),
    "minus_infinity": (lambda h: '{"train.lr": -Infinity}', ("train.lr", "-Infinity")),
    "overflow": (lambda h: '{"train.lr": 1e400}', ("train.lr", "Infinity")),
    "deep": (lambda h: "[" * 100_000 + "]" * 100_000, ("--overrides-json", "nested too deeply")),
    "deep_but_parsable": (lambda h: '{"train": ' + '{"a": ' * 500 + "1" + "}" * 501, ("--overrides-json", "levels deep")),
    "huge_integer": (lambda h: '{"train.epochs": ' + "9" * 5000 + "}", ("--overrides-json",)),
    "nul": (lambda h: '{"dataset.train.root": "a\\u0000b"}', ("NUL", "dataset.train.root")),
    "at_missing": (lambda h: "@" + str(h["files"] / "nope.json"), ("--overrides-json", "nope.json", "does not exist")),
    "at_binary": (lambda h: "@" + h["write"]("bin.json", b"\x00\x01\x02{}"), ("bin.json", "binary")),
    "at_directory": (lambda h: "@" + str(h["files"]), ("--overrides-json", "directory")),
    "at_nothing": (lambda h: "@", ("--overrides-json",)),
    "at_dev_zero": (lambda h: "@/dev/zero", ("/dev/zero", "not a regular file")),
    "unknown_and_nan_together": (lambda h: '{"nosuch": 1, "train.lr": NaN}', ("nosuch", "train.lr", "NaN")),
}


@pytest.mark.parametrize("case", sorted(JSON_CASES))
def test_overrides_json(h, case):
    make, needles = JSON_CASES[case]
    check_case(h, [*h["base"](), "--overrides-json", make(h)], 2, needles, max_s=5.0)


# -- --override KEY=VALUE -----------------------------------------------------------------------------

OVERRIDE_CASES: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "nan": (["train.lr=.nan"], ("train.lr", "finite", "NaN")),
    "inf": (["train.sleep_s=.inf"], ("train.sleep_s", "Infinity")),
    "minus_inf": (["train.lr=-.inf"], ("train.lr", "-Infinity")),
    "overflow_number": (["train.lr=1e400"], ("train.lr", "Infinity")),
    "overflow_in_list": (["train.milestones=[1, .inf]"], ("train.milestones",)),
    "alias": (["train.milestones=[&a 1, *a]"], ("--override", "aliases are not allowed")),
    "nul_escape": (['dataset.train.root="a\\0b"'], ("--override", "NUL")),
    "no_equals": (["train.lr"], ("KEY=VALUE",)),
    "empty_key": (["=1"], ("Unknown key",)),
    "unknown_and_nan": (["nosuch=1", "train.lr=.nan"], ("nosuch", "train.lr", "NaN")),
    "huge_integer": (["train.epochs=" + "9" * 5000], ("train.epochs",)),
}


@pytest.mark.parametrize("case", sorted(OVERRIDE_CASES))
def test_override(h, case):
    values, needles = OVERRIDE_CASES[case]
    args = [*h["base"]()]
    for v in values:
        args += ["--override", v]
    check_case(h, args, 2, needles, max_s=5.0)


def test_the_real_skill_refuses_infinite_depth_with_every_other_problem(h):
    """NVIDIA's network: `dataset.depth_max=.inf` is named even while the data sources are missing too."""
    res = check_case(h, ["validate", "nvpanoptix3d", "train", "--override", "dataset.depth_max=.inf", "--override",
                         "nosuch.key=1", "--json"], 2, ("dataset.depth_max", "Infinity", "nosuch.key", "--train-dataset"))
    assert len({e["key"] for e in res.doc["errors"]}) >= 3


def test_a_refused_secret_value_is_not_echoed(h):
    res = check_case(h, [*h["base"](), "--override", 'encryption_key="top\\0secret-value"'], 2,
                     ("encryption_key", "NUL"))
    assert "secret-value" not in res.out + res.err


def test_nan_never_reaches_stdout_as_nan(h):
    """A plan holding a value that strict JSON cannot carry is refused; the output stays strict either way."""
    for cmd in ("validate", "run"):
        res = check_case(h, [*h["base"](cmd), "--override", "train.lr=.nan", "--overrides-json", '{"train.sleep_s": NaN}'],
                         2, ("train.lr", "train.sleep_s"))
        assert "NaN" not in res.out.replace('"NaN"', "").replace("got NaN", "")


# -- flags naming what the user typed -----------------------------------------------------------------

FLAG_CASES: dict[str, tuple[Callable[[Any], list[str]], tuple[str, ...]]] = {
    "parent_job_unknown": (lambda h: ["--parent-job", "train-nope"], ("--parent-job", "train-nope")),
    "resume_unknown": (lambda h: ["--resume", "train-nope"], ("--resume", "train-nope")),
    "parent_job_not_utf8": (lambda h: ["--parent-job", "train-\udcff"], ("--parent-job", "not a job id")),
    "resume_path_like": (lambda h: ["--resume", "../../etc/passwd"], ("--resume", "not a job id")),
    "parent_job_empty": (lambda h: ["--parent-job", ""], ("--parent-job", "empty")),
    "resume_empty": (lambda h: ["--resume", ""], ("--resume", "empty")),
    "ptm_empty": (lambda h: ["--ptm", ""], ("--ptm", "empty")),
    "key_env_empty": (lambda h: ["--key-env", ""], ("--key-env", "empty")),
    "key_env_not_a_name": (lambda h: ["--key-env", "A=B"], ("--key-env", "not an environment variable name")),
    "results_dir_empty": (lambda h: ["--results-dir", ""], ("--results-dir", "empty")),
    "results_dir_is_a_file": (lambda h: ["--results-dir", h["write"]("results.txt", "x")],
                              ("--results-dir", "results.txt", "file")),
    "results_dir_under_a_file": (lambda h: ["--results-dir", h["write"]("r.txt", "x") + "/out"], ("r.txt", "file")),
    "results_dir_bad_bucket": (lambda h: ["--results-dir", "s3://Not_A..Bucket/x"], ("--results-dir", "Not_A..Bucket",
                                                                                     "not a valid S3 bucket name")),
    "results_dir_short_bucket": (lambda h: ["--results-dir", "s3://ab/x"], ("--results-dir", "ab")),
    "results_dir_ip_bucket": (lambda h: ["--results-dir", "s3://192.168.1.1/x"], ("192.168.1.1",)),
    "results_dir_query": (lambda h: ["--results-dir", "s3://bucket-ok/x?X-Amz-Signature=abc"], ("query string",)),
    "results_dir_scheme": (lambda h: ["--results-dir", "gs://bucket/x"], ("gs://",)),
    "source_bad_bucket": (lambda h: ["--train-dataset", "s3://Bad_Bucket/x"], ("--train-dataset", "Bad_Bucket",
                                                                              "dataset.train.root")),
    "source_empty": (lambda h: ["--train-dataset", ""], ("--train-dataset", "empty")),
    "source_key_escapes": (lambda h: ["--override", "dataset.train.labels=s3://bucket-ok/a/../../etc/passwd"],
                           ("dataset.train.labels", "'..'")),
    "source_other_scheme": (lambda h: ["--train-dataset", "ftp://host/data"], ("--train-dataset", "ftp://")),
    "source_file_uri_with_host": (lambda h: ["--train-dataset", "file://otherhost/data"], ("otherhost",)),
    "timeout_nan": (lambda h: ["--timeout", "nan"], ("--timeout", "finite")),
    "timeout_negative": (lambda h: ["--timeout", "-5"], ("--timeout", "more than 0")),
    "max_trials_zero": (lambda h: ["--max-trials", "0"], ("--max-trials",)),
    "epochs_per_trial_zero": (lambda h: ["--epochs-per-trial", "0"], ("--epochs-per-trial",)),
    "max_trials_text": (lambda h: ["--max-trials", "many"], ("--max-trials",)),
}


@pytest.mark.parametrize("case", sorted(FLAG_CASES))
def test_flag(h, case):
    make, needles = FLAG_CASES[case]
    check_case(h, [*h["base"]("run"), *make(h)], 2, needles)


def test_every_problem_with_flags_at_once(h):
    res = check_case(h, [*h["base"](), "--parent-job", "nope-1", "--results-dir", "s3://Bad_Bucket/x",
                         "--override", "train.lr=.inf", "--override", "nosuch=2"], 2,
                     ("--parent-job", "Bad_Bucket", "train.lr", "nosuch"))
    keys = {e["key"] for e in res.doc["errors"]}
    assert {"--parent-job", "results_dir", "train.lr", "nosuch"} <= keys, keys


# -- workspace, skill directory, job database ----------------------------------------------------------

def test_workspace_is_a_file(h):
    ws = h["write"]("ws.file", "x")
    check_case(h, [*h["base"]("run"), "--workspace", ws], 2, ("--workspace", "ws.file", "file"))


def test_workspace_under_a_file(h):
    ws = h["write"]("ws2.file", "x") + "/ws"
    check_case(h, [*h["base"]("run"), "--workspace", ws], 2, ("--workspace", "ws2.file"))


def test_workspace_read_only(h):
    if os.access("/proc/sys", os.W_OK):
        pytest.skip("no read-only folder to create a workspace in")
    check_case(h, [*h["base"]("run"), "--workspace", "/proc/sys/tao-ws"], 2, ("--workspace", "/proc/sys", "read-only"))


def test_results_dir_the_kernel_refuses_is_exit_2_at_plan_time(h):
    """/proc accepts no new folder even for root (os.access says writable there): refused at plan time,
    before a job is recorded, naming the path."""
    if not Path("/proc/self").exists():
        pytest.skip("no /proc on this system")
    res = check_case(h, [*h["base"](), "--results-dir", "/proc/tao-results"], 2, ("--results-dir", "/proc"))
    assert "job_id" not in (res.doc or {})


def test_workspace_from_the_environment_is_a_file(h, monkeypatch):
    monkeypatch.setenv("TAO_SKILL_WORKSPACE", h["write"]("envws", "x"))
    check_case(h, ["jobs", "list", "--json"], 2, ("TAO_SKILL_WORKSPACE", "envws"))


def test_workspace_empty(h):
    check_case(h, ["jobs", "list", "--json", "--workspace", ""], 2, ("--workspace", "empty"))
    check_case(h, [*h["base"](), "--spec", ""], 2, ("--spec", "empty"))


def test_job_database_is_garbage(h):
    h["ws"].mkdir()
    (h["ws"] / "jobs.sqlite").write_bytes(b"this is not a database" * 100)
    res = check_case(h, ["jobs", "list", "--json", "--workspace", str(h["ws"])], 2, ("job database",))
    assert res.doc.get("log") is None or Path(res.doc["log"]).is_relative_to(h["ws"])


@pytest.mark.parametrize("name", ["jobs", "cache"])
def test_a_workspace_folder_that_is_a_file(h, name):
    h["ws"].mkdir()
    (h["ws"] / name).write_text("x")
    check_case(h, [*h["base"]("run"), "--workspace", str(h["ws"])], 2, ("--workspace", f"`{name}` folder"))


def test_a_job_id_that_is_not_utf8(h):
    check_case(h, ["jobs", "show", "x\udcff", "--json", "--workspace", str(h["ws"])], 2, ("not valid UTF-8",))


def test_job_database_is_a_folder(h):
    (h["ws"] / "jobs.sqlite").mkdir(parents=True)
    check_case(h, ["jobs", "list", "--json", "--workspace", str(h["ws"])], 2, ("jobs.sqlite",))


def _skill_info(h) -> Path:
    return h["skill"] / "references" / "skill_info.yaml"


SKILL_CASES: dict[str, tuple[Callable[[Any], None], tuple[str, ...]]] = {
    "binary_skill_info": (lambda h: _skill_info(h).write_bytes(b"\x00\xff" * 100), ("skill_info.yaml", "binary")),
    "empty_skill_info": (lambda h: _skill_info(h).write_text(""), ("skill_info.yaml", "empty")),
    "list_skill_info": (lambda h: _skill_info(h).write_text("- a\n"), ("skill_info.yaml", "mapping")),
    "actions_not_a_mapping": (lambda h: _skill_info(h).write_text("network_arch: toyseg\nactions: 5\n"),
                              ("actions",)),
    "skill_info_bomb": (lambda h: _skill_info(h).write_text("network_arch: toyseg\n" + BILLION_LAUGHS),
                        ("skill_info.yaml", "aliases")),
    "skill_info_duplicate": (lambda h: _skill_info(h).write_text("network_arch: toyseg\nnetwork_arch: x\n"),
                             ("skill_info.yaml", "duplicate key `network_arch`")),
    "skill_info_missing": (lambda h: _skill_info(h).unlink(), ("--skill-dir", "not a skill directory")),
    "data_source_not_a_mapping": (lambda h: _skill_info(h).write_text(_skill_info(h).read_text().replace(
        "dataset.train.labels: {source: train_datasets, path: labels.json}", "dataset.train.labels: 5")),
        ("data_sources.train.dataset.train.labels",)),
    "data_source_unknown_source": (lambda h: _skill_info(h).write_text(_skill_info(h).read_text().replace(
        "{source: train_datasets, path: labels.json}", "{source: elsewhere, path: labels.json}")), ("source",)),
    "input_type_unknown": (lambda h: _skill_info(h).write_text(_skill_info(h).read_text().replace(
        "dataset.train.labels: {type: file}", "dataset.train.labels: {type: socket}")), ("inputs.dataset.train.labels",)),
}


@pytest.mark.parametrize("case", sorted(SKILL_CASES))
def test_skill_dir(h, case):
    breaker, needles = SKILL_CASES[case]
    breaker(h)
    check_case(h, h["base"](), 2, needles, max_s=5.0)


def test_skill_dir_is_a_file(h):
    args = h["base"]()
    args[args.index("--skill-dir") + 1] = h["write"]("skill.txt", "x")
    check_case(h, args, 2, ("--skill-dir", "skill.txt", "file"))


def test_skill_dir_missing(h):
    args = h["base"]()
    args[args.index("--skill-dir") + 1] = str(h["tmp"] / "no-skill")
    check_case(h, args, 2, ("--skill-dir", "no-skill"))


@pytest.mark.parametrize("args", [["jobs", "wait", "x", "--timeout", "nan"], ["jobs", "wait", "x", "--poll", "0"],
                                  ["jobs", "wait", "x", "--poll", "-1"], ["jobs", "logs", "x", "--tail", "-5"],
                                  ["automl", "resume", "x", "--max-trials", "0"], ["automl", "resume", "x", "--timeout", "inf"]])
def test_numeric_flags_of_other_commands(h, args):
    check_case(h, [*args, "--json", "--workspace", str(h["ws"])], 2, (args[-2],))


def test_schemas_check_refuses_a_hostile_skill_info(h):
    _skill_info(h).write_text("network_arch: toyseg\n" + BILLION_LAUGHS)
    res = check_case(h, ["schemas", "check", "--skill-dir", str(h["skill"]), "--json"], 2, ("aliases",), max_s=5.0)
    assert res.doc["ok"] is False


def test_skills_check_of_a_binary_schema(h):
    (h["skill"] / "schemas" / "train.schema.json").write_bytes(b"\xd0\xff" * 40)
    check_case(h, ["skills", "check", "--skill-dir", str(h["skill"]), "--json"], 2, ("train.schema.json", "UTF-8"))


def test_demo_workspace_is_a_file(h):
    check_case(h, ["demo", "nvpanoptix3d", "--workspace", h["write"]("dws", "x"), "--json"], 2, ("--workspace", "dws"))


def test_binary_status_file_of_a_job_is_no_crash(h):
    first = call("run", "toyseg", "train", "--skill-dir", str(h["skill"]), "--train-dataset", str(h["data"]),
                 "--eval-dataset", str(h["data"]), "--automl-policy", "off", "--json", "--workspace", str(h["ws"]))
    assert first.code == 0, first.err
    (Path(first.doc["job"]["results_dir"]) / "status.json").write_bytes(b"\xff\x00" * 50)
    for args in (["jobs", "show", first.doc["job_id"]], ["jobs", "list"]):
        res = call(*args, "--json", "--workspace", str(h["ws"]))
        contract(res, 0)


def test_binary_template_falls_back_to_the_schema(h):
    """A broken generated template is not the user's input: the schema's defaults stand in for it."""
    (h["skill"] / "references" / "spec_template_train.yaml").write_bytes(b"\x00" * 64)
    res = check_case(h, h["base"](), 0, ())
    assert res.doc["ok"] is True


def test_unknown_network_and_action(h):
    check_case(h, ["validate", "toysegg", "train", "--skill-dir", str(h["skill"]), "--json"], 2, ("toysegg", "toyseg"))
    check_case(h, ["validate", "toyseg", "trian", "--skill-dir", str(h["skill"]), "--json"], 2, ("trian", "train"))


# -- unexpected failures -------------------------------------------------------------------------------

def test_an_internal_error_is_one_line_and_a_log(h, monkeypatch):
    import tao_skill.plan as plan

    def broken(req):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(plan, "prepare", broken)
    res = call(*h["base"](), "--workspace", str(h["ws"]))
    assert res.code == 1 and "Traceback" not in res.err + res.out
    msg = res.doc["errors"][0]["message"]
    assert "internal error: RuntimeError: simulated bug" in msg and res.doc["log"] in msg
    log = Path(res.doc["log"])
    assert log.is_relative_to(h["ws"]) and "Traceback" in log.read_text()
    human = call(*[a for a in h["base"]() if a != "--json"], "--workspace", str(h["ws"]))
    assert human.code == 1 and human.err.count("\n") == 1 and "details in" in human.err


def test_an_interrupt_still_prints_one_document(h, monkeypatch):
    import tao_skill.plan as plan

    def interrupted(req):
        raise KeyboardInterrupt

    monkeypatch.setattr(plan, "prepare", interrupted)
    res = call(*h["base"]())
    assert res.code == 130 and res.doc["exit_code"] == 130 and res.doc["errors"][0]["message"] == "interrupted"


# -- remote checks at plan time (a real S3 endpoint on loopback) -----------------------------------------

def test_missing_s3_source_fails_the_dry_run(h, s3):
    client, bucket = s3
    client.put_object(Bucket=bucket, Key="real/labels.json", Body=b"{}")
    res = check_case(h, [*h["base"]("run"), "--train-dataset", f"s3://{bucket}/not-there"], 2,
                     ("dataset.train.root", "--train-dataset", "no objects under this prefix"))
    assert all(e["key"] != "dataset.val.root" for e in res.doc["errors"])


def test_missing_results_bucket_fails_validate(h, s3):
    _, bucket = s3
    check_case(h, [*h["base"](), "--results-dir", f"s3://{bucket}-missing/out"], 2,
               ("results_dir", "--results-dir", "does not exist"))


def test_existing_s3_locations_pass_and_are_reported(h, s3):
    client, bucket = s3
    client.put_object(Bucket=bucket, Key="ds/labels.json", Body=b"{}")
    res = check_case(h, [*h["base"]("run"), "--train-dataset", f"s3://{bucket}/ds", "--results-dir",
                         f"s3://{bucket}/out"], 0, ())
    checks = {c["key"]: c["status"] for c in res.doc["remote_checks"]}
    assert checks == {"dataset.train.root": "ok", "dataset.train.labels": "ok", "results_dir": "ok"}


def test_no_remote_check_says_what_was_skipped(h, s3):
    _, bucket = s3
    res = check_case(h, [*h["base"]("run"), "--train-dataset", f"s3://{bucket}/not-there", "--no-remote-check"], 0, ())
    assert {c["status"] for c in res.doc["remote_checks"]} == {"skipped"}
    assert "--no-remote-check" in res.doc["remote_note"]


def test_without_credentials_remote_checks_are_skipped_offline(h):
    res = check_case(h, [*h["base"]("run"), "--train-dataset", "s3://some-bucket/ds"], 0, ())
    assert res.doc["remote_checks"] and all(c["status"] == "skipped" and "credentials" in c["reason"]
                                            for c in res.doc["remote_checks"])


# -- staging -----------------------------------------------------------------------------------------------

def test_staging_failure_document_names_the_job(h):
    res = call(*h["base"]("run")[:-1], "--train-dataset", "s3://bucket-nobody-owns/x", "--no-remote-check",
               "--workspace", str(h["ws"]))
    contract(res, 3, "dataset.train.root")
    job = res.doc["job_id"]
    assert Path(res.doc["log"]).is_file() and job in res.doc["log"]
    listed = call("jobs", "list", "--json", "--workspace", str(h["ws"]))
    assert [(j["job_id"], j["status"], j["exit_code"]) for j in listed.doc["jobs"]] == [(job, "failed", 3)]


def test_nested_archive_is_staged_outside_the_users_folder(h):
    """A dataset folder holding data/extra.tar.gz: the job sees the extracted scene, the folder is untouched."""
    info = _skill_info(h)
    info.write_text(info.read_text().replace("dataset.train.root: {type: folder}",
                                             "dataset.train.root: {type: folder, extract_to_parent: true}"))
    data = h["data"]
    (data / "data").mkdir()
    scene = h["tmp"] / "scene"
    (scene / "scene1").mkdir(parents=True)
    (scene / "scene1" / "rgb.png").write_bytes(b"png")
    with tarfile.open(data / "data" / "extra.tar.gz", "w:gz") as tf:
        tf.add(scene / "scene1", arcname="scene1")
    before = _tree(data, ())
    res = call("run", "toyseg", "train", "--skill-dir", str(h["skill"]), "--train-dataset", str(data),
               "--eval-dataset", str(data), "--automl-policy", "off", "--json", "--workspace", str(h["ws"]))
    contract(res, 0)
    assert _tree(data, ()) == before, "staging wrote into the user's dataset folder"
    view = next((h["ws"] / "cache" / "local").glob("*/data"))
    assert (view / "data" / "scene1" / "rgb.png").read_bytes() == b"png"
    assert (view / "labels.json").resolve() == (data / "labels.json").resolve()
    planned = {d["key"]: d["local_path"] for d in res.doc["data_sources"]}
    assert planned["dataset.train.root"] == str(view)
    import yaml

    ran = yaml.safe_load((Path(res.doc["job_dir"]) / "spec.yaml").read_text())
    assert ran["dataset"]["train"]["root"] == str(view) and ran["dataset"]["val"]["root"] == str(data)


# -- strict JSON from every command -------------------------------------------------------------------------

def test_every_command_prints_strict_json(h):
    first = call("run", "toyseg", "train", "--skill-dir", str(h["skill"]), "--train-dataset", str(h["data"]),
                 "--eval-dataset", str(h["data"]), "--automl-policy", "off", "--json", "--workspace", str(h["ws"]))
    assert first.code == 0, first.err
    job = first.doc["job_id"]
    ws = ["--workspace", str(h["ws"])]
    for args in (["list", "--json"], ["describe", "toyseg", "--skill-dir", str(h["skill"]), "--json"],
                 ["describe", "toyseg", "train", "--skill-dir", str(h["skill"]), "--json"],
                 [*h["base"]()], [*h["base"]("run")], ["jobs", "list", "--json", *ws], ["jobs", "show", job, "--json", *ws],
                 ["jobs", "logs", job, "--json", *ws], ["jobs", "show", "nope", "--json", *ws],
                 ["run", "toyseg", "--json"], ["validate", "--json"], ["nosuch-command", "--json"]):
        res = call(*args)
        assert "Traceback" not in res.err, (args, res.err)
        assert res.doc is not None and isinstance(res.doc, dict), args  # parsed by the strict parser
        assert res.code in (0, 2), (args, res.code, res.err)
    # checkers whose own contract is "exit 1 listing the problems": still one strict document, no traceback
    for args in (["schemas", "check", "--skill-dir", str(h["skill"]), "--json"],
                 ["skills", "check", "--skill-dir", str(h["skill"]), "--json"],
                 ["jobs", "wait", job, "--json", *ws], ["jobs", "cancel", job, "--json", *ws],
                 ["automl", "status", job, "--json", *ws], ["preflight", "toyseg", "train", "--skill-dir", str(h["skill"]),
                                                             "--json", *ws]):
        res = call(*args)
        assert "Traceback" not in res.err and isinstance(res.doc, dict), (args, res.err)
        assert res.code in (0, 1, 2), (args, res.code, res.err)


@pytest.mark.parametrize("args", [["run", "--help", "--json"], ["jobs", "show", "-h", "--json"], ["list", "--json", "-h"]])
def test_help_under_json_is_one_document(args):
    res = call(*args)
    assert res.code == 0 and res.doc["ok"] is True and res.doc["text"].startswith("Usage:")


def test_strict_dump_of_non_finite_kpis():
    from tao_skill.yamlio import dumps

    text = dumps({"kpis": {"loss": float("nan"), "best": float("inf")}, "when": Path("/x")})
    assert _strict_json(text) == {"kpis": {"loss": None, "best": None}, "when": "/x"}


# -- the same contract through the installed entry point --------------------------------------------------

SCRIPT_CASES: dict[str, tuple[Callable[[Any], list[str]], int, tuple[str, ...]]] = {
    "billion_laughs_spec": (lambda h: ["--spec", h["write"]("b.yaml", BILLION_LAUGHS)], 2, ("aliases",)),
    "fifo_spec": (lambda h: ["--spec", _mkfifo(h)], 2, ("not a regular file",)),
    "dev_zero_overrides": (lambda h: ["--overrides-json", "@/dev/zero"], 2, ("/dev/zero",)),
    "binary_spec": (lambda h: ["--spec", h["write"]("x.yaml", b"\x7fELF\x00\x00")], 2, ("binary",)),
    "directory_spec": (lambda h: ["--spec", str(h["files"])], 2, ("directory",)),
    "duplicate_spec": (lambda h: ["--spec", h["write"]("d.yaml", "a: 1\na: 2\n")], 2, ("duplicate key `a`",)),
    "nan_override": (lambda h: ["--override", "train.lr=.nan"], 2, ("train.lr", "NaN")),
    "nan_json": (lambda h: ["--overrides-json", '{"train.lr": NaN}'], 2, ("train.lr",)),
    "empty_overrides_json": (lambda h: ["--overrides-json", ""], 2, ("--overrides-json",)),
    "deep_json": (lambda h: ["--overrides-json", "[" * 50_000], 2, ("--overrides-json",)),
    "workspace_file": (lambda h: ["--workspace", h["write"]("w", "x")], 2, ("--workspace",)),
    "results_dir_file": (lambda h: ["--results-dir", h["write"]("r", "x")], 2, ("--results-dir",)),
    "parent_job_unknown": (lambda h: ["--parent-job", "nope"], 2, ("--parent-job",)),
    "bad_bucket": (lambda h: ["--results-dir", "s3://Not_A..Bucket/x"], 2, ("Not_A..Bucket",)),
    "too_big_spec": (lambda h: ["--spec", h["write"]("big.yaml", "#" * (2 * 2**20 + 1))], 2, ("limit",)),
}


@pytest.mark.parametrize("case", sorted(SCRIPT_CASES))
def test_script(h, case):
    make, code, needles = SCRIPT_CASES[case]
    extra = make(h)
    before = _tree(h["tmp"], (h["ws"],))
    res = script(*h["base"]("run"), "--workspace", str(h["ws"]), *extra, timeout=30)
    contract(res, code, *needles)
    assert res.seconds < 15, f"took {res.seconds:.1f} s"
    assert _tree(h["tmp"], (h["ws"],)) == before


def test_script_human_output_is_one_error_block(h):
    res = script(*[a for a in h["base"]() if a != "--json"], "--spec", h["write"]("b.yaml", BILLION_LAUGHS))
    assert res.code == 2 and res.out == "" and res.err.startswith("error (1 problem)") and "Traceback" not in res.err


# -- dataset check (the skill's tool behind the same contract) ------------------------------------------------

@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth") / "ds"
    res = script("dataset", "synth", "nvpanoptix3d", str(root), timeout=120)
    assert res.code == 0, res.err
    return root


def _broken_copy(synth_root, tmp_path, name: str, content: bytes) -> Path:
    root = tmp_path / "ds"
    shutil.copytree(synth_root, root)
    (root / "meta" / name).write_bytes(content)
    return root


@pytest.mark.parametrize("case", ["missing", "binary_split", "empty_train_split"])
def test_dataset_check(request, tmp_path, case):
    if case == "missing":
        root, needle = tmp_path / "nope", "does not exist"
    elif case == "binary_split":
        root, needle = _broken_copy(request.getfixturevalue("synth_root"), tmp_path, "train.json", bytes(range(256))), \
            "train.json"
    else:
        root, needle = _broken_copy(request.getfixturevalue("synth_root"), tmp_path, "train.json", b"[]"), "no samples"
    res = script("dataset", "check", "nvpanoptix3d", str(root), "--json", timeout=60)
    assert res.code == 2, (res.out, res.err)
    assert "Traceback" not in res.err + res.out and res.doc["ok"] is False
    assert needle in json.dumps(res.doc), res.doc


# -- a seeded random mix of the above -----------------------------------------------------------------------

FUZZ_VALUES = ["", " ", "0", "-1", "1e400", ".nan", ".inf", "nan", "[", "{", "[1,2]", "{a: 1}", "null", "~", "yes",
               '"\\0"', "&a [*a]", "!!python/name:os.system", "2020-01-01", "9" * 5000, "a" * 3000, "s3://Bad_B/x",
               "s3://ok-bucket/x", "file://h/x", "gs://x/y", "/dev/zero", "/tmp", "../../etc/passwd", "\udcff", "=", "a=b",
               "@/dev/zero", "@", '{"train.lr": NaN}', '{"a":1,"a":2}']
FUZZ_KEYS = ["train.lr", "train.epochs", "train.milestones", "train.mode", "dataset.train.root", "dataset.batch_size",
             "results_dir", "encryption_key", "epochs", "nosuch", "train", "", "train.lr.x"]
FUZZ_FLAGS = ["--override", "--overrides-json", "--spec", "--train-dataset", "--parent-job", "--resume", "--ptm",
              "--key-env", "--results-dir", "--workspace", "--request", "--automl-policy", "--max-trials", "--timeout"]


def test_random_mix_of_hostile_flags(h):
    """400 seeded random combinations: always exit 0/2/3, one strict JSON document, no traceback."""
    import random

    rng = random.Random(19)
    for i in range(400):
        args = [*h["base"](rng.choice(["validate", "run"]))]
        for _ in range(rng.randint(1, 4)):
            flag = rng.choice(FUZZ_FLAGS)
            if flag == "--override":
                value = f"{rng.choice(FUZZ_KEYS)}={rng.choice(FUZZ_VALUES)}"
            elif flag == "--spec":
                value = h["write"](f"s{i}.yaml", f"{rng.choice(FUZZ_KEYS)}: {rng.choice(FUZZ_VALUES)}\n"
                                                 .encode("utf-8", "surrogateescape"))
            elif flag == "--workspace":
                value = rng.choice([str(h["ws"]), "/proc/sys/x", str(h["data"] / "labels.json"), ""])
            else:
                value = rng.choice(FUZZ_VALUES)
            args += [flag, value]
        res = call(*args)
        assert res.code in (0, 2, 3), (args, res.out[-500:])
        assert "Traceback" not in res.err and isinstance(res.doc, dict), args

