"""One voxel grid convention: our data, targets, masks and meshes sit exactly where NVIDIA's lifting puts the image.

NVIDIA's ``BackProjection`` (parity-tested against NVIDIA's code) samples voxel ``v`` at a camera point and the
occupancy-aware lifting stores it at grid voxel ``v - 1``. Our ``FrustumGrid`` must put that point (and any
point within half a voxel of it) into that voxel, at the demo's and at NVIDIA's grid sizes.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nvpanoptix3d.data.targets import multiplane_occupancy
from nvpanoptix3d.engine.outputs import mesh_from_volume
from nvpanoptix3d.geometry import FRONT3D_INTRINSIC, FrustumGrid, scale_intrinsic
from nvpanoptix3d.network.frustum3d.back_projection import BackProjection


def _offsets_module():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "grid_offsets.py"
    spec = importlib.util.spec_from_file_location("grid_offsets", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _grid(d: int, s: float, size=(160, 120), reduced=(160, 120)) -> FrustumGrid:
    return FrustumGrid.cube(d, s, reduced_size=reduced).with_camera(
        scale_intrinsic(FRONT3D_INTRINSIC, (320, 240), size), size)


@pytest.mark.parametrize("jitter", [0.0, 0.45])
def test_demo_grid_agrees_with_nvidias_lifting_voxel_for_voxel(jitter):
    report = _offsets_module().offsets(_grid(32, 0.18), jitter=jitter)
    assert report["points"] > 5000
    assert report["exact"] == 1.0 and report["min"] == report["max"] == [0, 0, 0], report


@pytest.mark.parametrize(("d", "s", "size", "reduced"), [
    (256, 0.03, (320, 240), (160, 120)),   # NVIDIA's 3D-FRONT setup (odd box extent in x and z: pad x.5)
    (64, 0.09, (96, 72), (48, 36)),
    (32, 0.18, (160, 120), (80, 60)),
])
def test_nvidias_voxel_samples_land_in_the_lifted_voxel(d, s, size, reduced):
    """NVIDIA's voxel -> camera formula (BackProjection's own frustum box), on random voxels of any grid size."""
    grid = _grid(d, s, size, reduced)
    k = grid.reduced_intrinsic()
    bp = BackProjection(grid_dims=d, voxel_size=s, depth_min=0.4, depth_max=6.0, depth_size=(reduced[1], reduced[0]))
    camera_to_frustum, pad = bp._frustum(k)
    v = torch.from_numpy(np.random.default_rng(0).integers(1, d, (4000, 3))).float()
    frustum_xyz = v - pad - 1.0
    cam = (torch.inverse(camera_to_frustum) @ torch.cat([frustum_xyz, torch.ones(len(v), 1)], 1).T).T[:, :3]
    jitter = np.random.default_rng(1).uniform(-0.49, 0.49, (len(v), 3)) * s
    for pts in (cam.double().numpy(), cam.double().numpy() + jitter):
        idx, inside = grid.voxel_index(pts)
        assert inside.all() and np.array_equal(idx, v.long().numpy() - 1)


def test_frustum_mask_is_back_projections_kept_set_at_grid_indices():
    grid = _grid(32, 0.18)
    rw, rh = grid.reduced_size
    bp = BackProjection(grid_dims=32, voxel_size=0.18, depth_min=0.4, depth_max=6.0, depth_size=(rh, rw))
    kept = bp(grid.reduced_intrinsic()[None])[0][0].numpy()
    mask = grid.frustum_mask()
    assert mask.sum() > 1000 and np.array_equal(mask[:-1, :-1, :-1], kept[1:, 1:, 1:])
    assert not mask[-1].any() and not mask[:, -1].any() and not mask[:, :, -1].any()
    # the same grid placed through frustum_mask's camera arguments (K at another image size)
    k320 = scale_intrinsic(FRONT3D_INTRINSIC, (320, 240), (320, 240))
    assert np.array_equal(FrustumGrid.cube(32, 0.18).frustum_mask(k320, (320, 240)),
                          FrustumGrid.cube(32, 0.18, intrinsic=k320, image_size=(320, 240)).frustum_mask())
    # every voxel centre projects inside the reduced image, within the depth range
    c = grid.voxel_centers()[mask]
    uvz = grid.project(c, grid.reduced_intrinsic().double().numpy())
    assert (uvz[:, 0] >= 0).all() and (uvz[:, 0] < rw).all() and (uvz[:, 1] >= 0).all() and (uvz[:, 1] < rh).all()
    assert (uvz[:, 2] >= 0.4).all() and (uvz[:, 2] <= 6.0).all()


def test_placement_depends_on_the_camera():
    a = _grid(32, 0.18)
    wide = scale_intrinsic(FRONT3D_INTRINSIC, (320, 240), (160, 120))
    wide[0, 0] *= 0.8
    b = a.with_camera(wide, (160, 120))
    assert not np.allclose(a.origin, b.origin) and hash(a) != hash(b)
    assert a == _grid(32, 0.18)  # a value: equal cameras give equal (and equally placed) grids


def test_multiplane_target_reads_the_lifted_voxel_at_its_pixel_and_plane():
    """One near-surface voxel: its target cell is where the lifting reads the prediction for that voxel."""
    grid = _grid(32, 0.18)
    rw, rh = grid.reduced_size
    bins, dmax = 32, 6.0
    bp = BackProjection(grid_dims=32, voxel_size=0.18, depth_min=0.4, depth_max=dmax, depth_size=(rh, rw))
    kept, mapping = bp(grid.reduced_intrinsic()[None])
    v = (17, 12, 20)
    assert bool(kept[0, v[0], v[1], v[2]])
    _b, u, vv, _z, z = mapping[0, v[0], v[1], v[2]].tolist()
    tudf = np.full((32,) * 3, 12.0, np.float32)
    tudf[v[0] - 1, v[1] - 1, v[2] - 1] = 0.0  # grid voxel v - 1 holds what BackProjection samples at v
    occ = multiplane_occupancy(tudf < 1.0, grid, np.ones((32,) * 3, bool), grid.reduced_intrinsic().numpy(),
                               (rw, rh), bins, dmax, rule="surface")
    plane = int(z * bins / dmax)
    assert occ[plane, int(vv), int(u)] == 1.0
    b, y, x = np.nonzero(occ)  # the 3x3x3 dilation around that one cell, nothing else
    assert (np.abs(b - plane) <= 1).all() and (np.abs(y - int(vv)) <= 1).all() and (np.abs(x - int(u)) <= 1).all()


def test_mesh_vertices_are_nvidias_voxel_centres_in_metres():
    """A sphere of radius 3 voxels around grid voxel c: its mesh is centred on the point NVIDIA samples for c."""
    grid = _grid(32, 0.18)
    c = np.array([15, 14, 12])
    idx = np.stack(np.meshgrid(*[np.arange(32)] * 3, indexing="ij"), -1)
    dist = np.abs(np.linalg.norm(idx - c, axis=-1) - 3.0).astype(np.float32)
    verts, _faces, _colors = mesh_from_volume(dist, np.ones((32,) * 3, np.int32), {1: np.array([9, 9, 9], np.uint8)},
                                              iso_value=0.5, grid=grid)
    camera_to_frustum, pad = BackProjection(grid_dims=32, voxel_size=0.18, depth_size=(120, 160))._frustum(
        grid.reduced_intrinsic())
    v = torch.tensor([*(c + 1 - pad.numpy() - 1), 1.0], dtype=torch.float32)  # BackProjection voxel c + 1
    sample = (torch.inverse(camera_to_frustum) @ v)[:3].double().numpy()
    assert np.allclose(verts.mean(0), sample, atol=0.02 * 0.18)
    assert np.allclose(np.linalg.norm(verts - sample, axis=1).mean(), 3 * 0.18, rtol=0.05)


@pytest.mark.slow
def test_nvidia_size_full_grid_and_published_mask_extents():
    """256^3 / 3 cm: exact agreement on every kept voxel, and the depth slices of NVIDIA's 3D-FRONT mask."""
    grid = _grid(256, 0.03, (320, 240), (160, 120))
    assert _offsets_module().offsets(grid, max_points=10 ** 7, jitter=0.45)["exact"] == 1.0
    nz = np.nonzero(grid.frustum_mask())
    # meta/frustum_mask.npz of 3D-FRONT (Uni-3D), flipped on axes 0, 1 as NVIDIA's loader does: y 42..214, z 35..221
    assert (nz[1].min(), nz[1].max(), nz[2].min(), nz[2].max()) == (42, 214, 35, 221)
