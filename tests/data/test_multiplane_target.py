"""The multi-plane occupancy target's two rules: NVIDIA's (band of truncation_range[1], last write wins) and ours.

The reference for "nvidia" is our ``BackProjection`` (parity-tested against NVIDIA's code): its kept voxels and
their (u, v, depth) mapping, written cell by cell in its C order, as TAO 7.0.1's ``gen_occ2d_tg`` does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from nvpanoptix3d.config import ExperimentConfig
from nvpanoptix3d.data import targets
from nvpanoptix3d.data.options import DatasetOptions
from nvpanoptix3d.data.targets import multiplane_band, multiplane_occupancy
from nvpanoptix3d.geometry import FRONT3D_INTRINSIC, FrustumGrid, scale_intrinsic
from nvpanoptix3d.network.frustum3d.back_projection import BackProjection

ROOT = Path(__file__).resolve().parents[2]
D, S, BINS, DMAX = 32, 0.18, 32, 6.0


@pytest.fixture(scope="module")
def setup():
    grid = FrustumGrid.cube(D, S, reduced_size=(160, 120)).with_camera(
        scale_intrinsic(FRONT3D_INTRINSIC, (320, 240), (160, 120)), (160, 120))
    k = grid.reduced_intrinsic()
    bp = BackProjection(grid_dims=D, voxel_size=S, depth_min=0.4, depth_max=DMAX, depth_size=(120, 160))
    kept, mapping = bp(k[None])
    return grid, k.numpy(), kept[0].numpy(), mapping[0].numpy()


def _target(band, grid, k, frustum, rule):
    return multiplane_occupancy(band, grid, frustum, k, (160, 120), BINS, DMAX, rule=rule)


def _bp_cells(kept, mapping):
    """BP's kept voxels (C order) and the flat (plane, v, u) cell each one writes, as gen_occ2d_tg indexes."""
    vox = np.argwhere(kept)
    m = mapping[tuple(vox.T)]
    plane = np.floor(m[:, 4] * BINS / DMAX).astype(np.int64)
    return vox, (plane * 120 + m[:, 2].astype(np.int64)) * 160 + m[:, 1].astype(np.int64)


def test_later_voxel_outside_the_band_clears_the_cell(setup):
    """Two voxels on one cell, the later (BP order) outside the band: 0 under nvidia; surface still marks it."""
    grid, k, kept, mapping = setup
    vox, cells = _bp_cells(kept, mapping)
    uniq, counts = np.unique(cells, return_counts=True)
    cell = uniq[counts >= 2][0]
    first, later = vox[cells == cell][:2]
    frustum = np.zeros((D,) * 3, bool)
    frustum[tuple(first)] = frustum[tuple(later)] = True
    tdf = np.full((D,) * 3, 12.0, np.float32)
    tdf[tuple(first)] = 0.0  # in NVIDIA's band (read at BP index v) and on our surface
    nv = _target(multiplane_band(tdf, "nvidia", (0.0, 12.0)), grid, k, frustum, "nvidia")
    assert not nv.any()
    tdf_swapped = np.full((D,) * 3, 12.0, np.float32)
    tdf_swapped[tuple(later)] = 0.0
    nv = _target(multiplane_band(tdf_swapped, "nvidia", (0.0, 12.0)), grid, k, frustum, "nvidia")
    b, v, u = np.unravel_index(cell, (BINS, 120, 160))
    assert nv[b, v, u] == 1.0 and nv.sum() == np.count_nonzero(
        F.max_pool3d(torch.from_numpy((np.arange(BINS * 120 * 160) == cell).reshape(1, 1, BINS, 120, 160).astype(
            np.float32)), 3, 1, 1).numpy())
    ours = _target(multiplane_band(tdf, "surface", (0.0, 12.0)), grid, k, frustum, "surface")
    assert ours.max() == 1.0


