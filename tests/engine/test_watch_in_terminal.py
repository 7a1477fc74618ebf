"""`tao-skill run` on a terminal: a pseudo-terminal sees one live progress display with the real total of the
run (epochs x steps per epoch), and the job's results hold TensorBoard/CSV logs of exactly that many steps and
a report; `--json` keeps stdout one JSON document with progress on stderr; `jobs report` names the page."""

from __future__ import annotations

import csv
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nvpanoptix3d.engine.loggers import log_dirs

from .conftest import make_spec, write_spec

CLI = [sys.executable, "-c", "import sys; from tao_skill.cli import main; sys.exit(main())"]


def run_in_pty(args: list[str], env: dict[str, str], timeout: float = 300) -> tuple[int, str]:
    """Run the CLI with stdin/stdout/stderr on a pseudo-terminal (as a person at a terminal would)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(CLI + args, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    else:
        proc.kill()
    os.close(master)
    return proc.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")


def final_screen(output: str) -> list[str]:
    """The lines a terminal shows at the end: carriage returns, erase-line and cursor-up applied, colours dropped."""
    lines, row, col = [""], 0, 0
    for tok in re.split(r"(\x1b\[[0-9;?]*[A-Za-z]|\r|\n)", output):
        if not tok:
            continue
        if tok == "\n":
            row, col = row + 1, 0
            if row == len(lines):
                lines.append("")
        elif tok == "\r":
            col = 0
        elif tok.startswith("\x1b["):
            arg, cmd = re.match(r"\x1b\[([0-9;?]*)([A-Za-z])", tok).groups()
            if cmd == "K":
                lines[row] = lines[row][:col] if arg in ("", "0") else ""
            elif cmd == "A":
                row = max(0, row - int(arg or 1))
        else:
            lines[row] = lines[row][:col] + tok + lines[row][col + len(tok):]
            col += len(tok)
    return [line for line in lines if line.strip()]


@pytest.fixture(scope="module")
def watched(tiny_data, tmp_path_factory):
    """One tiny 2D train (2 epochs x 2 steps) through `tao-skill run` on a pseudo-terminal."""
    root = tmp_path_factory.mktemp("watched")
    spec = write_spec(root / "spec.yaml", make_spec(tiny_data, root / "unused"))
    env = {**os.environ, "TAO_SKILL_WORKSPACE": str(root / "ws"), "TERM": "xterm-256color", "COLUMNS": "120",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.pop("TAO_SKILL_PROGRESS", None)
    code, screen = run_in_pty(["run", "nvpanoptix3d", "train", "--spec", str(spec), "--train-dataset",
                               str(tiny_data), "--eval-dataset", str(tiny_data), "--automl-policy", "off"], env)
    assert code == 0, screen[-3000:]
    jobs = subprocess.run(CLI + ["jobs", "list", "--json"], env=env, capture_output=True, text=True, check=True)
    job = json.loads(jobs.stdout)["jobs"][-1]
    return {"screen": screen, "job": job, "env": env, "root": root, "spec": spec}


def test_a_terminal_sees_one_live_progress_bar_with_the_real_total(watched):
    screen = watched["screen"]
    assert "━" in screen, screen[-2000:]  # rich's bar
    assert "4/4" in screen and "epoch 2/2" in screen and "eta" in screen
    assert "/160000" not in screen  # not the default max_steps
    assert "TAO_PROGRESS" not in screen  # the protocol lines are drawn, not shown
    assert "\x1b[2K" in screen  # redrawn in place (one display, not a line per update)
    bars = [line for line in final_screen(screen) if "━" in line]
    assert len(bars) == 1 and "4/4" in bars[0] and "epoch 2/2" in bars[0], bars  # one bar left on the screen
    log = (Path(watched["job"]["job_dir"]) / "log.txt").read_text()
    assert "TAO_PROGRESS" not in log and "step 4/4" in log
    progress = json.loads((Path(watched["job"]["job_dir"]) / "progress.json").read_text())
    assert progress["step"] == progress["total"] == 4 and progress["phase"] == "done"


def test_the_runs_logs_count_its_steps_and_it_wrote_a_report(watched):
    results = Path(watched["job"]["results_dir"])
    rows = list(csv.DictReader((log_dirs(results)["csv"] / "metrics.csv").open()))
    assert len([r for r in rows if r.get("train_loss")]) == 4
    assert list(log_dirs(results)["tensorboard"].glob("events.out.tfevents.*"))
    report = subprocess.run(CLI + ["jobs", "report", watched["job"]["job_id"], "--json"], env=watched["env"],
                            capture_output=True, text=True)
    doc = json.loads(report.stdout)
    assert report.returncode == 0 and doc["path"] == str(results / "report.html") and Path(doc["path"]).is_file()
    show = subprocess.run(CLI + ["jobs", "show", watched["job"]["job_id"], "--json"], env=watched["env"],
                          capture_output=True, text=True)
    shown = json.loads(show.stdout)
    assert shown["report"] == doc["path"] and shown["progress"]["step"] == shown["progress"]["total"] == 4
    human = subprocess.run(CLI + ["jobs", "show", watched["job"]["job_id"]], env=watched["env"], capture_output=True,
                           text=True).stdout
    assert "progress: done epoch 2/2 step 4/4 (100%)" in human and f"report: {doc['path']}" in human
    missing = subprocess.run(CLI + ["jobs", "report", "nope", "--json"], env=watched["env"], capture_output=True,
                             text=True)
    assert missing.returncode == 2 and json.loads(missing.stdout)["ok"] is False


def test_json_runs_keep_stdout_one_document_and_progress_on_stderr(watched, tiny_data):
    env = watched["env"]
    proc = subprocess.run(CLI + ["run", "nvpanoptix3d", "train", "--spec", str(watched["spec"]), "--train-dataset",
                                 str(tiny_data), "--eval-dataset", str(tiny_data), "--automl-policy", "off",
                                 "--override", "train.num_epochs=1", "--json"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(proc.stdout)  # the whole of stdout is one document
    assert doc["ok"] is True and doc["status"] == "done"
    assert "progress: train epoch 1/1 step 2/2 (100%)" in proc.stderr
    assert "TAO_PROGRESS" not in proc.stderr + proc.stdout
