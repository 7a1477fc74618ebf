import os

import pytest
import torch

from nvpanoptix3d.engine.checkpoint_io import (LATEST, ForeignObject, decrypt_bytes, encrypt_bytes, is_encrypted,
                                               load_checkpoint, load_weights, resolve_checkpoint, save_checkpoint,
                                               update_latest)
from nvpanoptix3d.engine.errors import CheckpointError


def _ckpt():
    return {"state_dict": {"w": torch.arange(6.0).reshape(2, 3)}, "network": "nvpanoptix3d", "stage": "2d",
            "epoch": 1, "global_step": 7}


def test_plain_round_trip(tmp_path):
    p = save_checkpoint(_ckpt(), tmp_path / "a.pth")
    assert not is_encrypted(p)
    ck = load_checkpoint(p)
    assert torch.equal(ck["state_dict"]["w"], _ckpt()["state_dict"]["w"]) and ck["global_step"] == 7
    assert not list(tmp_path.glob(".*tmp"))


def test_encrypted_round_trip_and_wrong_key(tmp_path):
    p = save_checkpoint(_ckpt(), tmp_path / "enc.pth", key="s3cret passphrase")
    assert is_encrypted(p)
    assert b"s3cret" not in p.read_bytes()
    assert oct(p.stat().st_mode & 0o777) == "0o600"
    ck = load_checkpoint(p, key="s3cret passphrase")
    assert torch.equal(ck["state_dict"]["w"], _ckpt()["state_dict"]["w"])
    with pytest.raises(CheckpointError, match="wrong encryption_key"):
        load_checkpoint(p, key="another")
    with pytest.raises(CheckpointError, match="is encrypted: set encryption_key"):
        load_checkpoint(p)


def test_each_encryption_uses_fresh_salt_and_detects_tampering():
    a, b = encrypt_bytes(b"payload", "k"), encrypt_bytes(b"payload", "k")
    assert a != b
    assert decrypt_bytes(a, "k") == b"payload"
    flipped = a[:-1] + bytes([a[-1] ^ 1])
    with pytest.raises(CheckpointError, match="wrong encryption_key"):
        decrypt_bytes(flipped, "k")


