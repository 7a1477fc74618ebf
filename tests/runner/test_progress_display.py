"""The runner's progress display: TAO_PROGRESS lines parsed, drawn live on a terminal, throttled plain lines
elsewhere, never echoed into the job's output, and the latest update kept in progress.json."""

from __future__ import annotations

import io
import json

from tao_skill.progress_display import ProgressDisplay, describe, parse_progress, read_progress


def _line(step: int, total: int = 40, **kw) -> str:
    doc = {"phase": "train", "epoch": 1 + step // 20, "epochs": 2, "step": step, "total": total, "loss": 0.25,
           "elapsed_s": step * 0.5, "eta_s": (total - step) * 0.5, **kw}
    return "TAO_PROGRESS " + json.dumps(doc) + "\n"


def test_parse_accepts_only_well_formed_progress_lines():
    assert parse_progress(_line(3))["total"] == 40
    for bad in ("TAO_PROGRESS {not json}\n", 'TAO_PROGRESS {"step": "3", "total": 4}\n', "12:00 INFO step 3/4\n",
                'TAO_PROGRESS ["step", 3]\n'):
        assert parse_progress(bad) is None, bad
    assert describe(parse_progress(_line(10))) == ("train epoch 1/2 step 10/40 (25%) loss 0.25 elapsed 0:00:05 "
                                                   "eta 0:00:15")


def test_plain_lines_are_throttled_and_the_last_state_is_printed(tmp_path):
    out = io.StringIO()
    state = tmp_path / "progress.json"
    with ProgressDisplay(out, live=False, interval_s=3600, state_file=state) as d:
        for step in range(0, 40):
            assert d.feed(_line(step))
            if step == 5:
                assert not d.feed("05:00 INFO saved checkpoint x.pth\n")
                d.echo("05:00 INFO saved checkpoint x.pth\n")
    lines = out.getvalue().splitlines()
    assert lines == ["progress: " + describe(parse_progress(_line(0))), "05:00 INFO saved checkpoint x.pth",
                     "progress: " + describe(parse_progress(_line(39)))]
    assert "TAO_PROGRESS" not in out.getvalue()
    assert read_progress(tmp_path)["step"] == 39


def test_live_display_draws_one_bar_with_the_total_and_keeps_other_lines():
    out = io.StringIO()
    with ProgressDisplay(out, live=True) as d:
        for step in (0, 10, 40):
            d.feed(_line(step))
        d.echo("12:00 INFO validation epoch 0 step 40\n")
    text = out.getvalue()
    assert "━" in text and "40/40" in text and "epoch" in text and "eta" in text
    assert "12:00 INFO validation epoch 0 step 40" in text and "TAO_PROGRESS" not in text
