"""Dense 3D completion: masked instance norm (statistics over the lifted voxels only, as the sparse
backend's norm over active voxels) and the prior initialisation of the occupancy heads (both backends)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from nvpanoptix3d.network.frustum3d.completion import OCCUPANCY_PRIOR, FrustumCompletion, MaskedInstanceNorm3d
from nvpanoptix3d.network.frustum3d.sparse import SparseTensor
from nvpanoptix3d.network.frustum3d.sparse.conv import SparseInstanceNorm
from nvpanoptix3d.network.frustum3d.sparse_completion import SPARSE_OCCUPANCY_PRIOR, SparseFrustumCompletion


def _norm_with_random_affine(channels: int) -> MaskedInstanceNorm3d:
    norm = MaskedInstanceNorm3d(channels)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 2)
        norm.bias.uniform_(-1, 1)
    return norm


def test_masked_instance_norm_on_a_full_mask_is_instance_norm():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 5, 6)
    norm = _norm_with_random_affine(3)
    ref = F.instance_norm(x, weight=norm.weight, bias=norm.bias, eps=norm.eps)
    assert torch.allclose(norm(x, torch.ones(2, 1, 4, 5, 6)), ref, atol=1e-5)


def test_masked_instance_norm_matches_the_sparse_norm_and_ignores_empty_space():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 6, 6, 6)
    mask = torch.rand(2, 6, 6, 6) > 0.7
    norm = _norm_with_random_affine(3)
    dense = norm(x, mask[:, None].float())
    sparse = SparseInstanceNorm(3)
    sparse.load_state_dict(norm.state_dict())
    ref = sparse(SparseTensor.from_dense(x, mask)).dense()
    assert torch.allclose(dense, ref, atol=1e-5)
    # what lies outside the mask changes nothing
    y = torch.where(mask[:, None], x, torch.full_like(x, 100.0))
    assert torch.allclose(norm(y, mask[:, None].float()), dense, atol=1e-5)


def test_occupancy_heads_start_at_their_prior_in_both_backends():
    """Dense: the base-rate prior; sparse: the prune threshold (its heads also decide which voxels survive)."""
    for comp, prior in ((FrustumCompletion(in_channels=5, features=4, query_dim=8), OCCUPANCY_PRIOR),
                        (SparseFrustumCompletion(in_channels=5, features=4, query_dim=8), SPARSE_OCCUPANCY_PRIOR)):
        bias = math.log(prior / (1 - prior))
        for head in comp.occupancy_heads:
            assert torch.allclose(head.bias, torch.full_like(head.bias, bias))
    assert SPARSE_OCCUPANCY_PRIOR == SparseFrustumCompletion(in_channels=5, features=4, query_dim=8).prune_threshold
    vol = torch.zeros(1, 5, 8, 8, 8)
    vol[:, :, 2:6, 2:6, 2:6] = torch.randn(1, 5, 4, 4, 4)
    out = FrustumCompletion(in_channels=5, features=4, query_dim=8)(vol, torch.randn(1, 3, 8))
    p = out["pred_occupancy"][0].sigmoid()  # coarse level: bias only after the zeroed empty space
    assert abs(float(p.mean()) - OCCUPANCY_PRIOR) < 0.1
