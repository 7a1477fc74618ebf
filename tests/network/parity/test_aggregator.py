"""NVIDIA's VGGT aggregator (fixture ``aggregator``): parity, key names/shapes at full size, partial depth."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from nvpanoptix3d.network.aggregator import Aggregator
from tests.network.parity.fixtures import assert_matches, load_fixture

KEYS = Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "nv_state_dict_keys.json"


def _fixture_model(fx) -> Aggregator:
    c, dino = fx.config["constructor_args"], fx.config["dino_patch_embed"]
    model = Aggregator(img_size=c["img_size"], patch_size=c["patch_size"], embed_dim=c["embed_dim"], depth=c["depth"],
                       num_heads=c["num_heads"], mlp_ratio=c["mlp_ratio"],
                       num_register_tokens=c["num_register_tokens"], qk_norm=c["qk_norm"], rope_freq=c["rope_freq"],
                       init_values=c["init_values"], dino_embed_dim=dino["embed_dim"], dino_depth=dino["depth"],
                       dino_num_heads=dino["num_heads"])
    model.load_state_dict(fx.weights, strict=True)
    return model.eval()


def test_aggregator_matches_nvidia():
    fx = load_fixture("aggregator")
    model = _fixture_model(fx)
    with torch.no_grad():
        tokens, start = model(fx.inputs["images"])
    ours = {f"aggregated_tokens.{i}": t for i, t in enumerate(tokens)}
    ours["patch_start_idx"] = torch.tensor(start)
    errors = assert_matches(fx, ours)
    assert len(tokens) == fx.config["constructor_args"]["depth"]
    print(errors)


def test_last_layer_returns_the_same_prefix():
    fx = load_fixture("aggregator")
    model = _fixture_model(fx)
    with torch.no_grad():
        full, _ = model(fx.inputs["images"])
        part, start = model(fx.inputs["images"], last_layer=1)
    assert start == 5 and len(part) == 2
    for a, b in zip(part, full):
        assert torch.equal(a, b)


def test_two_frames_use_the_later_frame_tokens_and_train_with_checkpointing():
    torch.manual_seed(0)
    model = Aggregator(embed_dim=16, depth=2, num_heads=2, dino_embed_dim=16, dino_depth=1, dino_num_heads=2,
                       img_size=56, activation_checkpoint=True).train()
    images = torch.rand(2, 2, 3, 28, 42)
    tokens, start = model(images)
    assert [t.shape for t in tokens] == [torch.Size([2, 2, 5 + 6, 32])] * 2
    tokens[-1].sum().backward()
    assert model.camera_token.grad[0, 1].abs().sum() > 0  # index 1 feeds the second frame
    assert model.frame_blocks[0].attn.qkv.weight.grad is not None


def test_full_size_keys_and_shapes_equal_nvidia():
    with torch.device("meta"):
        model = Aggregator()
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    sd = json.loads(KEYS.read_text())["models"]["2d"]["state_dict"]
    prefix = "backbone.aggregator."
    ref = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
    assert len(ref) == 1210
    assert ours == ref
