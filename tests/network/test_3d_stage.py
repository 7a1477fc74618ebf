"""The two-stage network's 3D stage (NVIDIA's structure: lifter -> completion ``FrustumDecoder``) end to end on a
small model (64^3 grid of 0.1 m voxels, 48x64 images): forward contract and backward of the sparse backend,
the target-voxel rule, dense / sparse / spconv backends on the same weights, the sparse criterion against the
dense one on densified outputs, bf16 autocast, panoptic volumes from sparse masks, the 3D-key rule and the
convolution-algorithm switch. The completion's layers themselves are tested in ``test_completion_nv.py``."""

from __future__ import annotations

import pytest
import torch

from nvpanoptix3d.geometry import FRONT3D_INTRINSIC, FrustumGrid, scale_intrinsic
from nvpanoptix3d.network import backbone_preset
from nvpanoptix3d.network.frustum3d import NVPanoptix3D, SetCriterion3D, is_3d_key, panoptic_3d
from nvpanoptix3d.network.frustum3d.densify import ABSENT_LOGIT, densify

SMALL = dict(conv_dim=32, mask_dim=32, depth_dim=32, enc_layers=1, nheads=4, transformer_dim_feedforward=64,
             hidden_dim=32, num_queries=8, dim_feedforward=64, dec_layers=3, depth_bins=8, reduced_size=(32, 24))
D = 64
SIZE = (64, 48)  # (W, H)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/network/conftest.py


def _model(backend: str = "sparse", *, targets_only: bool = False) -> NVPanoptix3D:
    """The tiny two-stage model. ``targets_only``: the 1/4 and 1/2 occupancy heads predict "empty" far from
    the 0.5 threshold (bias -10), so in training exactly the target subtrees are kept there, and the finest
    head "occupied" (bias +10), so every generated voxel is kept: the voxel sets cannot depend on rounding
    (precision or summation order), and the finest level stays small (a fast test)."""
    torch.manual_seed(0)
    model = NVPanoptix3D(backbone=backbone_preset("tiny", vggt_input_width=112), grid_dims=D, voxel_size=0.1,
                         unet_features=4, unet_output_channels=4, backend=backend, object_mask_threshold=0.0,
                         **SMALL)
    if targets_only:
        heads = model.completion.level_occupancy_heads
        with torch.no_grad():
            heads[2].bias.fill_(-10.0)
            heads[1].block.bias.fill_(-10.0)
            heads[0][3].bias.fill_(10.0)
    return model


def _scene():
    """(intrinsic (1, 4, 4), frustum (1, D, D, D) bool, occupancy targets [[fine, mid, coarse]], target (D^3))."""
    k = torch.from_numpy(scale_intrinsic(FRONT3D_INTRINSIC, (320, 240), SIZE))[None]
    frustum = torch.from_numpy(FrustumGrid.cube(D, 0.1).frustum_mask(k[0].numpy(), SIZE))[None]
    fine = torch.zeros(D, D, D)
    fine[26:38, 26:38, 30] = 1  # a wall patch 3 m in front of the camera, inside the frustum
    fine[30:34, 30:34, 31] = 1
    assert bool(frustum[0][fine > 0].all())
    coarse = torch.nn.functional.max_pool3d(fine[None, None], 4)[0, 0]
    mid = torch.nn.functional.max_pool3d(fine[None, None], 2)[0, 0]
    return k, frustum, [[fine, mid, coarse]]


