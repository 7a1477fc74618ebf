"""Checks shared by the parity tests of single convolutional parts: NVIDIA key/shape sets, one training step,
ONNX export compared with onnxruntime."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

_DEFAULT_KEYS = Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "nv_state_dict_keys.json"
NV_KEYS = Path(os.environ.get("NVPANOPTIX3D_NV_KEYS", _DEFAULT_KEYS))


def nv_shapes(model: str, prefix: str) -> dict[str, tuple[int, ...]]:
    """Key -> shape of NVIDIA's full default ``model`` ("2d"/"3d") under ``prefix``, prefix removed."""
    sd = json.loads(NV_KEYS.read_text())["models"][model]["state_dict"]
    return {k[len(prefix):]: tuple(v) for k, v in sd.items() if k.startswith(prefix)}


def our_shapes(module: nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def assert_trains(module: nn.Module, run, *, unused: tuple[str, ...] = ()) -> None:
    """One train-mode backward pass: every parameter (except names starting with ``unused``) gets a finite
    gradient, and the BatchNorm running statistics move."""
    module.train()
    before = {k: v.clone() for k, v in module.state_dict().items() if k.endswith("running_mean")}
    outs = run(module)
    loss = sum((o.float() ** 2).mean() for o in outs)
    loss.backward()
    for name, p in module.named_parameters():
        if name.startswith(unused):
            continue
        assert p.grad is not None, f"{name}: no gradient"
        assert torch.isfinite(p.grad).all(), f"{name}: non-finite gradient"
    assert any(not torch.equal(before[k], module.state_dict()[k]) for k in before), "BatchNorm stats unchanged"


def assert_onnx_matches(module: nn.Module, args: tuple[torch.Tensor, ...], *, rtol: float = 1e-4) -> None:
    """torch.onnx.export (opset 17, TorchScript exporter) run by onnxruntime equals PyTorch in eval mode:
    max|ort - torch| <= rtol * max|torch| per output."""
    import onnxruntime as ort

    module.eval()
    with torch.no_grad():
        ref = module(*args)
    ref = [ref] if isinstance(ref, torch.Tensor) else list(ref)
    names = [f"in{i}" for i in range(len(args))]
    buf = io.BytesIO()
    torch.onnx.export(module, args, buf, opset_version=17, dynamo=False, input_names=names,
                      output_names=[f"out{i}" for i in range(len(ref))])
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    feeds = {n: a.numpy() for n, a in zip(names, args)}
    got = sess.run(None, {i.name: feeds[i.name] for i in sess.get_inputs()})  # unused inputs are pruned
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        r = r.numpy()
        assert g.shape == r.shape
        err = float(np.abs(g - r).max())
        scale = float(np.abs(r).max())
        assert err <= rtol * scale, f"onnxruntime differs by {err:.3e} (max|ref| {scale:.3e})"
