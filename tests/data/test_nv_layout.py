"""Our data is NVIDIA-readable and theirs is ours.

``nv_front3d`` / ``nv_matterport`` below are loaders written only from the published layout facts
(shared/reference/model_facts.md, docs/data-format.md: file names, npz keys, the EXR depth, NVIDIA's axis
flips of the 3D-FRONT volumes, Matterport's uint16 depth and per-image cameras), without our data code.
They read what `dataset synth` writes; the depth they read, lifted with the documented camera and grid,
must land on the surfaces of the distance field they read, which only holds when every file, axis and
flip is right. Then the checker on NVIDIA-layout data: exit 0, and exit 2 naming each problem.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import OpenEXR
import pytest
from PIL import Image

from nvpanoptix3d.data.synth import generate

SIZE, GRID, VOXEL = (80, 60), 32, 0.18


def _exr(path: Path) -> np.ndarray:
    with OpenEXR.File(str(path)) as f:
        (pixels,) = [ch.pixels for ch in f.channels().values()]
    return np.squeeze(pixels)


def nv_front3d(root: Path, row: dict) -> dict:
    scene, i = root / "data" / row["scene_id"], row["image_id"]
    seg3 = np.flip(np.load(scene / f"segmentation_{i}.mapped.npz")["data"], axis=(1, 2))  # NVIDIA flips [1, 2]
    if seg3.shape[0] == 2:
        seg3 = np.moveaxis(seg3, 0, -1)
    return {
        "rgb": np.asarray(Image.open(row.get("file_name") or scene / f"rgb_{i}.png").convert("RGB")),
        "depth": _exr(scene / f"depth_{i}.exr"),
        "segmap": np.load(scene / f"segmap_{i}.mapped.npz")["data"],
        "geometry": np.flip(np.load(scene / f"geometry_{i}.npz")["data"], axis=(0, 1)),
        "semantic3d": seg3[..., 0], "instance3d": seg3[..., 1],
        "weighting": np.flip(np.load(scene / f"weighting_{i}.npz")["data"], axis=(0, 1)),
        "frustum": np.flip(np.load(root / "meta" / "frustum_mask.npz")["mask"].astype(bool), axis=(0, 1)),
        "intrinsic": _front3d_camera(row["width"], row["height"]),
    }


def _front3d_camera(w: int, h: int) -> np.ndarray:
    """The fixed 3D-FRONT camera (fx = fy = 277.1281435, cx 159.5, cy 119.5 at 320x240), rescaled."""
    return np.array([[277.1281435 * w / 320, 0, 159.5 * (w - 1) / 319],
                     [0, 277.1281435 * h / 240, 119.5 * (h - 1) / 239], [0, 0, 1]])


def nv_matterport(root: Path, row: dict) -> dict:
    name, angle, rot = row["image_id"].rsplit("_", 2)
    sid = row["scene_id"]
    scene = root / "data" / sid
    geometry = np.load(scene / f"{name}_geometry{angle}_{rot}.npz")
    seg3 = np.load(scene / f"{name}_segmentation{angle}_{rot}.mapped.npz")["data"]
    if seg3.shape[0] == 2:
        seg3 = np.moveaxis(seg3, 0, -1)
    depth_png = np.asarray(Image.open(root / "depth_gen" / sid / f"{name}_d{angle}_{rot}.png"))
    return {
        "rgb": np.asarray(Image.open(scene / f"{name}_i{angle}_{rot}.jpg").convert("RGB")),
        "depth": depth_png.astype(np.float64) / 4000.0, "depth_dtype": depth_png.dtype,
        "room_mask": np.asarray(Image.open(root / "room_mask" / sid / f"{name}_rm{angle}_{rot}.png")),
        "segmap": np.load(scene / f"{name}_segmap{angle}_{rot}.mapped.npz")["data"],
        "geometry": geometry["data"], "frustum": ~geometry["mask"].astype(bool),
        "semantic3d": seg3[..., 0], "instance3d": seg3[..., 1],
        "weighting": np.load(scene / f"{name}_weighting{angle}_{rot}.npz")["data"],
        "intrinsic": np.load(scene / f"{name}_intrinsics_{angle}.npy").reshape(4, 4)[:3, :3],
    }


def _nv_grid_origin(k: np.ndarray, size: tuple[int, int], voxel: float, grid: int, dmin: float,
                    dmax: float) -> np.ndarray:
    """Corner of voxel 0 in NVIDIA's placement (docs/data-format.md): K rescaled to the reduced size (here the
    synth's network size), frustum corners (0,0), (0,H), (W,H), (W,0) at dmin and dmax unprojected, low =
    min / voxel, extent = ceil(max / voxel - low), pad = (D - extent) / 2, origin = (low - pad - 0.5) * voxel."""
    (w0, h0), (w, h) = size, SIZE
    fx, fy = k[0, 0] * w / w0, k[1, 1] * h / h0
    cx, cy = k[0, 2] * (w - 1) / (w0 - 1), k[1, 2] * (h - 1) / (h0 - 1)
    corners = np.array([[(x - cx) * z / fx, (y - cy) * z / fy, z]
                        for z in (dmin, dmax) for x in (0, w) for y in (0, h)])
    low, high = corners.min(0) / voxel, corners.max(0) / voxel
    pad = (grid - np.ceil(high - low)) / 2
    return (low - pad - 0.5) * voxel


def _surface_hits(sample: dict, voxel: float, grid: int, dmin: float = 0.4,
                  dmax: float = 6.0) -> tuple[np.ndarray, np.ndarray]:
    """|distance field| and frustum flag at the voxels the valid depth pixels land in (documented camera, grid)."""
    k, depth = sample["intrinsic"], sample["depth"]
    v, u = np.nonzero(depth > 0)
    d = depth[v, u]
    pts = np.stack([(u - k[0, 2]) * d / k[0, 0], (v - k[1, 2]) * d / k[1, 1], d], axis=1)
    origin = _nv_grid_origin(k, (depth.shape[1], depth.shape[0]), voxel, grid, dmin, dmax)
    idx = np.floor((pts - origin) / voxel).astype(int)
    inside = np.all((idx >= 0) & (idx < grid), axis=1)
    i, j, k = idx[inside].T
    return np.abs(sample["geometry"][i, j, k]), sample["frustum"][i, j, k]


@pytest.fixture(scope="module")
def front3d(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("nvlayout") / "front3d"
    generate(root, scenes=3, seed=1, size=SIZE, grid=GRID, voxel_size=VOXEL)
    return root


@pytest.fixture(scope="module")
def matterport(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("nvlayout") / "matterport"
    generate(root, scenes=2, seed=1, fmt="matterport", size=SIZE, grid=GRID, voxel_size=VOXEL)
    return root


def test_synth_front3d_is_readable_from_nvidias_layout_facts(front3d):
    rows = json.loads((front3d / "meta" / "train.json").read_text())
    assert rows and all(set(r) == {"scene_id", "image_id", "height", "width"} for r in rows)
    for row in rows:
        s = nv_front3d(front3d, row)
        h, w = row["height"], row["width"]
        assert s["rgb"].shape == (h, w, 3) and s["rgb"].dtype == np.uint8
        assert s["depth"].shape == (h, w) and s["depth"].dtype == np.float32 and (s["depth"] > 0).mean() > 0.5
        assert s["segmap"].shape == (h, w, 2)
        assert s["geometry"].shape == s["frustum"].shape == s["weighting"].shape == (GRID,) * 3
        assert s["semantic3d"].shape == (GRID,) * 3
        hits, in_frustum = _surface_hits(s, VOXEL, GRID)
        assert hits.size > 100 and np.median(hits) < 1.0, np.median(hits)  # right files, axes and flips
        assert in_frustum.mean() > 0.95                                     # the (flipped) frustum mask too
        things_2d = set(np.unique(s["segmap"][..., 1])) - {0}
        assert things_2d <= set(np.unique(s["instance3d"]))   # 2D and 3D instance ids agree


def test_synth_front3d_depth_is_a_single_channel_float_exr(front3d):
    row = json.loads((front3d / "meta" / "train.json").read_text())[0]
    with OpenEXR.File(str(front3d / "data" / row["scene_id"] / f"depth_{row['image_id']}.exr")) as f:
        channels = {name: ch.pixels for name, ch in f.channels().items()}
    assert list(channels) == ["Y"] and channels["Y"].dtype == np.float32


def test_synth_matterport_is_readable_from_nvidias_layout_facts(matterport):
    rows = json.loads((matterport / "meta" / "train.json").read_text())
    for row in rows:
        s = nv_matterport(matterport, row)
        h, w = row["height"], row["width"]
        assert s["rgb"].shape == (h, w, 3) and s["depth"].shape == (h, w) and s["depth_dtype"] == np.uint16
        assert s["room_mask"].shape == (h, w) and s["segmap"].shape == (h, w, 2)
        hits, in_frustum = _surface_hits(s, VOXEL, GRID)
        assert hits.size > 100 and np.median(hits) < 1.0, np.median(hits)  # no flip for Matterport
        assert in_frustum.mean() > 0.93  # NVIDIA's frustum: voxel centres at u, v >= 0 (edge pixels half out)


def _check(*args: str, subprocess_run: bool = False) -> subprocess.CompletedProcess:
    """The checker's exit code and output (in-process unless ``subprocess_run``: the real CLI)."""
    if subprocess_run:
        return subprocess.run([sys.executable, "-m", "nvpanoptix3d.data.check", *args], capture_output=True,
                              text=True, timeout=120)
    import contextlib
    import io

    from nvpanoptix3d.data.check import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_checker_passes_nvidia_layout_with_exr_depth_and_names_each_problem(front3d, tmp_path):
    ok = _check(str(front3d), "--grid", str(GRID), "--json")
    assert ok.returncode == 0, ok.stdout
    assert json.loads(ok.stdout)["ok"] is True
    bad = _copy(front3d, tmp_path / "bad")
    (bad / "meta" / "val.json").write_bytes(bytes(range(256)))    # binary
    (bad / "meta" / "test.json").write_text("")                   # empty
    row = json.loads((bad / "meta" / "train.json").read_text())[0]
    (bad / "data" / row["scene_id"] / f"depth_{row['image_id']}.exr").write_bytes(b"not an exr")
    res = _check(str(bad), "--grid", str(GRID), "--json", subprocess_run=True)
    assert res.returncode == 2 and "Traceback" not in res.stderr + res.stdout
    where = {p["where"]: p["message"] for p in json.loads(res.stdout)["problems"]}
    assert "not UTF-8" in where[str(bad / "meta" / "val.json")]
    assert "is empty" in where[str(bad / "meta" / "test.json")]
    assert any(k.endswith(f"depth_{row['image_id']}.exr") and "OpenEXR" in v for k, v in where.items())


