"""``model.frustum3d.backend=spconv``: NVIDIA's completion layers with their gather-GEMM-scatter on spconv's
kernels (completion/spconv_exec.py) against the pure-PyTorch ``sparse`` execution of the same weights and kernel
maps: every layer kind (values, input and weight gradients; batch 2; one voxel; empty), the whole
FrustumDecoder forward + backward, one training step of the tiny two-stage model, and the missing-spconv error.
Runs on spconv's CPU wheel (the dev extra); skipped where spconv is not installed."""

from __future__ import annotations

import copy

import pytest
import torch

from nvpanoptix3d.network.completion import FrustumDecoder, SparseConv3d
from nvpanoptix3d.network.completion import spconv_exec
from nvpanoptix3d.network.frustum3d.sparse import SparseTensor
from nvpanoptix3d.network.frustum3d.sparse.backend import SPCONV_MISSING, SpconvMissingError

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/network/conftest.py
needs_spconv = pytest.mark.skipif(not spconv_exec.available(), reason="spconv is not installed (pip install spconv)")

# float32, the same pairs in the same per-offset order on both sides: spconv's CPU gather / torch.mm / scatter-add
# give the pure path's numbers to rounding (measured: exactly equal on CPU); CUDA kernels reorder sums.
TOL = dict(atol=1e-5, rtol=1e-5)

LAYERS = {  # NVIDIA's completion uses exactly these kinds
    "subm_k3": dict(kernel_size=3),
    "subm_k1": dict(kernel_size=1),
    "strided_k3_s2": dict(kernel_size=3, stride=2),
    "strided_k4_s2": dict(kernel_size=4, stride=2),
    "generative_transposed_k4_s2": dict(kernel_size=4, stride=2, transposed=True, generative=True),
}


def _voxels(n: int, batch: int = 2, shape: tuple[int, int, int] = (9, 8, 7), channels: int = 3,
            seed: int = 0) -> SparseTensor:
    """n distinct random voxels over ``batch`` samples, in random order (the layers must not rely on it)."""
    g = torch.Generator().manual_seed(seed)
    axes = [torch.arange(batch)] + [torch.arange(s) for s in shape]
    grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 4)
    coords = grid[torch.randperm(grid.shape[0], generator=g)[:n]]
    return SparseTensor(coords, torch.randn(n, channels, generator=g), shape, batch)


def _pair(**kw) -> tuple[SparseConv3d, SparseConv3d]:
    torch.manual_seed(1)
    pure = SparseConv3d(3, 5, **kw)
    fast = copy.deepcopy(pure)
    assert spconv_exec.use_spconv(fast) == 1
    return pure, fast


@needs_spconv
@pytest.mark.parametrize("n", [150, 1, 0], ids=["batch2", "one_voxel", "empty"])
@pytest.mark.parametrize("kind", list(LAYERS))
def test_each_layer_kind_equals_the_sparse_execution(kind: str, n: int):
    pure, fast = _pair(**LAYERS[kind])
    x = _voxels(n)
    outs, grads = [], []
    for layer in (pure, fast):
        feats = x.feats.clone().requires_grad_()
        y = layer(SparseTensor(x.coords, feats, x.spatial_shape, x.batch_size))
        probe = torch.randn(y.feats.shape, generator=torch.Generator().manual_seed(2))
        g_in, g_w = torch.autograd.grad((y.feats * probe).sum(), [feats, layer.weight])
        outs.append(y)
        grads.append((g_in, g_w))
    (a, b), ((ga_in, ga_w), (gb_in, gb_w)) = outs, grads
    assert torch.equal(a.coords, b.coords) and a.spatial_shape == b.spatial_shape and a.stride == b.stride
    torch.testing.assert_close(b.feats, a.feats, **TOL)
    torch.testing.assert_close(gb_in, ga_in, **TOL)
    torch.testing.assert_close(gb_w, ga_w, **TOL)
    if n:
        assert a.feats.abs().sum() > 0 and ga_w.abs().sum() > 0  # not a vacuous comparison
    if kind == "generative_transposed_k4_s2" and n == 1:
        assert b.num_voxels == 64  # one input writes its 4^3 children


