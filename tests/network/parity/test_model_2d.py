"""The whole 2D stage (fixture ``model_2d``: NVIDIA's MaskFormerModel at small sizes, post-processing
included) and the ``full`` preset's state dict against NVIDIA's key list."""

from __future__ import annotations

import torch

from nvpanoptix3d.network.maskformer import MaskFormerModel
from tests.network.parity.fixtures import assert_matches, load_fixture
from tests.network.parity.module_checks import nv_shapes, our_shapes


def fixture_model(fx) -> MaskFormerModel:
    """Our model with the fixture's sizes (config.json ``small_sizes`` and ``cfg_overrides``)."""
    small, cfg = fx.config["small_sizes"], fx.config["cfg_overrides"]
    backbone = dict(embed_dim=small["vggt_embed_dim"], depth=24, num_heads=small["aggregator_extra_args"]["num_heads"],
                    dino_depth=small["dino_patch_embed"]["depth"], dino_num_heads=small["dino_patch_embed"]["num_heads"],
                    camera_trunk_depth=4, camera_num_heads=16,
                    dpt_out_channels=tuple(small["depth_head_extra_args"]["out_channels"]),
                    num_inter_features=tuple(small["vggt_num_inter_features"]), freeze_aggregator=True,
                    vggt_input_width=448)
    model = MaskFormerModel(
        backbone=backbone, num_classes=cfg["model.sem_seg_head.num_classes"], conv_dim=cfg["model.sem_seg_head.convs_dim"],
        mask_dim=cfg["model.sem_seg_head.mask_dim"], depth_dim=cfg["model.projection.depth_feature_dim"],
        enc_layers=cfg["model.sem_seg_head.transformer_enc_layers"], nheads=cfg["model.mask_former.nheads"],
        transformer_dim_feedforward=cfg["model.mask_former.transformer_dim_feedforward"],
        hidden_dim=cfg["model.mask_former.hidden_dim"], num_queries=cfg["model.mask_former.num_object_queries"],
        dim_feedforward=cfg["model.mask_former.dim_feedforward"], dec_layers=cfg["model.mask_former.dec_layers"],
        depth_bins=small["occupancy_module_args"]["num_bins"], reduced_size=(160, 120), size_divisibility=32)
    assert small["depth_head_extra_args"]["features"] == cfg["model.projection.depth_feature_dim"]
    model.load_state_dict(fx.weights, strict=True)
    return model.eval()


def test_model_2d_matches_nvidia():
    fx = load_fixture("model_2d")
    model = fixture_model(fx)
    with torch.no_grad():
        raw = model.forward_raw(fx.inputs["image"] / 255.0)
    pad = raw["orig_pad_shape"]
    ours = {k: raw[k] for k in ("pred_logits", "pred_masks", "pred_depths", "pose_enc", "occupancy_preds",
                                "segm_decoder_out", "depth_features")}
    ours["pred_depths_pad"] = model.to_image_frame(raw["pred_depths"], pad, pad)
    for i, aux in enumerate(raw["aux_outputs"]):
        ours[f"aux_outputs.{i}.pred_logits"] = aux["pred_logits"]
    ours["orig_pad_shape"] = torch.tensor(pad)
    ours["resized_shape"] = torch.tensor(raw["pred_depths"].shape[-2:])
    errors = assert_matches(fx, ours, atol=1e-4, rtol=1e-3, only=sorted(ours))
    print({k: f"{v:.1e}" for k, v in errors.items()})


def _full_model():
    from nvpanoptix3d.network.presets import backbone_preset

    with torch.device("meta"):
        return MaskFormerModel(backbone=backbone_preset("full"))


def test_full_preset_state_dict_is_nvidias_2d_model_entry_for_entry():
    ours, nv = our_shapes(_full_model()), nv_shapes("2d", "")
    assert len(nv) == 1998
    assert sorted(set(nv) - set(ours)) == [] and sorted(set(ours) - set(nv)) == []
    assert {k: v for k, v in ours.items() if nv[k] != v} == {}