def test_checker_reads_split_files_from_split_flag_and_spec_and_honours_file_name(front3d, tmp_path):
    data = _copy(front3d, tmp_path / "d")
    rows = json.loads((data / "meta" / "train.json").read_text())
    moved = tmp_path / "images" / "frame.png"
    moved.parent.mkdir()
    (data / "data" / rows[0]["scene_id"] / f"rgb_{rows[0]['image_id']}.png").rename(moved)
    rows[0]["file_name"] = str(moved)
    for name in ("train", "val", "test"):
        (data / "meta" / f"{name}.json").rename(data / "meta" / f"{name}_3d.json")
    (data / "meta" / "train_3d.json").write_text(json.dumps(rows))
    assert _check(str(data), "--grid", str(GRID)).returncode == 0          # meta/*_3d.json found by themselves
    assert _check(str(data), "--split", "meta/train_3d.json").returncode == 0
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"dataset:\n  name: front3d\n  train: {{base_dir: {data}, json_path: meta/train_3d.json}}\n"
                    "  val: {json_path: meta/val_3d.json}\nmodel: {frustum3d: {grid_dimensions: 32}}\n")
    res = _check("--spec", str(spec), "--json")
    assert res.returncode == 0, res.stdout
    assert set(json.loads(res.stdout)["splits"]) == {str(data / "meta" / "train_3d.json"),
                                                     str(data / "meta" / "val_3d.json")}
    rows[0]["file_name"] = str(tmp_path / "nowhere.png")
    (data / "meta" / "train_3d.json").write_text(json.dumps(rows))
    res = _check(str(data), "--split", "meta/train_3d.json")
    assert res.returncode == 2 and str(tmp_path / "nowhere.png") in res.stdout


