"""evaluate routes dataset.name: matterport to the Matterport loader and scores PRQ on the downsampled grid."""

import json
import subprocess
import sys

from .conftest import make_spec, run_action, write_spec


def test_evaluate_3d_on_synthetic_matterport(trained_3d, tmp_path):
    data = tmp_path / "mp"
    subprocess.run([sys.executable, "-m", "nvpanoptix3d.data.synth", str(data), "--format", "matterport", "--scenes",
                    "3", "--seed", "1", "--grid", "32", "--voxel-size", "0.18"], check=True, capture_output=True)
    res = tmp_path / "res"
    spec = write_spec(tmp_path / "s.yaml", make_spec(data, res, **{
        "dataset.enable_3d": True, "dataset.name": "matterport", "dataset.downsample_factor": 2,
        "dataset.iso_value": 2.0, "dataset.frustum_mask_path": "",
        "evaluate.checkpoint": str(trained_3d / "latest.pth")}))
    assert run_action("evaluate", spec) == 0
    (entry,) = json.loads((res / "status.json").read_text())["entries"]
    assert {"PRQ", "RSQ", "RRQ"} <= set(entry["kpi"])
    assert "evaluating 3d stage on dataset.val (1 images)" in (res / "log.txt").read_text()