def _images(seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.rand(1, 3, SIZE[1], SIZE[0], dtype=dtype, generator=torch.Generator().manual_seed(seed))


def _batch(frustum: torch.Tensor, occ: list, dtype: torch.dtype = torch.float32, seed: int = 3) -> dict:
    """Dense targets as the loader gives them: random weighting and geometry, two instance masks."""
    g = torch.Generator().manual_seed(seed)
    masks = torch.zeros(2, D, D, D, dtype=torch.bool)
    masks[0, 26:32, 26:38, 30], masks[1, 32:38, 26:38, 30] = True, True
    return {"frustum_mask": frustum, "occupancy": occ, "gt_masks_3d": [masks],
            "weighting": torch.rand(1, D, D, D, dtype=dtype, generator=g) + 0.5,
            "geometry": torch.rand(1, D, D, D, dtype=dtype, generator=g) * 4}


INDICES = [(torch.tensor([5, 2]), torch.tensor([0, 1]))]  # queries 5 and 2 matched to instances 0 and 1


def test_sparse_backend_forward_contract_backward_and_target_voxels():
    model = _model().train()
    k, frustum, occ = _scene()
    out = model(_images(), k, frustum, occupancy=occ)
    assert [tuple(o.shape) for o in out["pred_occupancy"]] == [(1, 16, 16, 16), (1, 32, 32, 32), (1, D, D, D)]
    assert [tuple(m.shape) for m in out["pred_masks_3d"]] == [(1, 8, 16, 16, 16), (1, 8, 32, 32, 32),
                                                              (1, 8, D, D, D)]
    assert out["pred_geometry"].shape == (1, D, D, D)
    geo = out["pred_geometry"]
    assert (geo >= 0).all() and (geo <= 3.0).all() and (geo < 3.0).any()
    # With occupancy targets (training) every target voxel stays reachable at full resolution: its ancestors
    # were kept as parents, so the finest level generated it (a present voxel, not the densified absent logit).
    target = occ[0][0] > 0
    assert (out["pred_occupancy"][-1][0][target] > ABSENT_LOGIT).all()
    losses = SetCriterion3D()(out, _batch(frustum, occ), INDICES)
    assert losses["loss_panoptic_2"] > 0 and losses["loss_geometry"] > 0
    losses["loss_3d"].backward()
    comp = model.completion
    for p in (comp.input_encoders[0].conv1.weight, comp.level_encoders[0][0].conv1.weight,
              comp.level_encoders[4][0].conv1.weight, comp.level_decoders[0][0].weight,
              comp.level_occupancy_heads[0][3].weight, comp.level_occupancy_heads[2].weight,
              comp.level_segm_query_projection[0].weight, comp.geometry_head[3].weight,
              model.projector.conv_block2.weight):
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
    assert all(p.grad is None for n, p in model.named_parameters() if n.startswith(("backbone.", "sem_seg_head.")))
    r = panoptic_3d({n: v.detach() if torch.is_tensor(v) else [t.detach() for t in v]
                     for n, v in out.items() if n.startswith("pred_")}, 0, frustum=frustum[0], num_thing_classes=9,
                    object_mask_threshold=0.0, truncation=3.0)
    assert r["panoptic"].shape == (D, D, D) and r["geometry"].shape == (D, D, D)


def test_without_targets_in_eval_the_heads_alone_decide_and_targets_are_ignored():
    """NVIDIA's rule in eval (and without targets): the targets-only heads keep nothing at 1/4 and 1/2, the
    empty-set fallback at 1/2 keeps every valid voxel; passing targets in eval changes nothing."""
    model = _model(targets_only=True).eval()
    k, frustum, occ = _scene()
    with torch.no_grad():
        a = model(_images(), k, frustum, sparse_outputs=True)["sparse_3d"]
        b = model(_images(), k, frustum, occupancy=occ, sparse_outputs=True)["sparse_3d"]
    for ta, tb in zip(a["occupancy"] + a["masks_3d"], b["occupancy"] + b["masks_3d"]):
        assert torch.equal(ta.coords, tb.coords) and torch.equal(ta.feats, tb.feats)
    assert (a["occupancy"][0].feats < 0).all() and (a["occupancy"][1].feats < 0).all()


def test_dense_sparse_and_spconv_backends_give_the_same_outputs_on_the_same_weights(caplog):
    """A checkpoint moves between backends: the state dicts are identical and (training, with targets) the
    outputs agree to float32 summation order (the voxel sets are fixed by ``targets_only``)."""
    k, frustum, occ = _scene()
    sparse = _model(targets_only=True).train()
    outs = {}
    from nvpanoptix3d.network.completion import spconv_exec  # noqa: PLC0415

    for backend in ("sparse", "dense") + (("spconv",) if spconv_exec.available() else ()):  # spconv: dev extra
        with caplog.at_level("WARNING", logger="nvpanoptix3d"):
            model = _model(backend) if backend != "sparse" else sparse
        if backend != "sparse":
            assert model.state_dict().keys() == sparse.state_dict().keys()
            model.load_state_dict(sparse.state_dict(), strict=True)
            model.train()
        with torch.no_grad():
            outs[backend] = model(_images(1), k, frustum, occupancy=occ)
    assert "spconv" not in caplog.text  # spconv's kernels run: no "falls back" warning any more
    ref = outs["sparse"]
    assert (ref["pred_occupancy"][-1] > ABSENT_LOGIT).sum() >= occ[0][0].sum()
    assert (ref["pred_geometry"] < 3.0).any()
    for backend in [b for b in outs if b != "sparse"]:
        out = outs[backend]
        for name in ("pred_occupancy", "pred_masks_3d"):
            for a, b in zip(ref[name], out[name]):
                assert torch.equal(a > ABSENT_LOGIT, b > ABSENT_LOGIT), (backend, name)  # the same voxels
                torch.testing.assert_close(a, b, atol=2e-4, rtol=1e-4, msg=f"{backend} {name}")
        torch.testing.assert_close(ref["pred_geometry"], out["pred_geometry"], atol=2e-4, rtol=1e-4)


def _lifted(model: NVPanoptix3D, images: torch.Tensor, k: torch.Tensor, frustum: torch.Tensor):
    """(lifted voxels, queries) of the frozen 2D stage + parameter-free lifter (float32: the lifter's
    reprojection samples float32 semantics)."""
    with torch.no_grad():
        out2d = super(NVPanoptix3D, model).forward(images)
        x = model.lifter(out2d, model.encoder_features(out2d), k, frustum, SIZE)
    return x, out2d["query_features"]


def test_sparse_criterion_equals_the_dense_criterion_on_densified_outputs():
    """Losses from the raw voxels (no dense per-query volume) == SetCriterion3D on densify()'s outputs: every
    term and every completion-parameter gradient, float64 completion on the lifted voxels, random weighting
    and geometry, two matched instances. The dense criterion casts its mask targets to float32."""
    model = _model().train()
    k, frustum, occ = _scene()
    x, queries = _lifted(model, _images(2), k, frustum)
    model.completion.double()
    out = model.complete(x.replace(x.feats.double()), queries.double(), frustum, occ, sparse_outputs=True)
    assert set(out) == {"sparse_3d"}
    batch = _batch(frustum, occ, torch.float64)
    crit = SetCriterion3D()
    params = [p for p in model.completion.parameters()]
    results = {}
    for mode, outputs in (("sparse", out), ("dense", densify(out["sparse_3d"], 3.0))):
        losses = crit(outputs, batch, INDICES)
        grads = torch.autograd.grad(losses["loss_3d"], params, retain_graph=True, allow_unused=True)
        results[mode] = ({n: float(v.detach()) for n, v in losses.items()}, grads)
    (ls, gs), (ld, gd) = results["sparse"], results["dense"]
    assert ld.keys() == ls.keys() and len(ld) == 8
    for name in ld:
        assert abs(ld[name] - ls[name]) < 1e-6 * max(1.0, abs(ld[name])), (name, ld[name], ls[name])
    assert ld["loss_panoptic_2"] > 0 and ld["loss_geometry"] > 0
    assert sum(g is not None for g in gd) > 50
    for p, a, b in zip(params, gd, gs):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def _bf16_step(dtype: torch.dtype | None, whole_model: bool) -> tuple[dict, dict]:
    """One training step (sparse criterion) under autocast ``dtype`` (None: fp32) -> (losses, head gradients).
    ``whole_model``: the 2D stage and the lifter run under autocast too (their rounding moves lifted voxels);
    else they run in fp32 and only the 3D completion and the losses are autocast (the same voxels)."""
    k, frustum, occ = _scene()
    model = _model(targets_only=True).train()
    cast = torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None)
    if whole_model:
        with cast:
            out = model(_images(), k, frustum, occupancy=occ, sparse_outputs=True)
            losses = SetCriterion3D()(out, _batch(frustum, occ), INDICES)
    else:
        with torch.no_grad():
            out2d = super(NVPanoptix3D, model).forward(_images())
        x = model.lifter(out2d, model.encoder_features(out2d), k, frustum, SIZE)
        with cast:
            out = model.complete(x, out2d["query_features"], frustum, occ, sparse_outputs=True)
            losses = SetCriterion3D()(out, _batch(frustum, occ), INDICES)
    assert losses["loss_3d"].dtype == torch.float32
    losses["loss_3d"].backward()
    comp = model.completion
    first = comp.input_encoders[1].conv1.weight.grad
    assert first.dtype == torch.float32 and torch.isfinite(first).all()
    assert model.projector.conv_block2.weight.grad is not None
    heads = {"geometry": comp.geometry_head[3].weight.grad, "occupancy_0": comp.level_occupancy_heads[0][3].weight.grad,
             "query_projection_0": comp.level_segm_query_projection[0].weight.grad}
    assert all(torch.isfinite(g).all() for g in heads.values())
    sizes = [t.num_voxels for t in out["sparse_3d"]["occupancy"] + out["sparse_3d"]["masks_3d"]]
    return {n: float(v.detach()) for n, v in losses.items()} | {"sizes": sizes}, heads