def test_uint8_frustum_masks_are_accepted(front3d, tmp_path):
    from nvpanoptix3d.data.front3d import load_frustum_mask

    data = _copy(front3d, tmp_path / "d")
    path = data / "meta" / "frustum_mask.npz"
    mask = np.load(path)["mask"]
    np.savez(path, mask=mask.astype(np.uint8))
    assert _check(str(data), "--grid", str(GRID)).returncode == 0
    assert np.array_equal(load_frustum_mask(path, GRID), np.flip(mask, axis=(0, 1)))
    np.savez(path, mask=(mask.astype(np.uint8) * 7))
    res = _check(str(data), "--grid", str(GRID))
    assert res.returncode == 2 and "bool or 0/1" in res.stdout


def test_pyexr_style_rgb_depth_is_read_and_a_missing_one_is_named(tmp_path):
    from nvpanoptix3d.data.categories import DataError
    from nvpanoptix3d.data.front3d import read_depth

    depth = np.linspace(0.5, 5.0, 12, dtype=np.float32).reshape(3, 4)
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, {"R": depth, "G": depth, "B": depth}) as f:
        f.write(str(tmp_path / "depth_0000.exr"))
    assert np.array_equal(read_depth(tmp_path / "depth_0000.exr"), depth)
    with pytest.raises(DataError, match="depth_0001.exr"):
        read_depth(tmp_path / "depth_0001.exr")


