"""``model.frustum3d.backend=spconv`` through the engine: a 3D training run of the tiny preset whose completion
convolutions run on spconv's kernels, and its checkpoint evaluated under ``spconv`` and ``sparse`` (the same
state dict, the same KPIs). Skipped where spconv is not installed (the dev extra installs its CPU wheel)."""

from __future__ import annotations

import json

import pytest

from nvpanoptix3d.network.completion import spconv_exec

from .conftest import make_spec, run_action, write_spec

pytestmark = pytest.mark.skipif(not spconv_exec.available(), reason="spconv is not installed (pip install spconv)")


def test_train_3d_on_spconv_then_evaluate_under_both_sparse_backends(tiny_data, trained_2d, tmp_path, monkeypatch):
    from spconv.pytorch import ops  # noqa: PLC0415

    calls = {"fwd": 0, "bwd": 0}
    fwd, bwd = ops.indice_conv, ops.indice_conv_backward

    def counted_fwd(*a, **k):
        calls["fwd"] += 1
        return fwd(*a, **k)

    def counted_bwd(*a, **k):
        calls["bwd"] += 1
        return bwd(*a, **k)

    monkeypatch.setattr(ops, "indice_conv", counted_fwd)
    monkeypatch.setattr(ops, "indice_conv_backward", counted_bwd)
    res = tmp_path / "train"
    spec = write_spec(tmp_path / "train.yaml", make_spec(tiny_data, res, **{
        "dataset.enable_3d": True, "train.num_epochs": 1, "train.checkpoint_2d": str(trained_2d / "latest.pth"),
        "model.frustum3d.backend": "spconv"}))
    assert run_action("train", spec) == 0
    assert calls["fwd"] > 0 and calls["bwd"] > 0  # the training steps ran spconv's kernels, forward and backward
    kpis = {}
    for backend in ("spconv", "sparse"):
        out = tmp_path / f"eval_{backend}"
        spec = write_spec(tmp_path / f"eval_{backend}.yaml", make_spec(tiny_data, out, **{
            "dataset.enable_3d": True, "evaluate.checkpoint": str(res / "latest.pth"),
            "model.frustum3d.backend": backend}))
        assert run_action("evaluate", spec) == 0
        (entry,) = json.loads((out / "status.json").read_text())["entries"]
        kpis[backend] = entry["kpi"]
    assert kpis["spconv"].keys() == kpis["sparse"].keys() and "PRQ" in kpis["sparse"]
    for name, value in kpis["sparse"].items():
        assert kpis["spconv"][name] == pytest.approx(value, abs=1e-4), name