def test_sparse_backend_trains_under_bf16_autocast_close_to_fp32():
    """Mixed precision reaches the sparse GEMMs (a custom autograd Function is not cast by autocast): forward,
    sparse criterion and backward run and stay finite. On the same lifted voxels the losses and the heads'
    gradients stay close to fp32 (bf16 keeps ~3 significant digits); the first layers' gradients pass back
    through many per-voxel instance norms, where bf16 cancellation makes them noise (cosine to fp32 ~ -0.4
    here), so for them only dtype and finiteness are checked. The whole model under autocast (bf16 depth
    moves some lifted voxels) is checked for finiteness and a total loss within a few percent."""
    (l32, g32), (l16, g16) = _bf16_step(None, False), _bf16_step(torch.bfloat16, False)
    assert l16.pop("sizes") == l32.pop("sizes")
    for name in l32:
        assert abs(l16[name] - l32[name]) < 0.01 * abs(l32[name]) + 1e-3, (name, l16[name], l32[name])
    for name in g32:
        cos = torch.nn.functional.cosine_similarity(g16[name].flatten(), g32[name].flatten(), dim=0)
        assert cos > 0.99, (name, float(cos))
    whole, _ = _bf16_step(torch.bfloat16, True)
    assert abs(whole["loss_3d"] - l32["loss_3d"]) < 0.05 * l32["loss_3d"]


