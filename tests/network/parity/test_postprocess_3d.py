"""NVIDIA's 3D panoptic post-processing (``NVPanoptix3DModel.panoptic_3d_inference``) on its parity fixture."""

from __future__ import annotations

import torch

from nvpanoptix3d.network.frustum3d.postprocess import panoptic_3d, panoptic_3d_inference
from tests.network.parity.fixtures import assert_matches, load_fixture


def _run(fx, **kw) -> dict:
    c = fx.config["constructor_args"]
    coords = fx.inputs["sparse_masks.coords"]
    assert (coords[:, 0] == 0).all()
    return panoptic_3d_inference(fx.inputs["geometry"], fx.inputs["mask_cls"], coords[:, 1:],
                                 fx.inputs["sparse_masks.features"], num_thing_classes=c["num_thing_classes"],
                                 object_mask_threshold=c["object_mask_threshold"], **kw)


def test_panoptic_3d_inference_matches_nvidia():
    fx = load_fixture("postprocess_3d")
    r = _run(fx)
    mapping = torch.tensor(list(r["mapping"].items()), dtype=torch.int64).reshape(-1, 2)
    assert_matches(fx, {"panoptic_seg": r["panoptic"], "semantic_seg": r["semantic"],
                        "panoptic_semantic_mapping": mapping})
    assert [[s["id"], s["category_id"]] for s in r["segments"]] == mapping.tolist()


def test_engine_entry_point_reads_the_masks_at_the_occupied_voxels_only():
    """panoptic_3d on dense outputs whose occupied voxels are the fixture's mask support equals NVIDIA's
    inference on the geometry densified with the truncation; dense mask logits off the support are ignored
    (NVIDIA's masks exist only at the final sparse voxels)."""
    fx = load_fixture("postprocess_3d")
    c = fx.config["constructor_args"]
    geometry, feats = fx.inputs["geometry"], fx.inputs["sparse_masks.features"]
    coords = fx.inputs["sparse_masks.coords"].long()
    d = geometry.shape[0]
    x, y, z = coords[:, 1:].unbind(1)
    occ_logit = torch.full((1, d, d, d), -20.0)
    occ_logit[0, x, y, z] = 20.0
    masks = torch.full((1, feats.shape[1], d, d, d), 7.0)
    masks[0][:, x, y, z] = feats.T
    outputs = {"pred_occupancy": [occ_logit], "pred_masks_3d": [masks], "pred_logits": fx.inputs["mask_cls"][None],
               "pred_geometry": geometry[None]}
    r = panoptic_3d(outputs, 0, frustum=torch.ones(d, d, d, dtype=torch.bool), num_thing_classes=c["num_thing_classes"],
                    object_mask_threshold=c["object_mask_threshold"], truncation=3.0)
    densified = torch.where(occ_logit[0] > 0, geometry, torch.full_like(geometry, 3.0))
    ref = panoptic_3d_inference(densified, fx.inputs["mask_cls"], coords[:, 1:], feats,
                                num_thing_classes=c["num_thing_classes"], object_mask_threshold=c["object_mask_threshold"])
    assert torch.equal(r["panoptic"], ref["panoptic"]) and r["segments"] == ref["segments"]
    assert torch.equal(r["semantic"], ref["semantic"].long()) and int((r["panoptic"] > 0).sum()) > 100
    things = torch.tensor([s["id"] for s in r["segments"] if s["isthing"]], dtype=torch.int32)
    assert torch.equal(r["instance"] > 0, torch.isin(r["panoptic"], things))