def test_bad_inputs_name_the_file(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pth", what="evaluate.checkpoint")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match=r"junk.pth is not a readable PyTorch checkpoint"):
        load_checkpoint(junk)
    other = save_checkpoint({"state_dict": {}, "network": "dino"}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="belongs to network `dino`"):
        load_checkpoint(other)


def _touch(path):
    """Stands for code a pickled object would run on load."""
    open(path, "w").close()


class _RunsCodeOnLoad:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (_touch, (self.path,))


def test_raw_state_dict_is_wrapped_and_pickled_objects_are_never_run(tmp_path):
    """Foreign Python objects (a TAO/Lightning file's config, NumPy values) load as inert ForeignObject data:
    the weights load, no code of the file runs; the modules torch blocks (os, sys) are still refused."""
    torch.save({"a": torch.zeros(2)}, tmp_path / "raw.pth")
    assert set(load_checkpoint(tmp_path / "raw.pth")["state_dict"]) == {"a"}
    flag = tmp_path / "code-ran"
    torch.save({"state_dict": {"w": torch.ones(2)}, "obj": ValueError("x"), "hook": _RunsCodeOnLoad(str(flag)),
                "epoch": 3}, tmp_path / "obj.pth")
    ck = load_checkpoint(tmp_path / "obj.pth")
    assert not flag.exists()
    assert isinstance(ck["obj"], ForeignObject) and isinstance(ck["hook"], ForeignObject)
    assert torch.equal(ck["state_dict"]["w"], torch.ones(2)) and ck["epoch"] == 3
    torch.save({"state_dict": {}, "f": os.system}, tmp_path / "os.pth")
    with pytest.raises(CheckpointError, match="not loaded from untrusted files"):
        load_checkpoint(tmp_path / "os.pth")


def test_state_dict_layouts(tmp_path):
    """The weights are found under state_dict, model_state_dict, model (also nested) or as the raw dict."""
    w = {"model.a": torch.zeros(2)}
    for i, layout in enumerate(({"state_dict": w, "tao_model": "panoptic_recon_3d"}, {"model": w, "epoch": 1},
                                {"model_state_dict": w}, {"module": {"state_dict": w}}, w)):
        torch.save(layout, tmp_path / f"{i}.pth")
        ck = load_checkpoint(tmp_path / f"{i}.pth")
        assert set(ck["state_dict"]) == {"model.a"}, layout.keys()
    torch.save({"epoch": 1, "cfg": {"lr": 0.1}}, tmp_path / "none.pth")
    with pytest.raises(CheckpointError, match="has no state dict"):
        load_checkpoint(tmp_path / "none.pth")


def test_latest_pointer_and_folder_resolution(tmp_path):
    a = save_checkpoint(_ckpt(), tmp_path / "model_epoch_000_step_00001.pth")
    update_latest(tmp_path, a)
    b = save_checkpoint(dict(_ckpt(), global_step=9), tmp_path / "model_epoch_000_step_00002.pth")
    update_latest(tmp_path, b)
    assert resolve_checkpoint(tmp_path) == tmp_path / LATEST
    assert load_checkpoint(tmp_path)["global_step"] == 9
    with pytest.raises(CheckpointError, match="without latest.pth"):
        resolve_checkpoint(tmp_path / "sub" if (tmp_path / "sub").mkdir() is None else tmp_path)


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    p = save_checkpoint(_ckpt(), tmp_path / "a.pth")
    before = p.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        save_checkpoint(dict(_ckpt(), global_step=99), p)
    assert p.read_bytes() == before
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_load_weights_reports_and_rejects_foreign_models():
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    state = {f"model.{k}": v + 1 for k, v in net.state_dict().items()}
    rep = load_weights(net, state, source="x")
    assert len(rep["loaded"]) == 4 and not rep["missing"]
    assert torch.equal(net[0].weight, state["model.0.weight"])
    with pytest.raises(CheckpointError, match="does not hold NVPanoptix3D weights"):
        load_weights(net, {"encoder.conv.weight": torch.zeros(1)}, source="foreign.pth")
    with pytest.raises(CheckpointError, match="differ in shape"):
        load_weights(net, {"0.weight": torch.zeros(5, 3)}, source="other-size.pth")


def test_pretrained_backbone_loads_vggt_and_tao_layouts(tmp_path, tiny_vggt_model):
    """model.backbone.pretrained_model_path takes an official VGGT file (aggregator.*, camera_head.*,
    depth_head.*; its other heads ignored) or a TAO checkpoint (model.backbone.*); never the 2D head's keys."""
    from pathlib import Path

    from nvpanoptix3d.config.loader import load_spec
    from nvpanoptix3d.engine.train import backbone_state, initialise_weights

    torch.manual_seed(0)
    parts = ("aggregator.", "camera_head.", "depth_head.")
    vggt = {k: v + 1.0 for k, v in tiny_vggt_model().backbone.state_dict().items() if k.startswith(parts)}
    assert {k.split(".")[0] for k in vggt} == {"aggregator", "camera_head", "depth_head"}
    vggt["point_head.proj.weight"] = torch.zeros(3)
    tao = {f"model.backbone.{k}": v for k, v in vggt.items()}
    tao["model.sem_seg_head.depth_head.0.weight"] = torch.zeros(2)
    assert "depth_head.0.weight" not in backbone_state(tao) and "point_head.proj.weight" not in backbone_state(vggt)
    spec_file = Path(__file__).resolve().parents[2] / "references" / "demo_spec_tiny.yaml"
    for name, state in (("vggt.pth", vggt), ("tao.pth", {"state_dict": tao})):
        torch.save(state, tmp_path / name)
        spec = load_spec(spec_file, {"model.backbone.pretrained_model_path": str(tmp_path / name)})
        model = tiny_vggt_model()
        initialise_weights(model, spec, "2d", None)
        for k, v in model.backbone.state_dict().items():
            if k.startswith(parts):
                assert torch.equal(v, vggt[k]), k


def test_load_weights_names_every_missing_tensor_and_lists_unused_ones():
    """A file lacking tensors of the part being initialised is an error naming them (not random weights)."""
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    full = {f"model.{k}": v.clone() for k, v in net.state_dict().items()}
    partial = {k: v for k, v in full.items() if not k.startswith("model.2.")}
    with pytest.raises(CheckpointError) as err:
        load_weights(net, partial, source="part.pth")
    assert "lacks 2 of the" in str(err.value) and "2.weight" in str(err.value) and "2.bias" in str(err.value)
    rep = load_weights(net, partial, source="part.pth", allow_missing=True)
    assert sorted(rep["missing"]) == ["2.bias", "2.weight"]
    # BatchNorm's step counter may be absent; tensors the model does not use are reported
    no_counter = {k: v for k, v in full.items() if not k.endswith("num_batches_tracked")}
    rep = load_weights(net, {**no_counter, "model.extra.weight": torch.zeros(1)}, source="x.pth")
    assert rep["unexpected"] == ["extra.weight"] and not rep["missing"]
