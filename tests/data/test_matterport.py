"""Matterport3D layout: the generator writes it, the loader reads it, the checker explains what is wrong."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nvpanoptix3d.data import DataError, DatasetOptions, build_dataset, collate
from nvpanoptix3d.data.check import check_dataset
from nvpanoptix3d.data.layouts import matterport_files
from nvpanoptix3d.data.matterport import MatterportDataset
from nvpanoptix3d.data.synth import generate
from nvpanoptix3d.geometry import FrustumGrid, scale_intrinsic

GRID, VOXEL, SIZE = 32, 0.18, (96, 72)


@pytest.fixture(scope="module")
def mp(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mp") / "ds"
    generate(root, scenes=4, seed=5, fmt="matterport", size=SIZE, grid=GRID, voxel_size=VOXEL,
             reduced_size=(48, 36))
    return root


@pytest.fixture(scope="module")
def front(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("f3d") / "ds"
    generate(root, scenes=1, seed=5, size=SIZE, grid=GRID, voxel_size=VOXEL)
    return root


def _opts(root: Path, **kw) -> DatasetOptions:
    base = dict(name="matterport", base_dir=str(root), json_path="meta/train.json", target_size=SIZE,
                reduced_target_size=(48, 36), grid_dims=GRID, voxel_size=VOXEL, enable_3d=True, min_instance_pixels=5,
                depth_bins=16, downsample_factor=2, label_map="meta/colormap.json")
    return DatasetOptions(**{**base, **kw})


def _row(root: Path, split: str = "train") -> dict:
    return json.loads((root / "meta" / f"{split}.json").read_text())[0]


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)
    return dst


def test_synth_writes_the_matterport_layout(mp):
    row = _row(mp)
    name, angle, rot = row["image_id"].rsplit("_", 2)
    scene = mp / "data" / row["scene_id"]
    for path in (scene / f"{name}_i{angle}_{rot}.jpg", scene / f"{name}_intrinsics_{angle}.npy",
                 mp / "depth_gen" / row["scene_id"] / f"{name}_d{angle}_{rot}.png",
                 mp / "room_mask" / row["scene_id"] / f"{name}_rm{angle}_{rot}.png",
                 scene / f"{name}_segmap{angle}_{rot}.mapped.npz", scene / f"{name}_geometry{angle}_{rot}.npz",
                 scene / f"{name}_segmentation{angle}_{rot}.mapped.npz", scene / f"{name}_weighting{angle}_{rot}.npz"):
        assert path.exists(), path
    # frames are stored at twice the network size, with their own 4x4 camera and 16-bit depth
    assert (row["width"], row["height"]) == (2 * SIZE[0], 2 * SIZE[1])
    assert Image.open(scene / f"{name}_i{angle}_{rot}.jpg").size == (2 * SIZE[0], 2 * SIZE[1])
    assert Image.open(mp / "depth_gen" / row["scene_id"] / f"{name}_d{angle}_{rot}.png").mode == "I;16"
    k = np.load(scene / f"{name}_intrinsics_{angle}.npy")
    assert k.shape == (16,) and k.dtype == np.float32
    with np.load(scene / f"{name}_geometry{angle}_{rot}.npz") as npz:
        assert set(npz.files) == {"data", "mask"} and npz["mask"].dtype == bool
    assert json.loads((mp / "meta" / "synth_info.json").read_text())["format"] == "matterport"
    problems, info = check_dataset(mp, "matterport", downsample_factor=2, grid=GRID)
    assert problems == [] and info["samples"] == 4


def test_loader_shapes_dtypes_and_intrinsics(mp):
    ds = build_dataset(_opts(mp))
    assert isinstance(ds, MatterportDataset)
    s = ds[0]
    w, h = SIZE
    assert s["image"].shape == (3, h, w) and s["image"].dtype.is_floating_point
    assert s["depth"].shape == (h, w) and str(s["depth"].dtype) == "torch.float32"
    assert 0.4 <= float(s["depth"][s["depth"] > 0].min()) and float(s["depth"].max()) <= 6.0
    assert str(s["semantic_2d"].dtype) == "torch.int64" and str(s["instance_2d"].dtype) == "torch.int64"
    n = s["gt_classes"].shape[0]
    assert s["gt_masks"].shape == (n, h, w) and s["gt_masks_3d"].shape == (n, GRID, GRID, GRID)
    assert s["frustum_mask"].shape == (GRID,) * 3 and str(s["frustum_mask"].dtype) == "torch.bool"
    assert s["geometry"].shape == (GRID,) * 3 and s["mp_occ"].shape == (16, 36, 48)
    assert s["meta"]["dataset"] == "matterport"
    # the per-image camera is read from its .npy and rescaled from the stored 2x frames to the network size
    row = _row(mp)
    stored = np.load(matterport_files(mp, row).intrinsic).reshape(4, 4)
    k = s["intrinsic"].numpy()
    assert k[0, 0] == pytest.approx(stored[0, 0] / 2, rel=1e-5) and k[1, 1] == pytest.approx(stored[1, 1] / 2, rel=1e-5)
    assert np.allclose(k, scale_intrinsic(stored, (2 * w, 2 * h), (w, h)))
    assert not np.allclose(stored[0, 0], ds[1]["intrinsic"][0, 0] * 2)  # cameras differ per image
    # the sample's frustum comes from its geometry `mask` (True = outside)
    with np.load(matterport_files(mp, row).geometry) as npz:
        assert np.array_equal(s["frustum_mask"].numpy(), ~npz["mask"])
    # depth back-projected with the rescaled camera lands on the surface of the distance field
    grid = FrustumGrid.cube(GRID, VOXEL, reduced_size=(48, 36)).with_camera(k, SIZE)  # this image's placement
    depth = s["depth"].numpy()
    idx, inside = grid.voxel_index(grid.backproject_depth(depth, k)[depth > 0])
    assert inside.mean() > 0.9 and (s["geometry"].numpy()[tuple(idx[inside].T)] <= 1.5).mean() >= 0.95
    assert collate([s, ds[1]])["image"].shape == (2, 3, h, w)


def test_label_map_is_applied(mp, tmp_path):
    root = _copy(mp, tmp_path)
    rows = json.loads((root / "meta" / "colormap.json").read_text())
    for r in rows:  # raw id 3 (chair) trains as class 5 (table): a non-identity id -> trainId map
        if r["id"] == 3:
            r["trainId"] = 5
    (root / "meta" / "colormap.json").write_text(json.dumps(rows))
    row = _row(root)
    files = matterport_files(root, row)
    seg = np.load(files.segmap)["data"]
    seg[..., 0] = np.where(seg[..., 0] == 10, 3, seg[..., 0])  # relabel the wall pixels with raw id 3
    np.savez(files.segmap, data=seg)
    sem = build_dataset(_opts(root, enable_3d=False, enable_mp_occ=False))[0]["semantic_2d"].numpy()
    assert (sem == 5).any() and not (sem == 3).any() and not (sem == 10).any()
    seg[0, 0, 0] = 42  # an id the label map does not list
    np.savez(files.segmap, data=seg)
    with pytest.raises(DataError, match=r"semantic labels \[42\] are not in the label map"):
        build_dataset(_opts(root, enable_3d=False, enable_mp_occ=False))[0]


def test_synth_matterport_cli(tmp_path):
    out = tmp_path / "mpcli"
    proc = subprocess.run([sys.executable, "-m", "nvpanoptix3d.data.synth", str(out), "--format", "matterport",
                           "--scenes", "1", "--size", "64x48", "--grid", "16", "--voxel-size", "0.36"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "wrote 1 samples (matterport layout, 128x96 on disk" in proc.stdout
    assert len(list((out / "depth_gen").rglob("*_d0_0.png"))) == 1
    chk = subprocess.run([sys.executable, "-m", "nvpanoptix3d.data.check", str(out), "--format", "matterport",
                          "--downsample-factor", "2", "--json"], capture_output=True, text=True)
    assert chk.returncode == 0 and json.loads(chk.stdout)["ok"] is True


def test_checker_matterport_missing_file_bad_shape_bad_camera(mp, tmp_path):
    root = _copy(mp, tmp_path)
    rows = json.loads((root / "meta" / "train.json").read_text())
    a, b = matterport_files(root, rows[0]), matterport_files(root, rows[1])
    a.depth.unlink()
    np.savez(a.weighting, data=np.zeros((8, 8, 8), np.float32))
    k = np.load(b.intrinsic)
    k[2] = 10_000.0  # cx far outside the image
    np.save(b.intrinsic, k)
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(b.depth)  # 8-bit, wrong size
    problems, _ = check_dataset(root, "matterport", downsample_factor=2)
    by_file = {p.where: p.message for p in problems}
    assert "missing sample file" in by_file[str(a.depth)] and "16-bit depth PNG" in by_file[str(a.depth)]
    assert "differs from the frustum mask" in by_file[str(a.weighting)]
    assert "principal point (10000, " in by_file[str(b.intrinsic)] and "outside the" in by_file[str(b.intrinsic)]
    assert "16-bit PNG" in by_file[str(b.depth)] and "found mode L" in by_file[str(b.depth)]
    with pytest.raises(DataError, match="principal point"):
        build_dataset(_opts(root))[1]


def test_checker_wrong_downsample_factor_and_grid(mp):
    problems, _ = check_dataset(mp, "matterport", downsample_factor=1)
    assert [p.where for p in problems] == ["dataset.downsample_factor"]
    assert "matterport needs downsample_factor=2, got 1" in problems[0].message
    assert "set dataset.downsample_factor: 2" in problems[0].message
    problems, _ = check_dataset(mp, "front3d", downsample_factor=2)
    assert any("front3d needs downsample_factor=1, got 2" in p.message for p in problems)
    odd = check_dataset(mp, "matterport", downsample_factor=2, grid=GRID + 1)[0]
    assert any("not divisible by downsample_factor=2" in p.message for p in odd)


def test_layout_mistakes_get_one_clear_message(mp, front):
    problems, _ = check_dataset(front, "matterport", downsample_factor=2)
    assert len(problems) == 1 and "holds 3D-FRONT files" in problems[0].message
    assert "--format front3d" in problems[0].message
    problems, _ = check_dataset(mp, "front3d", downsample_factor=1)
    assert len(problems) == 1 and "holds Matterport3D files" in problems[0].message
    problems, _ = check_dataset(mp / "data", "matterport")
    assert "pass the dataset root, not its data/ folder" in problems[0].message
    with pytest.raises(DataError, match="set dataset.name: front3d"):
        build_dataset(_opts(front))
    with pytest.raises(DataError, match="set dataset.name: matterport"):
        build_dataset(_opts(mp, name="front3d", frustum_mask_path="meta/frustum_mask.npz"))[0]


def test_front3d_layout_mistake_is_explained(front, tmp_path):
    root = _copy(front, tmp_path)
    row = _row(root)
    seg = root / "data" / row["scene_id"] / f"segmap_{row['image_id']}.mapped.npz"
    np.savez(seg, data=np.zeros((SIZE[1], SIZE[0]), np.int32))  # semantic only, no instance channel
    problems, _ = check_dataset(root, "front3d", downsample_factor=1)
    assert {(p.where, p.message) for p in problems} == {(str(seg), f"expected (H, W, 2) semantic/instance, got "
                                                                   f"({SIZE[1]}, {SIZE[0]})")}
    with pytest.raises(DataError, match=r"segmap_.*expected \(H, W, 2\) semantic/instance"):
        build_dataset(_opts(root, name="front3d", downsample_factor=1))[0]


def test_missing_geometry_mask_falls_back_to_meta_frustum(mp, tmp_path):
    root = _copy(mp, tmp_path)
    files = matterport_files(root, _row(root))
    with np.load(files.geometry) as npz:
        df = npz["data"]
    np.savez(files.geometry, data=df)  # no `mask`
    global_mask = np.load(root / "meta" / "frustum_mask.npz")["mask"]
    s = build_dataset(_opts(root))[0]
    assert np.array_equal(s["frustum_mask"].numpy(), global_mask)
    (root / "meta" / "frustum_mask.npz").unlink()
    problems, _ = check_dataset(root, "matterport", downsample_factor=2)
    assert any(p.where == str(files.geometry) and "no `mask` array" in p.message for p in problems)
    with pytest.raises(DataError, match="no `mask` array"):
        build_dataset(_opts(root))[0]