@needs_spconv
@pytest.mark.parametrize("kind", ["subm_k3", "strided_k4_s2", "generative_transposed_k4_s2"])
def test_several_cpu_threads_give_the_same_numbers(kind: str):
    """spconv's CPU scatter-add races with more than one intra-op thread (lost updates of ~0.4 on 20,000
    voxels): spconv_exec runs its CPU kernels on one thread. Many voxels, 2 threads, forward and backward."""
    pure, fast = _pair(**LAYERS[kind])
    x = _voxels(20000, batch=1, shape=(32, 32, 32))
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        results = []
        for layer in (pure, fast):
            feats = x.feats.clone().requires_grad_()
            y = layer(SparseTensor(x.coords, feats, x.spatial_shape, x.batch_size))
            results.append((y.feats, *torch.autograd.grad(y.feats.square().sum(), [feats, layer.weight])))
        assert torch.get_num_threads() == 2  # restored after each spconv call
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(*results):
        torch.testing.assert_close(b, a, **TOL)


@needs_spconv
def test_bf16_autocast_runs_in_fp32_on_spconv_and_keeps_dtypes():
    """spconv has no bf16 GEMM: under bf16 autocast the spconv layer computes in fp32 (so it matches the fp32
    pure path), and its gradients come back in the parameter's and the input's dtypes."""
    pure, fast = _pair(kernel_size=3, stride=2)
    x = _voxels(120)
    feats = x.feats.clone().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = fast(SparseTensor(x.coords, feats, x.spatial_shape, x.batch_size))
    y.feats.float().sum().backward()
    torch.testing.assert_close(y.feats.float(), pure(x).feats, **TOL)
    assert feats.grad.dtype == torch.float32 and fast.weight.grad.dtype == torch.float32


@needs_spconv
def test_the_kernel_runs_in_spconv():
    """The spconv layer really calls spconv's indice_conv (forward) and indice_conv_backward."""
    from spconv.pytorch import ops  # noqa: PLC0415

    calls = []
    fwd, bwd = ops.indice_conv, ops.indice_conv_backward
    try:
        ops.indice_conv = lambda *a, **k: calls.append("fwd") or fwd(*a, **k)
        ops.indice_conv_backward = lambda *a, **k: calls.append("bwd") or bwd(*a, **k)
        _, fast = _pair(kernel_size=4, stride=2)
        x = _voxels(60)
        x.feats.requires_grad_()
        fast(x).feats.sum().backward()
    finally:
        ops.indice_conv, ops.indice_conv_backward = fwd, bwd
    assert calls == ["fwd", "bwd"]


def test_indice_pairs_pack_our_pairs_per_offset():
    kmap = [(torch.tensor([4, 1]), torch.tensor([0, 2])), (torch.tensor([], dtype=torch.long),) * 2,
            (torch.tensor([3]), torch.tensor([1]))]
    pairs, num = spconv_exec.indice_pairs(kmap, torch.device("cpu"))
    assert pairs.dtype == num.dtype == torch.int32 and pairs.shape == (2, 3, 2)
    assert num.tolist() == [2, 0, 1]
    assert pairs[0].tolist() == [[4, 1], [-1, -1], [3, -1]] and pairs[1].tolist() == [[0, 2], [-1, -1], [1, -1]]


def _decoder_input(train: bool):
    """The small FrustumDecoder of test_completion_nv.py (64^3, few kept voxels) and its lifted-voxel input."""
    torch.manual_seed(0)
    dims, d = (2, 5, 3, 4), 64
    model = FrustumDecoder(input_dims=dims, unet_features=4, unet_output_channels=4, query_dim=8, grid_dims=d)
    with torch.no_grad():
        model.level_occupancy_heads[2].bias.fill_(-1.5)
        model.level_occupancy_heads[1].block.bias.fill_(-1.5)
        model.level_occupancy_heads[0][3].bias.fill_(-1.0)
    model.train(train)
    frustum = torch.zeros(1, d, d, d, dtype=torch.bool)
    frustum[:, 20:44, 20:44, 16:48] = True
    g = torch.Generator().manual_seed(1)
    coords = ((torch.rand(1, d, d, d, generator=g) < 0.03) & frustum).nonzero()
    feats = torch.randn(coords.shape[0], sum(dims), generator=g)
    occupancy = [[(torch.rand(d, d, d, generator=g) < 0.01).float(), torch.zeros(32, 32, 32),
                  torch.zeros(16, 16, 16)]] if train else None
    return model, coords, feats, torch.randn(1, 5, 8, generator=g), frustum, occupancy