@pytest.mark.parametrize("slab", [1 << 20, 1])
def test_nvidia_rule_matches_back_projection_written_in_order(setup, slab, monkeypatch):
    """A random distance field, frustum = all voxels: exactly BP's cells, each the band value of its last voxel.

    ``slab`` 1 projects one x-slice at a time: the order still holds across slabs.
    """
    monkeypatch.setattr(targets, "SLAB_VOXELS", slab)
    grid, k, kept, mapping = setup
    rng = np.random.default_rng(0)
    tdf = rng.uniform(0.0, 20.0, (D,) * 3).astype(np.float32)
    band = multiplane_band(tdf, "nvidia", (0.0, 12.0))
    vox, cells = _bp_cells(kept, mapping)
    ref = np.zeros(BINS * 120 * 160, np.float32)
    for (x, y, z), c in zip(vox.tolist(), cells.tolist()):  # plain sequential writes: the last one wins
        ref[c] = float(band[x, y, z])
    ref = F.max_pool3d(torch.from_numpy(ref.reshape(1, 1, BINS, 120, 160)), 3, 1, 1)[0, 0].numpy()
    got = _target(band, grid, k, np.ones((D,) * 3, bool), "nvidia")
    assert 0 < ref.sum() < ref.size
    np.testing.assert_array_equal(got, ref)


def test_band_is_truncation_range_max_with_nvidias_clip_at_12():
    tdf = np.array([0.0, 0.99, 1.0, 5.9, 6.0, 11.99, 12.0, 30.0], np.float32)
    assert multiplane_band(tdf, "nvidia", (0.0, 12.0)).tolist() == [1, 1, 1, 1, 1, 1, 0, 0]
    assert multiplane_band(tdf, "nvidia", (0.0, 6.0)).tolist() == [1, 1, 1, 1, 0, 0, 0, 0]
    assert multiplane_band(tdf, "nvidia", (0.0, 13.0)).all()  # |TDF| is clipped at 12 first, as in TAO
    assert multiplane_band(tdf, "surface", (0.0, 12.0)).tolist() == [1, 1, 0, 0, 0, 0, 0, 0]
    with pytest.raises(ValueError, match="multiplane_target"):
        multiplane_band(tdf, "shell", (0.0, 12.0))


def test_default_is_nvidia_and_the_demo_spec_says_surface():
    assert ExperimentConfig().dataset.multiplane_target == "nvidia"
    assert DatasetOptions().multiplane_target == "nvidia"
    demo = yaml.safe_load((ROOT / "references" / "demo_spec_tiny.yaml").read_text())
    assert demo["dataset"]["multiplane_target"] == "surface"
    spec = ExperimentConfig.model_validate({"dataset": {"multiplane_target": "surface"}})
    assert spec.dataset.multiplane_target == "surface"


def test_the_rule_reaches_the_loaded_sample(tmp_path):
    """dataset.multiplane_target flows spec -> options -> sample; NVIDIA's 12-voxel band marks far more cells."""
    from nvpanoptix3d.data import build_dataset
    from nvpanoptix3d.data.options import options_from_spec
    from nvpanoptix3d.data.synth import generate

    root = tmp_path / "ds"
    generate(root, scenes=1, seed=5, size=(96, 72), grid=D, voxel_size=S, reduced_size=(48, 36))
    occ = {}
    for rule in ("nvidia", "surface"):
        spec = ExperimentConfig.model_validate({
            "dataset": {"multiplane_target": rule, "target_size": [96, 72], "reduced_target_size": [48, 36],
                        "min_instance_pixels": 5, "train": {"base_dir": str(root), "json_path": "meta/train.json"}},
            "model": {"frustum3d": {"grid_dimensions": D, "frustum_dims": D}, "projection": {"voxel_size": S,
                                                                                          "depth_bins": 16}}})
        opt = options_from_spec(spec, "train")
        assert opt.multiplane_target == rule
        occ[rule] = build_dataset(opt)[0]["mp_occ"].numpy()
    assert occ["nvidia"].shape == occ["surface"].shape == (16, 36, 48)
    assert 0 < occ["surface"].sum() < occ["nvidia"].sum()
