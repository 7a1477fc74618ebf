"""NVIDIA's 2D panoptic post-processing (``model_2d.Postprocessor``) reproduced on its parity fixture."""

from __future__ import annotations

import torch

from nvpanoptix3d.network.postprocess import Postprocessor, panoptic_2d, panoptic_inference_2d
from tests.network.parity.fixtures import assert_matches, load_fixture


def _postprocessor(cfg: dict) -> Postprocessor:
    o = cfg["cfg_overrides"]
    return Postprocessor(num_thing_classes=o["dataset.num_thing_classes"],
                         object_mask_threshold=o["model.object_mask_threshold"],
                         overlap_threshold=o["model.overlap_threshold"], depth_scale=o["dataset.depth_scale"])


def _flat(results: list[dict], outputs: dict) -> dict[str, torch.Tensor]:
    flat = {"pred_depths_pad": outputs["pred_depths_pad"]}
    for b, r in enumerate(results):
        ids, info = r["panoptic_seg"]
        flat[f"{b}.panoptic_seg"] = ids
        flat[f"{b}.segments_info"] = torch.tensor([[s["id"], int(s["isthing"]), s["category_id"]] for s in info],
                                                  dtype=torch.int64).reshape(-1, 3)
        flat[f"{b}.depth"] = r["depth"]
        flat[f"{b}.sem_seg"] = r["sem_seg"]
    return flat


def test_postprocessor_matches_nvidia():
    fx = load_fixture("postprocess_2d")
    a = fx.config["forward_args"]
    outputs = {k: fx.inputs[k].clone() for k in ("pred_logits", "pred_masks", "pred_depths")}
    module = _postprocessor(fx.config).eval()
    with torch.no_grad():
        results = module(outputs, tuple(a["orig_shape"]), tuple(a["orig_pad_shape"]), a["output_scale"])
    errors = assert_matches(fx, _flat(results, outputs))
    assert all(e == 0.0 for e in errors.values()), errors  # no arithmetic beyond NVIDIA's own ops
    assert (results[0]["panoptic_seg"][0] > 0).all()  # void recovery: stuff segments leave no void pixel


def test_engine_entry_point_equals_the_postprocessor():
    fx = load_fixture("postprocess_2d")
    a = fx.config["forward_args"]
    o = fx.config["cfg_overrides"]
    for b in range(fx.inputs["pred_logits"].shape[0]):
        r = panoptic_2d(fx.inputs["pred_logits"][b], fx.inputs["pred_masks"][b], size=tuple(a["orig_shape"]),
                        pad_size=tuple(a["orig_pad_shape"]), depth=fx.inputs["pred_depths"][b],
                        num_thing_classes=o["dataset.num_thing_classes"],
                        object_mask_threshold=o["model.object_mask_threshold"],
                        overlap_threshold=o["model.overlap_threshold"], depth_scale=o["dataset.depth_scale"])
        assert torch.equal(r["panoptic"], fx.outputs[f"{b}.panoptic_seg"])
        assert torch.equal(r["sem_seg"], fx.outputs[f"{b}.sem_seg"])
        assert torch.equal(r["depth"], fx.outputs[f"{b}.depth"])
        rows = [[s["id"], int(s["isthing"]), s["category_id"]] for s in r["segments"]]
        assert rows == fx.outputs[f"{b}.segments_info"].tolist()


def test_no_kept_query_returns_the_depth_unclamped():
    logits = torch.zeros(3, 5)
    logits[:, -1] = 10.0  # every query says no-object
    depth = torch.tensor([[[-1.0, 30.0]]])
    r = panoptic_inference_2d(logits, torch.zeros(3, 1, 2), depth, depth_scale=25.0)
    assert torch.equal(r["depth"], depth[0]) and not r["segments"] and (r["panoptic"] == 0).all()
    logits[0] = torch.tensor([10.0, 0, 0, 0, 0])  # one confident class-0 (stuff) query: clamped
    r = panoptic_inference_2d(logits, torch.full((3, 1, 2), 5.0), depth, depth_scale=25.0)
    assert r["depth"].tolist() == [[0.0, 25.0]] and r["segments"][0]["isthing"] is False


def test_postprocessor_has_no_state_like_nvidia():
    import json

    from tests.network.parity.fixtures import PARITY_DIR

    keys = json.loads((PARITY_DIR.parents[1] / "reference" / "nv_state_dict_keys.json").read_text())
    assert not [k for k in keys["models"]["2d"]["state_dict"] if k.startswith("post_processor.")]
    with torch.device("meta"):
        assert Postprocessor().state_dict() == {}
