"""Preflight with mocked device facts: GPUs vs train.num_gpus/gpu_ids, the network's memory estimate
(nvpanoptix3d.memory via skill_info.yaml preflight.memory_estimator), free disk, the skill's GPU guidance
as warnings; and the report in `tao-skill preflight`, `run --dry-run` and `validate`."""

from __future__ import annotations

import json

import pytest

from tao_skill.preflight import preflight
from tao_skill.skills import get_skill


def _gpus(n: int, gb: float, name: str = "NVIDIA A10") -> dict:
    return {"source": "test", "gpus": [{"index": i, "name": name, "memory_gb": gb, "free_gb": gb,
                                        "compute_capability": "8.6"} for i in range(n)]}


@pytest.fixture(scope="module")
def skill():
    return get_skill("nvpanoptix3d")


def _levels(report: dict) -> list[tuple[str, str]]:
    return [(f["level"], f["message"]) for f in report["findings"]]


def test_one_small_gpu_gets_the_guidance_and_an_oom_warning(skill, tmp_path):
    spec = {"dataset": {"enable_3d": True}, "train": {"num_gpus": 1, "gpu_ids": [0]}}
    rep = preflight(skill, "train", spec, tmp_path, facts=_gpus(1, 8.0))
    text = " | ".join(m for _, m in _levels(rep))
    assert rep["ok"] and {lv for lv, _ in _levels(rep)} == {"warning"}
    assert "2 GPUs minimum" in text and "40 GB per GPU" in text and "expect out-of-memory" in text
    est = rep["estimate"]
    assert est["stage"] == "3d" and est["parts_gb"]["activations_3d"] > 1 and est["per_gpu_gb"] > 8
    assert rep["disk"]["free_gb"] is not None and rep["selected_gpus"] == [0]


def test_enough_large_gpus_give_no_finding(skill, tmp_path):
    spec = {"dataset": {"enable_3d": True}, "train": {"num_gpus": 2, "gpu_ids": [0, 1]}}
    rep = preflight(skill, "train", spec, tmp_path, facts=_gpus(4, 80.0, "NVIDIA H100"))
    assert rep["ok"] and rep["findings"] == [] and rep["requested"]["world_size"] == 2


def test_missing_gpus_are_error_findings_not_refusals(skill, tmp_path):
    rep = preflight(skill, "train", {"train": {"num_gpus": 4}}, tmp_path, facts=_gpus(2, 80.0))
    assert not rep["ok"] and any(lv == "error" and "2 GPU(s) are visible" in m for lv, m in _levels(rep))
    rep = preflight(skill, "train", {"train": {"num_gpus": 2, "gpu_ids": [2, 3]}}, tmp_path, facts=_gpus(2, 80.0))
    assert any(lv == "error" and "[2, 3] that do not exist" in m for lv, m in _levels(rep))
    rep = preflight(skill, "train", {"train": {"num_gpus": 2}}, tmp_path, facts={"source": "none", "gpus": []})
    assert rep["ok"] and any("no CUDA GPU" in m for _, m in _levels(rep))


def test_the_estimate_follows_the_configuration(skill, tmp_path):
    def est(**kw):
        spec = {"dataset": {"enable_3d": True}, "train": {"num_gpus": 1}, "model": {"frustum3d": kw}}
        return preflight(skill, "train", spec, tmp_path, facts=_gpus(1, 80.0))["estimate"]

    small, large = est(frustum_dims=128, grid_dimensions=256), est(frustum_dims=256, grid_dimensions=256)
    assert large["parts_gb"]["activations_3d"] > 6 * small["parts_gb"]["activations_3d"]
    capped = est(frustum_dims=256, grid_dimensions=256, max_voxels=100000)
    assert capped["parts_gb"]["activations_3d"] < small["parts_gb"]["activations_3d"]
    tiny = preflight(skill, "train", {"model": {"backbone": {"preset": "tiny"}}}, tmp_path,
                     facts=_gpus(1, 80.0))["estimate"]
    assert tiny["per_gpu_gb"] < 1 and tiny["stage"] == "2d"


