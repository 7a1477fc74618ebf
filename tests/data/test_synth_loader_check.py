"""The synthetic generator writes the real layout; the loader reads it; the checker catches corruption."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nvpanoptix3d.data import DataError, DatasetOptions, build_dataset, collate
from nvpanoptix3d.data.check import check_dataset
from nvpanoptix3d.data.synth import generate
from nvpanoptix3d.geometry import FrustumGrid

GRID, VOXEL = 32, 0.18


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "ds"
    generate(root, scenes=4, seed=3, size=(96, 72), grid=GRID, voxel_size=VOXEL, reduced_size=(48, 36))
    return root


def _opts(root: Path, split: str = "train", **kw) -> DatasetOptions:
    base = dict(base_dir=str(root), json_path=f"meta/{split}.json", target_size=(96, 72), reduced_target_size=(48, 36),
                grid_dims=GRID, voxel_size=VOXEL, enable_3d=True, min_instance_pixels=5, depth_bins=16)
    return DatasetOptions(**{**base, **kw})


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_regeneration_is_byte_identical(dataset, tmp_path):
    again = tmp_path / "again"
    generate(again, scenes=4, seed=3, size=(96, 72), grid=GRID, voxel_size=VOXEL, reduced_size=(48, 36))
    assert _digest(again) == _digest(dataset)
    other = tmp_path / "other"
    generate(other, scenes=4, seed=4, size=(96, 72), grid=GRID, voxel_size=VOXEL, reduced_size=(48, 36))
    assert _digest(other) != _digest(dataset)


def test_layout_and_checker_pass(dataset):
    for rel in ("meta/frustum_mask.npz", "meta/colormap.json", "meta/train.json", "meta/val.json", "meta/test.json",
                "images.tar.gz", "meta/synth_info.json"):
        assert (dataset / rel).exists(), rel
    problems, info = check_dataset(dataset, "front3d", downsample_factor=1, grid=GRID)
    assert problems == [] and info["samples"] == 4


def test_loader_tensors_follow_the_contract(dataset):
    ds = build_dataset(_opts(dataset))
    s = ds[0]
    assert s["image"].shape == (3, 72, 96) and 0 <= float(s["image"].min()) and float(s["image"].max()) <= 1
    assert s["depth"].shape == (72, 96) and s["intrinsic"].shape == (4, 4)
    n = s["gt_classes"].shape[0]
    assert n >= 3 and s["gt_masks"].shape == (n, 72, 96) and s["gt_masks_3d"].shape == (n, GRID, GRID, GRID)
    assert {10, 11} <= set(s["gt_classes"].tolist())  # wall and floor are stuff segments
    assert [o.shape for o in s["occupancy"]] == [(GRID,) * 3, (GRID // 2,) * 3, (GRID // 4,) * 3]
    assert s["mp_occ"].shape == (16, 36, 48) and s["frustum_mask"].dtype.is_floating_point is False
    batch = collate([ds[0], ds[0]])
    assert batch["image"].shape == (2, 3, 72, 96) and len(batch["gt_masks"]) == 2


def test_rendered_depth_lands_on_occupied_voxels(dataset):
    s = build_dataset(_opts(dataset))[0]
    # the grid placed for the sample's camera at the spec's reduced size, as the data was made (NVIDIA's placement)
    grid = FrustumGrid.cube(GRID, VOXEL, reduced_size=(48, 36)).with_camera(s["intrinsic"].numpy(), (96, 72))
    depth = s["depth"].numpy()
    pts = grid.backproject_depth(depth, s["intrinsic"].numpy())[depth > 0]
    idx, inside = grid.voxel_index(pts)
    near = s["geometry"].numpy()[tuple(idx[inside].T)] <= 1.5
    assert inside.mean() > 0.9 and near.mean() >= 0.95


def _copy(dataset: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "broken"
    shutil.copytree(dataset, dst)
    return dst


def test_missing_frustum_mask(dataset, tmp_path):
    broken = _copy(dataset, tmp_path)
    (broken / "meta" / "frustum_mask.npz").unlink()
    problems, _ = check_dataset(broken)
    assert any("Missing frustum mask" in p.message for p in problems)
    with pytest.raises(DataError, match="Missing frustum mask"):
        build_dataset(_opts(broken))


def test_wrong_shape_missing_file_bad_json(dataset, tmp_path):
    broken = _copy(dataset, tmp_path)
    row = json.loads((broken / "meta" / "train.json").read_text())[0]
    sample = broken / "data" / row["scene_id"]
    np.savez(sample / f"geometry_{row['image_id']}.npz", data=np.zeros((8, 8, 8), np.float32))
    (sample / f"weighting_{row['image_id']}.npz").unlink()
    (broken / "meta" / "val.json").write_text("{not json")
    messages = [p.message for p in check_dataset(broken)[0]]
    assert any("differs from the frustum mask" in m for m in messages)
    assert any("missing sample file" in m for m in messages)
    assert any("not valid JSON" in m for m in messages)


def test_checker_cli_reports_wrong_downsample_for_matterport(dataset):
    proc = subprocess.run([sys.executable, "-m", "nvpanoptix3d.data.check", str(dataset), "--format", "matterport",
                           "--downsample-factor", "1"], capture_output=True, text=True)
    assert proc.returncode == 2 and "Downsample factor mismatch" in proc.stdout and "Traceback" not in proc.stderr


def test_synth_cli_runs_and_rejects_bad_size(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "nvpanoptix3d.data.synth", str(tmp_path / "d"), "--scenes", "1",
                         "--size", "64x48", "--grid", "16", "--voxel-size", "0.36"], capture_output=True, text=True)
    assert ok.returncode == 0 and "wrote 1 samples" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "nvpanoptix3d.data.synth", str(tmp_path / "e"), "--size", "64by48"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "size must look like" in bad.stderr
