"""NVIDIA's BackProjection (``back_projection``, no parameters): fixture parity, defaults, room mask, batching."""

from __future__ import annotations

import torch

from nvpanoptix3d.network.frustum3d.back_projection import BackProjection
from tests.network.parity.fixtures import assert_matches, load_fixture
from tests.network.parity.module_checks import nv_shapes


def _fixture_module():
    fx = load_fixture("back_projection")
    cfg = fx.config["cfg_overrides"]
    module = BackProjection(grid_dims=cfg["model.frustum3d.frustum_dims"],
                            voxel_size=cfg["model.projection.voxel_size"],
                            depth_min=cfg["dataset.depth_min"], depth_max=cfg["dataset.depth_max"],
                            depth_size=tuple(cfg["dataset.depth_size"]))
    return fx, module.eval(), tuple(fx.config["forward_args"]["shape"][:2])


def test_fixture_parity():
    fx, module, shape = _fixture_module()
    with torch.no_grad():
        kept, mapping = module(fx.inputs["intrinsic"], fx.inputs["frustum_mask"], image_shape=shape)
    assert kept.dtype == torch.bool
    errors = assert_matches(fx, {"kept": kept, "mapping": mapping})
    assert errors["mapping"] <= 1e-6, errors


def test_defaults_are_nvidias_and_parameter_free():
    fx = load_fixture("back_projection")
    nv = fx.config["nvidia_defaults"]
    module = BackProjection()
    assert module.grid_dims == nv["model.frustum3d.frustum_dims"]
    assert module.voxel_size == nv["model.projection.voxel_size"]
    assert module.depth_size == tuple(nv["dataset.depth_size"]) and module.image_size == (160, 120)
    assert (module.depth_min, module.depth_max) == (0.4, 6.0)
    assert module.state_dict() == {} and nv_shapes("3d", "back_projection.") == {}


def test_room_mask_and_batch():
    fx, module, shape = _fixture_module()
    k, m = fx.inputs["intrinsic"], fx.inputs["frustum_mask"]
    room = torch.zeros(1, 1, *shape, dtype=torch.bool)
    room[..., : shape[1] // 2] = True  # left half of the image
    kept, mapping = module(k.expand(2, -1, -1), m.expand(2, -1, -1, -1), room.expand(2, -1, -1, -1), image_shape=shape)
    ref = fx.outputs["kept"].bool()[0]
    left = ref & (mapping[1, ..., 1] < shape[1] // 2)
    assert torch.equal(kept[0], left) and torch.equal(kept[1], left) and 0 < int(left.sum()) < int(ref.sum())
    assert torch.equal(mapping[1, ..., 1:], fx.outputs["mapping"][0, ..., 1:])
    assert (mapping[1][ref][:, 0] == 1).all()