def test_preflight_in_the_cli_dry_run_and_validate(tao, tmp_path, monkeypatch):
    monkeypatch.setenv("TAO_SKILL_WORKSPACE", str(tmp_path / "ws"))
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(_gpus(1, 24.0)))
    monkeypatch.setenv("TAO_SKILL_DEVICE_FACTS", str(facts))
    data = tmp_path / "front3d"
    (data / "meta").mkdir(parents=True)
    for name in ("frustum_mask.npz", "colormap.json", "train.json", "val.json"):
        (data / "meta" / name).write_text("{}")
    flags = ("--train-dataset", str(data), "--eval-dataset", str(data), "--automl-policy", "off", "--json")
    res = tao("preflight", "nvpanoptix3d", "train", *flags)
    assert res.code == 0, res.out
    rep = res.doc["preflight"]
    assert rep["devices"]["source"].startswith("file") and rep["devices"]["gpus"][0]["memory_gb"] == 24.0
    assert any("2 GPUs minimum" in f["message"] for f in rep["findings"])
    for cmd in (("run", "nvpanoptix3d", "train", "--dry-run"), ("validate", "nvpanoptix3d", "train")):
        res = tao(*cmd, *flags)
        assert res.code == 0 and res.doc["preflight"]["estimate"]["per_gpu_gb"] > 0, res.out


def test_the_estimate_runs_outside_the_planning_process_and_is_remembered(skill, tmp_path, monkeypatch):
    """A plan never loads torch: without it loaded, the estimator runs in a child interpreter, once per value
    of the keys it reads (skill_info.yaml preflight.estimate_inputs)."""
    import subprocess
    import sys

    import tao_skill.preflight as pf

    monkeypatch.setenv("TAO_SKILL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("TAO_SKILL_NO_CACHE", raising=False)
    monkeypatch.delitem(sys.modules, "torch")  # as in a fresh `tao-skill run --dry-run` (restored afterwards)
    calls = []
    real_run = subprocess.run
    monkeypatch.setattr(pf.subprocess, "run", lambda *a, **k: calls.append(a) or real_run(*a, **k))
    spec = {"model": {"backbone": {"preset": "tiny"}}, "results_dir": str(tmp_path / "job-1")}
    first = preflight(skill, "train", spec, tmp_path, facts=_gpus(1, 80.0))["estimate"]
    assert first["stage"] == "2d" and len(calls) == 1
    again = preflight(skill, "train", {**spec, "results_dir": str(tmp_path / "job-2"),
                                       "train": {"optim": {"lr": 0.5}, "num_epochs": 3}}, tmp_path,
                      facts=_gpus(1, 80.0))["estimate"]
    assert again == first and len(calls) == 1  # another job id, lr and epoch count: read from the cache
    other = preflight(skill, "train", {**spec, "dataset": {"enable_3d": True}}, tmp_path, facts=_gpus(1, 80.0))
    assert other["estimate"]["stage"] == "3d" and len(calls) == 2
    assert "torch" not in sys.modules


def test_a_plan_estimates_a_new_configuration_in_the_background(skill, tmp_path, monkeypatch):
    """run --dry-run / validate never wait seconds for the network build: the first plan of a configuration
    says the estimate is on its way, a later plan shows it (written by the background child)."""
    import sys
    import time

    monkeypatch.setenv("TAO_SKILL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("TAO_SKILL_NO_CACHE", raising=False)
    monkeypatch.delitem(sys.modules, "torch")
    spec = {"model": {"backbone": {"preset": "tiny"}}}
    started = time.monotonic()
    first = preflight(skill, "train", spec, tmp_path, facts=_gpus(1, 80.0), wait_for_estimate=False)
    assert time.monotonic() - started < 2.0
    assert first["estimate"] is None and "background" in first["estimate_note"]
    deadline = time.monotonic() + 120
    while not list((tmp_path / "cache" / "estimates").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    later = preflight(skill, "train", spec, tmp_path, facts=_gpus(1, 80.0), wait_for_estimate=False)
    assert later["estimate"]["stage"] == "2d" and later["estimate_note"] is None
    assert "torch" not in sys.modules
