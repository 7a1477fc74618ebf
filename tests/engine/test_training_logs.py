"""Training logs: TensorBoard events and a CSV of every logged value, the runner's progress lines with the real
totals, and the W&B settings (offline unless the user's key is in the environment)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import struct
from pathlib import Path

import pytest

from nvpanoptix3d.engine.callbacks import PROGRESS_PREFIX
from nvpanoptix3d.engine.loggers import build_loggers, log_dirs, wandb_settings

from .conftest import make_spec, run_action, write_spec


def read_tfevents(path: Path) -> dict[str, list[tuple[int, float]]]:
    """Scalars of a TensorBoard event file: TFRecord frames (u64 length, u32 crc, data, u32 crc) of Event protos."""
    from tensorboardX.proto.event_pb2 import Event

    out: dict[str, list[tuple[int, float]]] = {}
    data = path.read_bytes()
    pos = 0
    while pos < len(data):
        (n,) = struct.unpack("<Q", data[pos:pos + 8])
        ev = Event.FromString(data[pos + 12:pos + 12 + n])
        pos += 12 + n + 4
        for v in ev.summary.value:
            value = v.simple_value if v.HasField("simple_value") else (v.tensor.float_val[0] if v.tensor.float_val
                                                                        else None)
            if value is not None:
                out.setdefault(v.tag, []).append((ev.step, value))
    return out


@pytest.fixture(scope="module")
def logged_run(tiny_data, tmp_path_factory):
    """A 2D train of 2 epochs x 2 steps stopped by max_steps=3, with the runner's progress lines switched on."""
    res = tmp_path_factory.mktemp("logged")
    spec = write_spec(res / "spec.yaml", make_spec(tiny_data, res, **{"train.optim.max_steps": 3}))
    err = io.StringIO()
    mp = pytest.MonkeyPatch()
    mp.setenv("TAO_SKILL_PROGRESS", "1")
    try:
        with contextlib.redirect_stderr(err):
            assert run_action("train", spec) == 0
    finally:
        mp.undo()
    return res, err.getvalue()


def test_tensorboard_and_csv_hold_every_step_lr_kpis_and_throughput(logged_run):
    res, _ = logged_run
    status = json.loads((res / "status.json").read_text())
    final = sorted(res.glob("model_epoch_*_step_*.pth"))[-1]
    steps = int(final.stem.rsplit("_", 1)[1])
    assert steps == 3  # the run's last step: max_steps ended it before the 2 x 2 epoch budget
    dirs = log_dirs(res)
    rows = list(csv.DictReader((dirs["csv"] / "metrics.csv").open()))
    train_rows = [r for r in rows if r.get("train_loss")]
    assert len(train_rows) == steps and [int(r["step"]) for r in train_rows] == list(range(steps))
    lr_cols = [c for c in rows[0] if c.startswith("lr/")]
    assert sorted(lr_cols) and all(any(r[c] for r in rows) for c in lr_cols), lr_cols
    assert any(r.get("train/device/samples_per_sec") for r in rows)
    val_rows = [r for r in rows if r.get("val_loss")]
    assert len(val_rows) == len(status["entries"]) and all(r.get("PQ") for r in val_rows)
    assert any(c.startswith("train/loss_") for c in rows[0])  # the loss terms, not only their sum

    events = sorted(dirs["tensorboard"].glob("events.out.tfevents.*"))
    assert events
    scalars = read_tfevents(events[0])
    assert [s for s, _ in scalars["train_loss"]] == list(range(steps))
    assert [round(v, 4) for _, v in scalars["train_loss"]] == [round(float(r["train_loss"]), 4) for r in train_rows]
    assert set(lr_cols) <= set(scalars) and "val_loss" in scalars and "PQ" in scalars


def test_progress_lines_carry_the_real_total_and_an_eta(logged_run):
    _, err = logged_run
    docs = [json.loads(line[len(PROGRESS_PREFIX):]) for line in err.splitlines() if line.startswith(PROGRESS_PREFIX)]
    assert docs, err[-2000:]
    assert {d["total"] for d in docs} == {3} and {d["epochs"] for d in docs} == {2}
    assert docs[-1]["phase"] == "done" and docs[-1]["step"] == 3 and docs[-1]["eta_s"] == 0
    assert any(d["loss"] is not None and d["eta_s"] is not None and d["eta_s"] > 0 for d in docs)
    steps = [d["step"] for d in docs]
    assert steps == sorted(steps)
    # the human log lines show the real total too (not the default max_steps of 160000)
    assert "step 3/3" in err and "/160000" not in err


class _WandB:
    enable, project, entity, group, name = True, "proj", "", "g", "run"
    tags, reinit, sync_tensorboard, save_code, run_id = ["a"], False, False, False, ""


def test_wandb_offline_by_default_online_with_the_users_key(tmp_path):
    off = wandb_settings(_WandB(), tmp_path, env={})
    assert off["offline"] is True and off["mode"] == "offline" and off["save_dir"] == str(tmp_path)
    assert off["project"] == "proj" and off["group"] == "g" and off["tags"] == ["a"] and "entity" not in off
    on = wandb_settings(_WandB(), tmp_path, env={"WANDB_API_KEY": "k-123"})
    assert on["offline"] is False and on["mode"] == "online"
    assert "k-123" not in json.dumps(on)  # wandb reads the key from the environment itself
    assert wandb_settings(_WandB(), tmp_path, env={"WANDB_MODE": "disabled"})["mode"] == "disabled"
    resumed = _WandB()
    resumed.run_id = "abc"
    assert wandb_settings(resumed, tmp_path, env={})["id"] == "abc"
    disabled = _WandB()
    disabled.enable = False
    assert wandb_settings(disabled, tmp_path, env={}) is None


def test_without_the_wandb_package_only_tensorboard_and_csv(tmp_path, monkeypatch, caplog):
    import importlib.util

    from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))

    class Spec:
        wandb = _WandB()

    with caplog.at_level("INFO", logger="nvpanoptix3d"):
        loggers = build_loggers(Spec(), tmp_path)
    assert [type(lg) for lg in loggers] == [TensorBoardLogger, CSVLogger]
    assert "wandb package is not installed" in caplog.text


def test_step_progress_of_plain_loops_is_silent_unless_asked_and_always_ends(monkeypatch):
    from nvpanoptix3d.engine.progress import StepProgress

    monkeypatch.delenv("TAO_SKILL_PROGRESS", raising=False)
    quiet = io.StringIO()
    p = StepProgress("evaluate", 3, stream=quiet)
    for i in range(1, 4):
        p.update(i)
    assert quiet.getvalue() == ""
    monkeypatch.setenv("TAO_SKILL_PROGRESS", "1")
    out = io.StringIO()
    p = StepProgress("inference", 50, interval_s=3600, stream=out)
    for i in range(1, 51):
        p.update(i)
    docs = [json.loads(line[len(PROGRESS_PREFIX):]) for line in out.getvalue().splitlines()]
    assert [(d["phase"], d["step"], d["total"]) for d in docs] == [("inference", 1, 50), ("done", 50, 50)]
    assert docs[-1]["eta_s"] == 0
