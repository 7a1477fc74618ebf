"""NVIDIA's OccupancyAwareLifting (``ol``, no parameters): fixture parity, the stuff-profile fill, a dense
re-statement on a scene with stuff-free rows/columns, batching, empty images, gradients."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nvpanoptix3d.network.frustum3d.occupancy_lifting import OccupancyAwareLifting, fill_profile_zeros
from tests.network.parity.fixtures import assert_matches, load_fixture
from tests.network.parity.module_checks import nv_shapes


def _run(module, i, **over):
    args = {k: over.get(k, i[k]) for k in ("depth", "sem_seg", "occupancy2d", "kept", "mapping")}
    return module(args["depth"], args["sem_seg"], args["occupancy2d"], args["kept"], args["mapping"])


def _outputs(rows):
    return {"feat3d.coords": rows.coords, "feat3d.features": rows.feats,
            "feat3d.tensor_stride": torch.tensor([rows.stride] * 3)}


def test_fixture_parity():
    fx = load_fixture("lifting")
    module = OccupancyAwareLifting(depth_max=fx.config["cfg_overrides"]["dataset.depth_max"]).eval()
    with torch.no_grad():
        rows = _run(module, fx.inputs)
    errors = assert_matches(fx, _outputs(rows))
    assert errors["feat3d.features"] <= 1e-6, errors
    assert torch.unique(rows.coords, dim=0).shape[0] == 1102  # duplicated padding coordinates, as NVIDIA
    assert module.state_dict() == {} and nv_shapes("3d", "ol.") == {}


def _naive_fill(values):
    out = list(values)
    for i in [j for j, v in enumerate(values) if v == 0]:
        left = [v for v in out[:i] if v != 0]
        right = [v for v in out[i + 1:] if v != 0]
        out[i] = max(min(left) if left else 0, min(right) if right else 0)
    return out


def test_fill_profile_zeros():
    g = torch.Generator().manual_seed(0)
    for _ in range(50):
        v = torch.rand(17, generator=g) * 6
        v[torch.rand(17, generator=g) < 0.5] = 0
        vals = v.tolist()
        assert fill_profile_zeros(vals) == _naive_fill(vals)
    assert fill_profile_zeros([0.0, 0.0]) == [0.0, 0.0]
    assert fill_profile_zeros([0.0, 3.0, 0.0, 2.0, 0.0]) == [2.0, 3.0, 2.0, 2.0, 2.0]


def _dense_reference(depth, sem, occ, kept, mapping, depth_max=6.0):
    """The README's description as full (B, bins, H, W) tensors, then voxel lookups (B = 1)."""
    nb = occ.shape[1]
    depth = torch.where(depth > depth_max, torch.full_like(depth, depth_max), depth)
    s = (depth / depth_max * nb).long()
    stuff = (-F.max_pool2d(-(sem.argmax(1) >= 10).float(), 5, 1, 2)).bool()
    sd = depth * stuff
    cols = torch.tensor(_naive_fill(sd.amax(1)[0].tolist()))
    rows = torch.tensor(_naive_fill(sd.amax(2)[0].tolist()))
    far = (torch.minimum(cols[None, :], rows[:, None]) / depth_max * nb).long()[None]
    k = torch.arange(nb)[None, :, None, None]
    keep = (k > s[:, None] - 3) & (k < far[:, None] + 5)
    dist = (k - s[:, None]) / float(nb) * depth_max
    vol = torch.cat([sem[:, :, None].expand(-1, -1, nb, -1, -1), (occ.sigmoid() * keep)[:, None],
                     dist.sign()[:, None].expand(1, 1, nb, *depth.shape[1:]),
                     dist.abs()[:, None].expand(1, 1, nb, *depth.shape[1:])], 1)
    m = mapping[kept]
    kb = (m[:, 4] * nb / 6).long()
    lifted = kept.clone()
    lifted[kept] = keep[0, kb, m[:, 2].long(), m[:, 1].long()]
    m = mapping[lifted]
    fb = (m[:, 4] * nb / depth_max).long()
    feats = vol[0][:, fb, m[:, 2].long(), m[:, 1].long()].T
    pad = F.max_pool3d(lifted.float(), 5, 1, 2).bool() & kept & ~lifted
    pc = pad.nonzero()
    pc[:, 1:] = pc[:, 1:] // 2 * 2
    coords = torch.cat([lifted.nonzero(), pc])
    coords[:, 1:] -= 1
    feats = torch.cat([feats, torch.zeros(len(pc), feats.shape[1])])
    ok = ((coords[:, 1:] >= 0) & (coords[:, 1:] < 255)).all(1)
    return coords[ok], feats[ok]


def test_stuff_free_rows_and_columns_match_dense_reference():
    fx = load_fixture("lifting")
    i = fx.inputs
    sem = i["sem_seg"].clone()
    sem[:, 10:, :, 8:14] = 0  # no stuff in some columns ...
    sem[:, 10:, 15:19, :] = 0  # ... and rows: zero profile entries to fill
    rows = _run(OccupancyAwareLifting(), i, sem_seg=sem)
    coords, feats = _dense_reference(i["depth"], sem, i["occupancy2d"], i["kept"], i["mapping"])
    assert torch.equal(rows.coords, coords) and torch.equal(rows.feats, feats)
    stuff = (-F.max_pool2d(-(sem.argmax(1) >= 10).float(), 5, 1, 2)) > 0
    assert ((i["depth"] * stuff).amax(1) == 0).any() and ((i["depth"] * stuff).amax(2) == 0).any()


def test_batch_empty_image_extent_and_gradients():
    fx = load_fixture("lifting")
    i = fx.inputs
    single = _run(OccupancyAwareLifting(), i)
    sem = i["sem_seg"].repeat(2, 1, 1, 1).requires_grad_(True)
    occ = i["occupancy2d"].repeat(2, 1, 1, 1).requires_grad_(True)
    kept = i["kept"].repeat(2, 1, 1, 1)
    mapping = i["mapping"].repeat(2, 1, 1, 1, 1)
    mapping[1, ..., 0] = torch.where(kept[1], 1.0, mapping[1, ..., 0])
    rows = OccupancyAwareLifting()(i["depth"].repeat(2, 1, 1), sem, occ, kept, mapping)
    n = single.coords.shape[0]
    assert torch.equal(rows.coords[:n], single.coords) and torch.equal(rows.coords[n:, 1:], single.coords[:, 1:])
    assert (rows.coords[n:, 0] == 1).all() and torch.equal(rows.feats[n:], single.feats)
    rows.feats.sum().backward()
    assert sem.grad.abs().sum() > 0 and occ.grad.abs().sum() > 0

    empty = _run(OccupancyAwareLifting(), i, kept=torch.zeros_like(i["kept"]))
    assert empty.coords.tolist() == [[0, 9, 9, 9]] and (empty.feats == 0).all()  # grid 24: centre 11 -> 10 -> 9

    small = _run(OccupancyAwareLifting(valid_extent=23), i)
    ref = single.coords[(single.coords[:, 1:] < 22).all(1)]
    assert torch.equal(small.coords, ref)