def test_panoptic_volumes_from_sparse_masks_equal_those_from_densified_masks():
    """Evaluation and inference read the sparse backend's per-query masks as SparseTensors (no queries x grid
    volume): the panoptic, semantic and instance volumes and segments equal those from the densified masks."""
    k, frustum, _ = _scene()
    model = _model().eval()
    with torch.no_grad():
        raw = model(_images(1), k, frustum, sparse_outputs=True)
    dense, sparse = model.densify_3d(raw), model.densify_3d(raw, masks="sparse")
    assert torch.is_tensor(dense["pred_masks_3d"][-1]) and not torch.is_tensor(sparse["pred_masks_3d"][-1])
    kw = dict(frustum=frustum[0], num_thing_classes=9, object_mask_threshold=0.0, truncation=3.0, surface_band=3.0)
    a, b = panoptic_3d(dense, 0, **kw), panoptic_3d(sparse, 0, **kw)
    assert a["segments"] and a["segments"] == b["segments"]
    assert int((a["panoptic"] > 0).sum()) > 10
    for key in ("panoptic", "semantic", "instance", "geometry", "occupancy"):
        assert torch.equal(a[key], b[key]), key


def test_is_3d_key_uses_top_level_module_names():
    from nvpanoptix3d.engine.checkpoint_io import is_3d_param

    assert is_3d_param is is_3d_key
    assert is_3d_key("projector.conv_block1.weight") and is_3d_key("model.completion.geometry_head.3.weight")
    assert is_3d_key("module.model._orig_mod.completion.x") and is_3d_key("lifter.anything")
    assert not is_3d_key("sem_seg_head.depth_projector.proj_convs2.0.weight")  # a substring rule would say 3D
    assert not is_3d_key("sem_seg_head.pixel_decoder.completion_x") and not is_3d_key("backbone.completion_x")
    model = _model()
    ids_2d = {id(p) for p in model.parameters_2d()}
    names_3d = {n for n, p in model.named_parameters() if id(p) not in ids_2d}
    assert names_3d and {n.split(".")[0] for n in names_3d} == {"projector", "completion"}
    assert all(n.split(".")[0] in ("backbone", "sem_seg_head") for n, p in model.named_parameters()
               if id(p) in ids_2d)


def test_both_convolution_algorithms_give_the_same_network_and_gradients():
    """The global convolution-algorithm switch (per-offset pairs / neighbour-table GEMM, used by the
    frustum3d sparse layers) leaves NVIDIA's completion network unchanged: its layers always run the
    per-offset kernel maps, so outputs and gradients are identical under both settings."""
    from nvpanoptix3d.network.frustum3d.sparse.conv import set_conv_algorithm

    k, frustum, occ = _scene()
    results = {}
    for algo in ("pairs", "neighbors"):
        previous = set_conv_algorithm(algo)
        try:
            model = _model(targets_only=True).train()
            out = model(_images(), k, frustum, occupancy=occ)
            loss = sum(o.sigmoid().mean() for o in out["pred_occupancy"]) + out["pred_geometry"].mean() \
                + sum(m.sigmoid().mean() for m in out["pred_masks_3d"])
            loss.backward()
        finally:
            set_conv_algorithm(previous)
        results[algo] = (out, {n: p.grad for n, p in model.completion.named_parameters()})
    (out_a, grads_a), (out_b, grads_b) = results["pairs"], results["neighbors"]
    assert torch.equal(out_a["pred_geometry"], out_b["pred_geometry"])
    for a, b in zip(out_a["pred_occupancy"] + out_a["pred_masks_3d"], out_b["pred_occupancy"] + out_b["pred_masks_3d"]):
        assert torch.equal(a, b)
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        assert (grads_a[name] is None) == (grads_b[name] is None), name
        if grads_a[name] is not None:
            assert torch.equal(grads_a[name], grads_b[name]), name
