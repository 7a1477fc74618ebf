"""The dense twin of NVIDIA's ``use_multi_scale`` path (``feature_adapters`` on masked stride-2/4/8 volumes) and
the 3D ONNX export of a multi-scale model: the exported graph equals the sparse execution on the same voxels,
and onnxruntime equals PyTorch. A small model on a 32^3 grid of 0.25 m voxels, where every multi-scale voxel
lies inside its level's grid (the condition of the dense twin)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nvpanoptix3d.engine.export import (MS_INPUTS_3D, OUTPUTS_3D, Export3D, _export, _relative_diff, check_onnx,
                                        flat_3d_outputs, lift_for_export)
from nvpanoptix3d.geometry import FRONT3D_INTRINSIC, FrustumGrid, scale_intrinsic
from nvpanoptix3d.network import backbone_preset
from nvpanoptix3d.network.completion.voxel_index import in_grid
from nvpanoptix3d.network.frustum3d import NVPanoptix3D
from tests.network.test_multi_scale_3d import SIZE, SMALL

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/network/conftest.py
D, VOXEL = 32, 0.25


def test_the_multi_scale_3d_model_exports_and_equals_the_sparse_execution(tmp_path):
    torch.manual_seed(0)
    model = NVPanoptix3D(backbone=backbone_preset("tiny", vggt_input_width=112), grid_dims=D, voxel_size=VOXEL,
                         unet_features=4, unet_output_channels=4, backend="sparse", object_mask_threshold=0.0,
                         use_multi_scale=True, **SMALL).eval()
    k = torch.from_numpy(scale_intrinsic(FRONT3D_INTRINSIC, (320, 240), SIZE)).float()[None]
    frustum = torch.from_numpy(FrustumGrid.cube(D, VOXEL).frustum_mask(k[0].numpy(), SIZE))[None]
    images = torch.rand(1, 3, SIZE[1], SIZE[0], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out2d = super(NVPanoptix3D, model).forward(images)
        out2d["encoder_features"] = model.encoder_features(out2d)
        feeds, (voxels, levels, unbounded) = lift_for_export(model.lifter, out2d, k, frustum, SIZE, 4096,
                                                             multi_scale=True)
        assert unbounded is levels and all(bool(in_grid(lv.coords, lv.spatial_shape).all()) for lv in levels)
        assert list(feeds)[5:] == list(MS_INPUTS_3D) and [int(feeds[f"ms_num_voxels_{i}"]) for i in range(3)] == \
            [lv.num_voxels for lv in levels]
        assert all(lv.num_voxels > 0 for lv in levels)
        wrapper = Export3D(model).eval()
        got = wrapper(*feeds.values())
        sparse = flat_3d_outputs(model.complete(voxels, out2d["query_features"], frustum, ms_features=levels))
        without = flat_3d_outputs(model.complete(voxels, out2d["query_features"], frustum,
                                                 ms_features=[lv.replace(lv.feats * 0) for lv in levels]))
    for name, a, b in zip(OUTPUTS_3D, got, sparse):
        assert a.shape == b.shape, name
        assert _relative_diff(a, b) < 1e-4, name
    # the multi-scale voxels matter: zeroing them changes the outputs
    assert max(_relative_diff(a, b) for a, b in zip(sparse, without)) > 1e-3
    path = tmp_path / "model_3d.onnx"
    _export(wrapper, tuple(feeds.values()), path, input_names=list(feeds), output_names=list(OUTPUTS_3D),
            dynamic_axes=None, opset=17, verbose=False)
    diffs = check_onnx(path, {n: t.numpy() for n, t in feeds.items()}, [t.numpy() for t in got], list(OUTPUTS_3D))
    assert max(diffs.values()) < 1e-3 and np.isfinite(list(diffs.values())).all()
