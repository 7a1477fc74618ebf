"""The export action on a ``model.frustum3d.use_multi_scale`` 3D checkpoint: both ONNX files (the 2D one with
the pixel-decoder levels ``enc_features_{0,1,2}``, the 3D one with the stride-2/4/8 voxels), checked by the
action against PyTorch, then evaluated through the deployed-model path; a geometry whose multi-scale voxels
leave their grid is refused clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from nvpanoptix3d.config.loader import load_spec
from nvpanoptix3d.engine import build
from nvpanoptix3d.engine.checkpoint_io import save_checkpoint
from nvpanoptix3d.engine.runtime import redacted_config

from .conftest import make_spec, run_action, write_spec

MS = {"dataset.enable_3d": True, "model.frustum3d.use_multi_scale": True, "model.frustum3d.backend": "sparse"}


def _checkpoint(tiny_data: Path, res: Path, **over) -> Path:
    """A 3D checkpoint of ours (random weights) of the multi-scale tiny model."""
    spec = load_spec(write_spec(res / "build.yaml", make_spec(tiny_data, res, **MS, **over)))
    torch.manual_seed(0)
    model = build.build_model(spec, stage="3d")
    path = res / "ms3d.pth"
    save_checkpoint({"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}, "network": "nvpanoptix3d",
                     "stage": "3d", "config": redacted_config(spec), "epoch": 0, "global_step": 0}, path)
    return path


def _export(tiny_data: Path, res: Path, ck: Path, **over) -> int:
    spec = write_spec(res / "spec.yaml", make_spec(tiny_data, res, **MS, **over, **{
        "export.checkpoint": str(ck), "export.input_width": 160, "export.input_height": 120, "export.batch_size": 1}))
    with torch.no_grad():
        return run_action("export", spec)


def test_a_multi_scale_3d_model_exports_and_runs_deployed(tiny_data, tmp_path):
    over = {"model.projection.voxel_size": 0.25}  # every multi-scale voxel inside its grid (see the network test)
    res = tmp_path / "export"
    res.mkdir()
    assert _export(tiny_data, res, _checkpoint(tiny_data, res, **over), **over) == 0
    log = (res / "log.txt").read_text()
    assert "3D ONNX checked" in log and "multi-scale voxels lie outside" not in log
    import onnx  # noqa: PLC0415

    outputs_2d = [o.name for o in onnx.load(str(res / "model_2d.onnx")).graph.output]
    inputs_3d = [i.name for i in onnx.load(str(res / "model_3d.onnx")).graph.input]
    assert outputs_2d[-3:] == ["enc_features_0", "enc_features_1", "enc_features_2"]
    assert inputs_3d[5:] == [f"ms_{kind}_{i}" for i in range(3) for kind in ("coords", "features", "num_voxels")]
    ev = tmp_path / "eval"
    ev.mkdir()
    spec = write_spec(ev / "spec.yaml", make_spec(tiny_data, ev, **MS, **over, **{
        "evaluate.onnx_file_2d": str(res / "model_2d.onnx"), "evaluate.onnx_file_3d": str(res / "model_3d.onnx")}))
    assert run_action("evaluate", spec) == 0
    kpi = json.loads((ev / "status.json").read_text())["entries"][-1]["kpi"]
    assert "PRQ" in kpi and "PQ" in kpi


@pytest.mark.slow
def test_a_geometry_whose_multi_scale_voxels_leave_the_grid_is_refused(tiny_data, tmp_path):
    res = tmp_path / "export"
    res.mkdir()
    assert _export(tiny_data, res, _checkpoint(tiny_data, res)) != 0  # the tiny data's 32^3 grid of 0.18 m
    log = (res / "log.txt").read_text()
    assert "cannot be exported faithfully for this geometry" in log and "Traceback" not in log
    assert (res / "model_2d.onnx").exists() and not (res / "model_3d.onnx").exists()