def test_nvidia_layout_with_exr_depth_trains_the_tiny_preset_for_one_epoch(front3d, tmp_path):
    import yaml

    from nvpanoptix3d.entrypoint import main as entrypoint

    split = lambda n: {"base_dir": str(front3d), "json_path": str(front3d / "meta" / f"{n}.json"),  # noqa: E731
                       "batch_size": 1, "num_workers": 0}
    spec = {
        "results_dir": str(tmp_path / "results"),
        "model": {"backbone": {"preset": "tiny"},
                  "sem_seg_head": {"convs_dim": 32, "mask_dim": 32, "depth_dim": 32, "transformer_enc_layers": 1},
                  "mask_former": {"num_object_queries": 6, "hidden_dim": 32, "nheads": 2, "dim_feedforward": 32,
                                  "transformer_dim_feedforward": 32, "dec_layers": 1, "train_num_points": 128,
                                  "size_divisibility": -1},
                  "frustum3d": {"backend": "dense", "grid_dimensions": GRID, "frustum_dims": GRID},
                  "projection": {"voxel_size": VOXEL, "depth_feature_dim": 8, "depth_bins": 8}},
        "dataset": {"name": "front3d", "contiguous_id": True, "target_size": list(SIZE),
                    "reduced_target_size": [SIZE[0] // 2, SIZE[1] // 2], "depth_size": [SIZE[1], SIZE[0]],
                    "min_instance_pixels": 5, "label_map": str(front3d / "meta" / "colormap.json"),
                    "frustum_mask_path": str(front3d / "meta" / "frustum_mask.npz"),
                    "train": split("train"), "val": split("val"), "test": split("test")},
        "train": {"num_epochs": 1, "activation_checkpoint": False},
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert entrypoint(["train", "-e", str(path)]) == 0
    status = (tmp_path / "results" / "status.json").read_text()
    assert '"epoch": 1' in status or '"epoch": 0' in status