def _decoder_run(model: FrustumDecoder, inputs: tuple, dtype: torch.dtype) -> tuple[list, torch.Tensor, dict]:
    """(output levels, input-feature gradient, parameter gradients) of one forward + backward in ``dtype``."""
    coords, feats, queries, frustum, occupancy = inputs
    model = copy.deepcopy(model).to(dtype)
    f = feats.to(dtype).clone().requires_grad_()
    out = model(SparseTensor(coords, f, (64,) * 3, 1), queries.to(dtype), frustum, occupancy)
    levels = out["occupancy"] + out["masks_3d"] + [out["geometry"]]
    probe = lambda t: torch.linspace(-1, 1, t.numel(), dtype=dtype).view_as(t)  # noqa: E731
    sum((t.feats * probe(t.feats)).sum() for t in levels).backward()
    return levels, f.grad, {n: p.grad for n, p in model.named_parameters()}


def _max_err(a: list, b: list) -> float:
    return max((x.double() - y.double()).abs().max().item() for x, y in zip(a, b) if x is not None and x.numel())


@needs_spconv
def test_frustum_decoder_forward_and_backward_equal_the_sparse_backend():
    """Identical weights (the sparse model's state_dict, strict), training mode (the target-voxel rule too).
    float64: every output level equal and every gradient (parameters, input features) to 1e-9 relative.
    float32: outputs to 2e-4 / 1e-4 (as the dense-vs-sparse backend test); gradients differ from the sparse
    backend's by no more than the sparse backend's own float32 rounding (its distance to its float64 run)."""
    pure, *inputs = _decoder_input(train=True)
    fast = FrustumDecoder(input_dims=pure.input_dims, unet_features=4, unet_output_channels=4, query_dim=8,
                          grid_dims=64).train()
    fast.load_state_dict(pure.state_dict(), strict=True)
    assert spconv_exec.use_spconv(fast) > 10
    (la, ga, pa), (lb, gb, pb) = (_decoder_run(m, inputs, torch.float64) for m in (pure, fast))
    assert len(la) == len(lb) == 7 and la[2].num_voxels > 100
    for a, b in zip(la, lb):
        assert torch.equal(a.coords, b.coords)
        torch.testing.assert_close(b.feats, a.feats, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(gb, ga, atol=1e-9 * ga.abs().max().item(), rtol=1e-9)
    assert pa.keys() == pb.keys() and all((pa[n] is None) == (pb[n] is None) for n in pa)
    for name in (n for n in pa if pa[n] is not None):
        torch.testing.assert_close(pb[name], pa[name], atol=1e-9 * max(pa[name].abs().max().item(), 1e-6),
                                   rtol=1e-9, msg=name)
    (l32, g32, p32), (m32, h32, q32) = (_decoder_run(m, inputs, torch.float32) for m in (pure, fast))
    for a, b in zip(l32, m32):
        assert torch.equal(a.coords, b.coords)
        torch.testing.assert_close(b.feats, a.feats, atol=2e-4, rtol=1e-4)
    names = [n for n in pa if pa[n] is not None]
    own = _max_err([g32] + [p32[n] for n in names], [ga] + [pa[n] for n in names])  # sparse fp32 vs fp64
    spc = _max_err([h32] + [q32[n] for n in names], [g32] + [p32[n] for n in names])  # spconv vs sparse fp32
    assert spc <= 2 * own, (spc, own)


def _tiny_model(backend: str):
    """The tiny two-stage model of test_3d_stage.py (targets-only heads: voxel sets fixed by the targets)."""
    from nvpanoptix3d.network import backbone_preset  # noqa: PLC0415
    from nvpanoptix3d.network.frustum3d import NVPanoptix3D  # noqa: PLC0415

    torch.manual_seed(0)
    small = dict(conv_dim=32, mask_dim=32, depth_dim=32, enc_layers=1, nheads=4, transformer_dim_feedforward=64,
                 hidden_dim=32, num_queries=8, dim_feedforward=64, dec_layers=3, depth_bins=8,
                 reduced_size=(32, 24))
    model = NVPanoptix3D(backbone=backbone_preset("tiny", vggt_input_width=112), grid_dims=64, voxel_size=0.1,
                         unet_features=4, unet_output_channels=4, backend=backend, object_mask_threshold=0.0,
                         **small)
    heads = model.completion.level_occupancy_heads
    with torch.no_grad():
        heads[2].bias.fill_(-10.0)
        heads[1].block.bias.fill_(-10.0)
        heads[0][3].bias.fill_(10.0)
    return model


@needs_spconv
def test_one_training_step_of_the_tiny_model_with_backend_spconv():
    """backend=spconv wires spconv into NVPanoptix3D's completion; one SGD step on the 3D losses gives the
    sparse backend's losses and updated parameters."""
    from nvpanoptix3d.geometry import FRONT3D_INTRINSIC, FrustumGrid, scale_intrinsic  # noqa: PLC0415
    from nvpanoptix3d.network.frustum3d import SetCriterion3D  # noqa: PLC0415

    d, size = 64, (64, 48)
    k = torch.from_numpy(scale_intrinsic(FRONT3D_INTRINSIC, (320, 240), size))[None]
    frustum = torch.from_numpy(FrustumGrid.cube(d, 0.1).frustum_mask(k[0].numpy(), size))[None]
    fine = torch.zeros(d, d, d)
    fine[26:38, 26:38, 30] = 1
    occ = [[fine, torch.nn.functional.max_pool3d(fine[None, None], 2)[0, 0],
            torch.nn.functional.max_pool3d(fine[None, None], 4)[0, 0]]]
    masks = torch.zeros(2, d, d, d, dtype=torch.bool)
    masks[0, 26:32, 26:38, 30], masks[1, 32:38, 26:38, 30] = True, True
    g = torch.Generator().manual_seed(3)
    batch = {"frustum_mask": frustum, "occupancy": occ, "gt_masks_3d": [masks],
             "weighting": torch.rand(1, d, d, d, generator=g) + 0.5, "geometry": torch.rand(1, d, d, d, generator=g) * 4}
    images = torch.rand(1, 3, size[1], size[0], generator=torch.Generator().manual_seed(0))
    indices = [(torch.tensor([5, 2]), torch.tensor([0, 1]))]
    sparse, fast = _tiny_model("sparse").train(), _tiny_model("spconv").train()
    fast.load_state_dict(sparse.state_dict(), strict=True)
    assert all(m.executor == "spconv" for m in fast.completion.modules() if isinstance(m, SparseConv3d))
    results = []
    for model in (sparse, fast):
        opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
        losses = SetCriterion3D()(model(images, k, frustum, occupancy=occ, sparse_outputs=True), batch, indices)
        opt.zero_grad()
        losses["loss_3d"].backward()
        opt.step()
        results.append((losses, dict(model.completion.named_parameters())))
    (la, pa), (lb, pb) = results
    assert la["loss_3d"] > 0
    for name in la:
        torch.testing.assert_close(lb[name], la[name], **TOL, msg=name)
    for name, p in pa.items():
        torch.testing.assert_close(pb[name], p, **TOL, msg=name)
    w, w0 = fast.completion.input_encoders[0].conv1.weight, _tiny_model("sparse").completion.input_encoders[0]
    assert w.grad is not None and w.grad.abs().sum() > 0 and not torch.equal(w, w0.conv1.weight)  # it stepped


def test_missing_spconv_is_the_one_line_install_error(monkeypatch):
    """Without spconv the layer still builds (same state dict: the checkpoint runs under backend=sparse); its
    first forward raises SPCONV_MISSING, which the entrypoint prints as one line."""
    monkeypatch.setattr(spconv_exec, "spconv_ops", None)
    _, fast = _pair(kernel_size=3)
    with pytest.raises(SpconvMissingError) as err:
        fast(_voxels(20))
    assert str(err.value) == SPCONV_MISSING and "model.frustum3d.backend=sparse" in str(err.value)
    assert isinstance(err.value, ImportError)


def test_entrypoint_prints_the_missing_spconv_error_as_one_line(monkeypatch, tmp_path, capsys):
    """An action that meets SpconvMissingError exits 1 with the message on one line, no traceback."""
    import sys  # noqa: PLC0415
    import types  # noqa: PLC0415

    from nvpanoptix3d import entrypoint  # noqa: PLC0415

    def run_train(spec, results_dir):
        raise SpconvMissingError(SPCONV_MISSING)

    monkeypatch.setitem(sys.modules, "t16_fake_train", types.SimpleNamespace(run_train=run_train))
    monkeypatch.setitem(entrypoint.ACTIONS, "train", ("t16_fake_train", "run_train"))
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"results_dir: {tmp_path / 'res'}\nmodel:\n  frustum3d:\n    backend: spconv\n")
    assert entrypoint.main(["train", "-e", str(spec)]) == 1
    log = (tmp_path / "res" / "train" / "log.txt")
    text = capsys.readouterr().err + (log.read_text() if log.exists() else "")
    assert "train failed: " + SPCONV_MISSING in text and "Traceback" not in text
