"""The BackProjection cache of the lifter: bitwise the uncached map, no stale hit when K or the mask changes,
bounded by entries and bytes, and the lifter's voxels unchanged by it."""

from __future__ import annotations

import pytest
import torch

from nvpanoptix3d.geometry import FRONT3D_INTRINSIC, FrustumGrid, scale_intrinsic
from nvpanoptix3d.network.frustum3d.back_projection import BackProjection
from nvpanoptix3d.network.frustum3d.back_projection_cache import CachedBackProjection

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/network/conftest.py

D, VOXEL, SIZE = 32, 0.2, (40, 30)  # grid, metres per voxel, (W, H) of the depth map
SHAPE = (SIZE[1], SIZE[0])


def _camera(scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(K (4, 4) float32 for SIZE, frustum mask (D, D, D) bool); ``scale`` multiplies the focal lengths."""
    k = torch.from_numpy(scale_intrinsic(FRONT3D_INTRINSIC, (320, 240), SIZE)).float()
    k[0, 0] *= scale
    k[1, 1] *= scale
    return k, torch.from_numpy(FrustumGrid.cube(D, VOXEL).frustum_mask(k.numpy(), SIZE))


def _bp() -> BackProjection:
    return BackProjection(grid_dims=D, voxel_size=VOXEL, depth_min=0.4, depth_max=6.0, depth_size=SHAPE)


def _same(a: tuple[torch.Tensor, torch.Tensor], b: tuple[torch.Tensor, torch.Tensor]) -> bool:
    """Bitwise equal (NaN where NaN, the same bits elsewhere)."""
    return all(x.dtype == y.dtype and x.shape == y.shape and torch.equal(x.view(torch.uint8) if x.dtype == torch.bool
               else x.contiguous().view(torch.int32), y.view(torch.uint8) if y.dtype == torch.bool
               else y.contiguous().view(torch.int32)) for x, y in zip(a, b))


def test_cached_batches_are_bitwise_the_uncached_ones_and_the_second_batch_hits():
    (k1, m1), (k2, m2) = _camera(), _camera(1.3)
    ks, masks = torch.stack([k1, k2, k1]), torch.stack([m1, m2, m1])
    bp = _bp()
    cache = CachedBackProjection(bp)
    reference = bp(ks, masks, image_shape=SHAPE)
    assert int(reference[0].sum()) > 100 and (reference[1][..., 0] == 2).any()  # item 2 has projected voxels
    assert _same(cache(ks, masks, image_shape=SHAPE), reference)
    assert (cache.misses, cache.hits, len(cache)) == (2, 1, 2)  # item 2 = item 0's camera
    assert _same(cache(ks, masks, image_shape=SHAPE), reference)
    assert (cache.misses, cache.hits) == (2, 4)
    one = cache(ks[2:], masks[2:], image_shape=SHAPE)  # one image: the entry itself (item 0's batch index)
    assert _same(one, bp(ks[2:], masks[2:], image_shape=SHAPE))
    off = CachedBackProjection(bp, max_entries=0)
    assert _same(off(ks, masks, image_shape=SHAPE), reference) and len(off) == 0


def test_a_changed_intrinsic_or_mask_or_bound_is_a_miss_never_a_stale_hit():
    k, m = _camera()
    bp = _bp()
    cache = CachedBackProjection(bp, max_entries=8)
    cache(k[None], m[None], image_shape=SHAPE)
    nudged = k.clone()
    nudged[0, 2] = torch.nextafter(nudged[0, 2], torch.tensor(1e9))  # one ulp of the principal point
    one_voxel = m.clone()
    x, y, z = (int(i) for i in m.nonzero()[len(m.nonzero()) // 2])
    one_voxel[x, y, z] = False
    for kk, mm, shape in ((nudged, m, SHAPE), (k, one_voxel, SHAPE), (k, m, (SHAPE[0] - 1, SHAPE[1]))):
        before = cache.misses
        got = cache(kk[None], mm[None], image_shape=shape)
        assert cache.misses == before + 1
        assert _same(got, bp(kk[None], mm[None], image_shape=shape))
    assert not _same(cache(k[None], one_voxel[None], image_shape=SHAPE), cache(k[None], m[None], image_shape=SHAPE))


def test_memory_is_bounded_by_entries_and_bytes_least_recently_used_first():
    cams = [_camera(1.0 + 0.1 * i) for i in range(4)]
    bp = _bp()
    cache = CachedBackProjection(bp, max_entries=2)
    for k, m in cams[:3]:
        cache(k[None], m[None], image_shape=SHAPE)
    assert len(cache) == 2 and cache.nbytes == 2 * D ** 3 * (1 + 1 + 5 * 4)  # mask, kept, mapping float32
    k0, m0 = cams[0]
    cache(k0[None], m0[None], image_shape=SHAPE)  # evicted: computed again
    assert cache.misses == 4 and cache.hits == 0
    k2, m2 = cams[2]
    cache(k2[None], m2[None], image_shape=SHAPE)  # still held (camera 1 was the oldest)
    assert cache.hits == 1
    small = CachedBackProjection(bp, max_bytes=D ** 3 * 10)  # one entry is 22 bytes a voxel: not stored
    small(k0[None], m0[None], image_shape=SHAPE)
    assert len(small) == 0 and small.nbytes == 0


def test_the_lifter_gives_the_same_voxels_with_and_without_its_cache():
    from nvpanoptix3d.network.frustum3d.lifter import FrustumLifter  # noqa: PLC0415

    g = torch.Generator().manual_seed(0)
    (k, m), w, h = _camera(), 80, 60
    k_image = torch.from_numpy(scale_intrinsic(k.double().numpy(), SIZE, (w, h))).float()
    out2d = {"pred_logits": torch.randn(2, 4, 13, generator=g) * 3,
             "pred_masks": torch.randn(2, 4, h // 2, w // 2, generator=g) * 3,
             "pred_depth_half": 1.0 + 4.0 * torch.rand(2, 1, h // 2, w // 2, generator=g),
             "pred_mp_occ": torch.randn(2, 4, SHAPE[0], SHAPE[1], generator=g)}
    encoder = torch.randn(2, 8, h // 4, w // 4, generator=g)
    args = (out2d, encoder, torch.stack([k_image, k_image]), torch.stack([m, m]), (w, h))
    outs = []
    for entries in (0, 4):
        lifter = FrustumLifter(grid_dims=D, voxel_size=VOXEL, reduced_size=SIZE, object_mask_threshold=0.0,
                               back_projection_cache=entries).eval()
        with torch.no_grad():
            outs += [lifter(*args) for _ in range(2)]
        if entries:
            assert (lifter.cached_back_projection.misses, lifter.cached_back_projection.hits) == (1, 3)
    assert outs[0].coords.shape[0] > 100
    for x in outs[1:]:
        assert torch.equal(x.coords, outs[0].coords) and torch.equal(x.feats, outs[0].feats)
