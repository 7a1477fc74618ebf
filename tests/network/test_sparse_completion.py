"""Sparse 3D stage: lifting placement for a known camera, max_voxels rules, the tiny two-stage network
with the sparse backend (forward contract, backward, pruning cap) and the 3D-key rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nvpanoptix3d.geometry import FRONT3D_INTRINSIC, FrustumGrid, scale_intrinsic
from nvpanoptix3d.network import backbone_preset
from nvpanoptix3d.network.frustum3d import NVPanoptix3D, SetCriterion3D, is_3d_key, panoptic_3d
from nvpanoptix3d.network.frustum3d.lifting import FrustumLifting
from nvpanoptix3d.network.frustum3d.sparse_lifting import SparseFrustumLifting, keep_closest

SMALL = dict(conv_dim=32, mask_dim=32, depth_dim=32, enc_layers=1, nheads=4, transformer_dim_feedforward=64,
             hidden_dim=32, num_queries=8, dim_feedforward=64, dec_layers=3, depth_bins=8, reduced_size=(32, 24))
SIZE = (32, 24)
K = scale_intrinsic(FRONT3D_INTRINSIC, (320, 240), SIZE)


def _lift_inputs(depth_value: float = 3.0, grid: int = 16, voxel: float = 0.4):
    g = torch.Generator().manual_seed(0)
    frustum = torch.from_numpy(FrustumGrid.cube(grid, voxel).frustum_mask(K, SIZE))[None]
    return dict(features=torch.rand(1, 2, 24, 32, generator=g), semantic=torch.rand(1, 13, 24, 32, generator=g),
                depth=torch.full((1, 1, 24, 32), depth_value), mp_occ=torch.full((1, 8, 24, 32), -5.0),
                intrinsic=torch.from_numpy(K)[None], image_size=SIZE, frustum=frustum)


def test_sparse_lifting_places_back_projected_points_in_the_right_voxels():
    grid = FrustumGrid.cube(16, 0.4)
    lift = SparseFrustumLifting(grid_dims=16, voxel_size=0.4, depth_min=0.4, depth_max=6.0, truncation=1.0)
    inputs = _lift_inputs()
    x = lift(**inputs)
    # The surface point seen by every pixel lies in a lifted voxel (FrustumGrid's own placement) ...
    u, v = np.meshgrid(np.arange(32), np.arange(24))
    pts = np.stack([(u - K[0, 2]) * 3.0 / K[0, 0], (v - K[1, 2]) * 3.0 / K[1, 1], np.full(u.shape, 3.0)], -1)
    idx, ok = grid.voxel_index(pts.reshape(-1, 3))
    lifted = {tuple(c) for c in x.coords[:, 1:].tolist()}
    surface = {tuple(c) for c, o in zip(idx.tolist(), ok.tolist()) if o and inputs["frustum"][0][tuple(c)]}
    assert surface and surface <= lifted
    # ... every lifted voxel is within the truncation band of the depth ...
    z = grid.origin[2] + (x.coords[:, 3].numpy() + 0.5) * 0.4
    assert np.abs(z - 3.0).max() <= 1.0 * 0.4 + 0.2 + 1e-6
    # ... and carries exactly the dense lifting's features.
    dense = FrustumLifting(grid_dims=16, voxel_size=0.4, depth_min=0.4, depth_max=6.0, truncation=1.0)(**inputs)
    b, i, j, k = x.coords.unbind(1)
    assert torch.allclose(x.feats, dense.permute(0, 2, 3, 4, 1)[b, i, j, k], atol=1e-5)


def test_occupied_depth_planes_are_lifted():
    lift = SparseFrustumLifting(grid_dims=16, voxel_size=0.4, depth_min=0.4, depth_max=6.0, truncation=1.0)
    inputs = _lift_inputs()
    base = lift(**inputs).num_voxels
    inputs["mp_occ"][:, 2] = 5.0  # bin 2 of 8 over (0, 6] m: centre 1.875 m, far from the 3 m surface
    assert lift(**inputs).num_voxels > base


def test_max_voxels_keeps_the_voxels_closest_to_the_surface_deterministically():
    inputs = _lift_inputs(3.1)
    full = SparseFrustumLifting(grid_dims=16, voxel_size=0.4, depth_min=0.4, depth_max=6.0, truncation=2.0)(**inputs)
    cap = full.num_voxels // 3
    lift = SparseFrustumLifting(grid_dims=16, voxel_size=0.4, depth_min=0.4, depth_max=6.0, truncation=2.0,
                                max_voxels=cap)
    with pytest.warns(UserWarning, match="model.frustum3d.max_voxels"):
        a = lift(**inputs)
    with pytest.warns(UserWarning):
        b = lift(**inputs)
    assert a.num_voxels == cap and torch.equal(a.coords, b.coords)
    dist = full.feats[:, -1]  # |signed distance| / truncation
    kept = {tuple(c) for c in a.coords.tolist()}
    in_kept = torch.tensor([tuple(c) in kept for c in full.coords.tolist()])
    assert dist[in_kept].max() <= dist[~in_kept].min()


def test_keep_closest_breaks_ties_by_linear_index():
    dist = torch.tensor([1.0, 0.5, 0.5, 0.5, 2.0])
    keys = torch.tensor([9, 7, 3, 5, 1])
    assert keep_closest(dist, keys, 2).tolist() == [2, 3]  # keys 3 and 5, in key order


def _model(**kw):
    torch.manual_seed(0)
    return NVPanoptix3D(backbone=backbone_preset("tiny"), grid_dims=16, voxel_size=0.4, unet_features=4,
                        lift_channels=4, backend="sparse", **SMALL, **kw)


def _scene():
    size = (64, 48)
    k = torch.from_numpy(scale_intrinsic(FRONT3D_INTRINSIC, (320, 240), size))[None]
    frustum = torch.from_numpy(FrustumGrid.cube(16, 0.4).frustum_mask(k[0].numpy(), size))[None]
    occ = [torch.zeros(16, 16, 16), torch.zeros(8, 8, 8), torch.zeros(4, 4, 4)]
    occ[0][4:10, 4:10, 8] = 1
    return k, frustum, [occ]


def test_sparse_two_stage_model_forward_contract_and_backward(conv_algorithm):
    model = _model()
    k, frustum, occ = _scene()
    out = model(torch.rand(1, 3, 48, 64), k, frustum, occupancy=occ)
    assert [o.shape[-1] for o in out["pred_occupancy"]] == [4, 8, 16]
    assert out["pred_masks_3d"][-1].shape == (1, 8, 16, 16, 16) and out["pred_geometry"].shape == (1, 16, 16, 16)
    # in training every target voxel is reachable at full resolution (its ancestors were kept)
    assert (out["pred_occupancy"][-1][0][occ[0][0] > 0] > -12).all()
    batch = {"frustum_mask": frustum, "weighting": torch.ones(1, 16, 16, 16), "occupancy": occ,
             "geometry": torch.full((1, 16, 16, 16), 3.0), "gt_masks_3d": [torch.zeros(1, 16, 16, 16, dtype=torch.bool)]}
    losses = SetCriterion3D()(out, batch, [(torch.tensor([0]), torch.tensor([0]))])
    losses["loss_3d"].backward()
    comp = model.completion
    for p in (comp.enc0.layers[0].weight, comp.up0.weight, comp.occupancy_heads[0].weight, comp.query_proj[2].weight):
        assert p.grad is not None and p.grad.abs().sum() > 0
    assert all(p.grad is None for n, p in model.named_parameters() if n.startswith("backbone."))
    r = panoptic_3d({n: [t.detach() for t in v] if isinstance(v, list) and n.startswith("pred_") else v.detach()
                     for n, v in out.items() if n != "aux_outputs"}, 0, frustum=frustum[0], num_thing_classes=9,
                    object_mask_threshold=0.0, truncation=3.0)
    assert r["panoptic"].shape == (16, 16, 16)


def test_decoder_cap_bounds_the_upsampled_voxels():
    model = _model(max_voxels=64).eval()
    with torch.no_grad():
        model.completion.occupancy_heads[0].bias.fill_(10.0)  # every coarse voxel predicted occupied
        model.completion.occupancy_heads[1].bias.fill_(10.0)
    k, frustum, _ = _scene()
    with torch.no_grad(), pytest.warns(UserWarning, match="max_voxels"):
        out = model(torch.rand(1, 3, 48, 64), k, frustum)
    counts = [int((o > -12).sum()) for o in out["pred_occupancy"]]
    assert counts[1] <= 64 and counts[2] <= 64


def test_is_3d_key_uses_top_level_module_names():
    from nvpanoptix3d.engine.checkpoint_io import is_3d_param

    assert is_3d_param is is_3d_key
    assert is_3d_key("projector.weight") and is_3d_key("model.completion.enc0.layers.0.weight")
    assert is_3d_key("module.model.reprojection.x") and is_3d_key("ol.weight")
    assert not is_3d_key("sem_seg_head.depth_projector.weight")
    assert not is_3d_key("sem_seg_head.pixel_decoder.pool.weight") and not is_3d_key("backbone.completion_x")
    model = _model()
    names_2d = {n for n, _ in model.named_parameters()} - {n for n, p in model.named_parameters()
                                                           if any(p is q for q in model.parameters_2d())}
    assert names_2d and all(n.split(".")[0] in ("projector", "completion") for n in names_2d)


def test_sparse_model_trains_under_bf16_autocast(conv_algorithm):
    """Mixed precision reaches the sparse GEMMs (a custom autograd Function is not cast by autocast): the
    forward/backward must run and stay close to fp32 (bf16 keeps ~3 significant digits). The gradient compared
    is the last sparse convolution's (geometry head): the first layers' gradients pass back through six
    instance norms, where bf16 cancellation leaves cosines of 0.7-0.95 for both algorithms (measured over
    4 images), so for them only dtype and finiteness are checked."""
    k, frustum, occ = _scene()
    images = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(0))
    grads = {}
    for dtype in (None, torch.bfloat16):
        torch.manual_seed(0)
        model = _model()
        # keep exactly the target subtrees: bf16 rounding must not flip keep/prune decisions at the threshold
        model.completion.prune_threshold = 0.999
        with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
            out = model(images, k, frustum, occupancy=occ)
            loss = out["pred_occupancy"][-1].float().sigmoid().mean() + out["pred_geometry"].float().mean()
        loss.backward()
        first = model.completion.enc0.layers[0].weight.grad
        assert first.dtype == torch.float32 and torch.isfinite(first).all()
        grads[dtype] = (float(loss), model.completion.geometry_head[0].weight.grad.clone())
    (l32, g32), (l16, g16) = grads[None], grads[torch.bfloat16]
    assert abs(l16 - l32) < 0.02 * abs(l32) + 1e-3
    assert torch.nn.functional.cosine_similarity(g16.flatten(), g32.flatten(), dim=0) > 0.98


def test_sparse_criterion_equals_the_dense_criterion_on_densified_outputs():
    """Losses from the raw voxels (no dense per-query volume) == SetCriterion3D on densify()'s outputs, every
    term and every parameter gradient, with random weights, geometry and two matched instances. The model runs
    in float64; the dense criterion casts its targets to float32, so agreement is to float32 precision."""
    g = torch.Generator().manual_seed(3)
    k, frustum, occ = _scene()
    images = torch.rand(1, 3, 48, 64, dtype=torch.float64, generator=g)
    masks = torch.zeros(2, 16, 16, 16, dtype=torch.bool)
    masks[0, 4:10, 4:7, 8], masks[1, 4:10, 7:10, 8] = True, True
    batch = {"frustum_mask": frustum, "weighting": torch.rand(1, 16, 16, 16, dtype=torch.float64, generator=g) + 0.5,
             "occupancy": occ, "geometry": torch.rand(1, 16, 16, 16, dtype=torch.float64, generator=g) * 4,
             "gt_masks_3d": [masks]}
    indices = [(torch.tensor([5, 2]), torch.tensor([0, 1]))]
    results = {}
    for mode in ("dense", "sparse"):
        model = _model().double()
        crit = SetCriterion3D()
        out = model(images, k.double(), frustum, occupancy=occ, sparse_outputs=mode == "sparse")
        assert ("sparse_3d" in out) == (mode == "sparse") and ("pred_geometry" in out) == (mode == "dense")
        losses = crit(out, batch, indices)
        losses["loss_3d"].backward()
        results[mode] = ({n: float(v.detach()) for n, v in losses.items()},
                         {n: p.grad for n, p in model.completion.named_parameters() if p.grad is not None})
    (ld, gd), (ls, gs) = results["dense"], results["sparse"]
    assert ld.keys() == ls.keys() and len(ld) == 8
    for name in ld:
        assert abs(ld[name] - ls[name]) < 1e-6 * max(1.0, abs(ld[name])), (name, ld[name], ls[name])
    assert ld["loss_panoptic_2"] > 0 and ld["loss_geometry"] > 0
    assert gd.keys() == gs.keys() and len(gd) > 10
    for name in gd:
        assert torch.allclose(gd[name], gs[name], rtol=1e-5, atol=1e-7), name


def test_sparse_criterion_under_bf16_autocast_is_finite_and_close_to_fp32(conv_algorithm):
    k, frustum, occ = _scene()
    batch = {"frustum_mask": frustum, "weighting": torch.ones(1, 16, 16, 16), "occupancy": occ,
             "geometry": torch.full((1, 16, 16, 16), 3.0), "gt_masks_3d": [occ[0][0][None] > 0]}
    images = torch.rand(1, 3, 48, 64)
    values = {}
    for dtype in (None, torch.bfloat16):
        model = _model()
        model.completion.prune_threshold = 0.999  # same voxels in both precisions
        with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
            out = model(images, k, frustum, occupancy=occ, sparse_outputs=True)
            losses = SetCriterion3D()(out, batch, [(torch.tensor([0]), torch.tensor([0]))])
        losses["loss_3d"].backward()
        grad = model.completion.enc0.layers[0].weight.grad
        assert losses["loss_3d"].dtype == torch.float32 and torch.isfinite(grad).all()
        values[dtype] = float(losses["loss_3d"])
    assert abs(values[torch.bfloat16] - values[None]) < 0.02 * values[None]


def test_panoptic_volumes_from_sparse_masks_equal_those_from_densified_masks():
    """Evaluation and inference read the sparse backend's per-query masks as SparseTensors (no queries x grid
    volume): the panoptic, semantic and instance volumes and segments equal those from the densified masks."""
    k, frustum, occ = _scene()
    model = _model().eval()
    model.completion.prune_threshold = 0.3  # keep a good share of voxels in this untrained model
    with torch.no_grad():
        raw = model(torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(1)), k, frustum,
                    sparse_outputs=True)
    dense, sparse = model.densify_3d(raw), model.densify_3d(raw, masks="sparse")
    assert not isinstance(sparse["pred_masks_3d"][-1], torch.Tensor)
    kw = dict(frustum=frustum[0], num_thing_classes=9, object_mask_threshold=0.0, truncation=3.0, surface_band=3.0)
    a, b = panoptic_3d(dense, 0, **kw), panoptic_3d(sparse, 0, **kw)
    assert a["segments"] and a["segments"] == b["segments"]
    assert int((a["panoptic"] > 0).sum()) > 10
    for key in ("panoptic", "semantic", "instance", "geometry", "occupancy"):
        assert torch.equal(a[key], b[key]), key


@pytest.mark.parametrize("budget", [1 << 26, 300])  # one chunk per layer; chunks of a few rows
def test_both_convolution_algorithms_give_the_same_network_and_gradients(budget, monkeypatch):
    """The per-offset pairs and the neighbour-table GEMM are the same convolution: whole-network outputs and
    parameter gradients agree (float64, so only summation order differs), also when the neighbour GEMM runs
    in many row chunks."""
    from nvpanoptix3d.network.frustum3d.sparse import conv
    from nvpanoptix3d.network.frustum3d.sparse.conv import set_conv_algorithm

    monkeypatch.setattr(conv, "GATHER_BUDGET", budget)
    assert len(conv._row_chunks(100, 27, 4)) == (1 if budget > 27 * 4 * 100 else 50)  # 300 // 108 = 2 rows
    k, frustum, occ = _scene()
    images = torch.rand(1, 3, 48, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    results = {}
    for algo in ("pairs", "neighbors"):
        previous = set_conv_algorithm(algo)
        try:
            model = _model().double()
            out = model(images, k.double(), frustum, occupancy=occ)
            loss = sum(o.sigmoid().mean() for o in out["pred_occupancy"]) + out["pred_geometry"].mean() \
                + sum(m.sigmoid().mean() for m in out["pred_masks_3d"])
            loss.backward()
        finally:
            set_conv_algorithm(previous)
        results[algo] = (out["pred_geometry"], {n: p.grad for n, p in model.completion.named_parameters()})
    (g_a, grads_a), (g_b, grads_b) = results["pairs"], results["neighbors"]
    assert torch.allclose(g_a, g_b, atol=1e-10)
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        assert torch.allclose(grads_a[name], grads_b[name], atol=1e-9), name


@pytest.mark.cuda_ops
def test_spconv_backend_gives_the_same_network_outputs():
    """The whole two-stage network with backend=spconv (same weights) matches backend=sparse: a checkpoint
    moves between them. Forward only (spconv's CPU build has no backward); on CUDA when present."""
    pytest.importorskip("spconv.pytorch", reason="spconv is not installed")
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    k, frustum, occ = _scene()
    pure = _model().train().to(dev)  # training mode keeps the target voxels, so every level is populated
    torch.manual_seed(0)
    fast = NVPanoptix3D(backbone=backbone_preset("tiny"), grid_dims=16, voxel_size=0.4, unet_features=4,
                        lift_channels=4, backend="spconv", **SMALL).train().to(dev)
    fast.load_state_dict(pure.state_dict())
    images = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(1)).to(dev)
    with torch.no_grad():
        a = pure(images, k.to(dev), frustum.to(dev), occupancy=occ)
        b = fast(images, k.to(dev), frustum.to(dev), occupancy=occ)
    assert (a["pred_occupancy"][-1] > -12).sum() >= occ[0][0].sum()
    for key in ("pred_geometry",):
        assert torch.allclose(a[key], b[key], atol=1e-4)
    for la, lb in zip(a["pred_occupancy"] + a["pred_masks_3d"], b["pred_occupancy"] + b["pred_masks_3d"]):
        assert torch.allclose(la, lb, atol=1e-4)
