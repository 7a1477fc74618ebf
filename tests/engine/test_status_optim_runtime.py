import json

import pytest
import torch
from torch import nn

from nvpanoptix3d.config import load_spec
from nvpanoptix3d.engine.errors import EngineError
from nvpanoptix3d.engine.optim import WarmupPoly, build_optimizer, build_scheduler, param_groups
from nvpanoptix3d.engine.runtime import encryption_key, plan_devices, precision_setup
from nvpanoptix3d.engine.status import StatusFile


# ---------------------------------------------------------------- status.json
def test_status_entries_best_and_valid_json(tmp_path):
    st = StatusFile(tmp_path, action="train", metric="PRQ", direction="maximize")
    st.write()
    assert json.loads((tmp_path / "status.json").read_text())["status"] == "running"
    st.add_entry(epoch=0, step=2, kpi={"PRQ": 0.1, "PQ": float("nan")}, loss={"loss": torch.tensor(3.0)})
    st.add_entry(epoch=1, step=4, kpi={"PRQ": 0.3}, loss={})
    st.add_entry(epoch=2, step=6, kpi={"PRQ": 0.2}, loss={})
    st.finish("done")
    data = json.loads((tmp_path / "status.json").read_text())
    assert data["status"] == "done" and data["network"] == "nvpanoptix3d"
    assert data["monitor"] == {"metric": "PRQ", "direction": "maximize"}
    assert data["best"] == {"metric": "PRQ", "value": 0.3, "epoch": 1, "step": 4}
    assert data["entries"][0]["kpi"]["PQ"] is None and data["entries"][0]["loss"]["loss"] == 3.0
    assert not list(tmp_path.glob(".*.tmp"))


def test_status_resume_keeps_earlier_entries(tmp_path):
    st = StatusFile(tmp_path, action="train", metric="val_loss", direction="minimize")
    st.resume_from({"entries": [{"epoch": 0, "step": 2, "kpi": {"val_loss": 2.0}},
                                {"epoch": 1, "step": 4, "kpi": {"val_loss": 1.0}}]}, up_to_step=2)
    st.add_entry(epoch=1, step=4, kpi={"val_loss": 1.5})
    assert [e["step"] for e in st.entries] == [2, 4] and st.data["best"]["value"] == 1.5


# ---------------------------------------------------------------- optimiser
class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4))
        self.head = nn.Linear(4, 2)


def test_param_groups_backbone_multiplier_and_no_decay():
    groups = {g["name"]: g for g in param_groups(_Net(), lr=1e-3, backbone_multiplier=0.1, weight_decay=0.05)}
    assert groups["backbone"]["lr"] == pytest.approx(1e-4) and groups["backbone"]["weight_decay"] == 0.05
    assert groups["backbone_no_decay"]["weight_decay"] == 0.0  # LayerNorm + biases
    assert groups["head"]["lr"] == 1e-3
    assert sum(len(g["params"]) for g in groups.values()) == 6
    net = _Net()
    groups = param_groups(net, lr=1e-3, backbone_multiplier=0.1, weight_decay=0.05, frozen=["backbone."])
    assert {g["name"] for g in groups} == {"head", "head_no_decay"}
    assert not net.backbone[0].weight.requires_grad


def test_multistep_per_epoch_at_milestones():
    opt = build_optimizer(param_groups(_Net(), lr=1.0, backbone_multiplier=1.0, weight_decay=0.0), lr=1.0,
                          momentum=0.9, weight_decay=0.0)
    cfg = build_scheduler(opt, kind="MultiStep", milestones=[2, 4], gamma=0.5, max_steps=100, warmup_iters=0,
                          warmup_factor=1.0)
    assert cfg["interval"] == "epoch"
    lrs = []
    for _ in range(5):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        cfg["scheduler"].step()
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25]


def test_warmup_poly_per_step():
    f = WarmupPoly(max_steps=100, warmup_iters=10, warmup_factor=0.1)
    assert f(0) == pytest.approx(0.1 * (1 - 0) ** 0.9)
    assert f(5) == pytest.approx((0.1 * 0.5 + 0.5) * (1 - 0.05) ** 0.9)
    assert f(50) == pytest.approx(0.5 ** 0.9) and f(100) == 0.0 and f(150) == 0.0
    opt = torch.optim.AdamW(_Net().parameters(), lr=1.0)
    for kind in ("Warmuppoly", "WarmupPoly"):
        cfg = build_scheduler(opt, kind=kind, milestones=[], gamma=0.1, max_steps=100, warmup_iters=10,
                              warmup_factor=0.1)
        assert cfg["interval"] == "step"
    with pytest.raises(ValueError, match="unknown train.optim.lr_scheduler"):
        build_scheduler(opt, kind="Cosine", milestones=[], gamma=0.1, max_steps=1, warmup_iters=0, warmup_factor=1)


# ---------------------------------------------------------------- runtime
def _spec(tmp_path, **train):
    import yaml

    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump({"train": train}))
    return load_spec(p)


def test_device_plan_cpu_processes_and_launcher_env(tmp_path):
    plan = plan_devices(_spec(tmp_path).train, env={}, cuda=False)
    assert (plan.accelerator, plan.devices, plan.num_nodes, plan.strategy) == ("cpu", 1, 1, "auto")
    spec = _spec(tmp_path, num_gpus=2, activation_checkpoint=False)
    plan = plan_devices(spec.train, env={}, cuda=False)
    assert plan.devices == 2 and plan.world_size == 2
    assert plan.strategy._process_group_backend == "gloo"
    assert plan.strategy._ddp_kwargs["find_unused_parameters"] is True
    spec = _spec(tmp_path, num_gpus=2, activation_checkpoint=True)
    assert plan_devices(spec.train, env={}, cuda=False).strategy._ddp_kwargs["find_unused_parameters"] is False
    plan = plan_devices(_spec(tmp_path).train, env={"NUM_GPU_PER_NODE": "2", "WORLD_SIZE": "4"}, cuda=False)
    assert (plan.devices, plan.num_nodes, plan.world_size) == (2, 2, 4)
    with pytest.raises(EngineError, match="fsdp needs CUDA"):
        plan_devices(_spec(tmp_path, num_gpus=2, distributed_strategy="fsdp").train, env={}, cuda=False)


def test_precision_flags():
    assert precision_setup("fp32", "cpu") == ("32-true", [])
    assert precision_setup("bf16", "cpu") == ("bf16-mixed", [])
    flag, plugins = precision_setup("fp16", "cpu")
    assert flag is None and plugins[0].precision == "16-mixed" and plugins[0].scaler is not None
    assert precision_setup("fp16", "gpu") == ("16-mixed", [])


def test_encryption_key_from_env_when_redacted(tmp_path, monkeypatch):
    import yaml

    p = tmp_path / "s.yaml"
    monkeypatch.setenv("TAO_SKILL_ENCRYPTION_KEY", "from-env")
    for value, want in (("***", "from-env"), ("", "from-env"), ("literal", "literal")):
        p.write_text(yaml.safe_dump({"encryption_key": value}))
        assert encryption_key(load_spec(p)) == want
    monkeypatch.delenv("TAO_SKILL_ENCRYPTION_KEY")
    p.write_text(yaml.safe_dump({"encryption_key": "***"}))
    assert encryption_key(load_spec(p)) is None
