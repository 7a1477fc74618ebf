"""Reading NVIDIA's parity fixtures (``../shared/fixtures/nvpanoptix3d_parity/<part>``) and comparing with
the rule of their ``check_fixture.py``: max|ours - ref| <= atol + rtol * max|ref| (integers exact)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

_REPO = Path(__file__).resolve().parents[3]
PARITY_DIR = Path(os.environ.get("NVPANOPTIX3D_PARITY_DIR", _REPO.parent / "shared" / "fixtures" / "nvpanoptix3d_parity"))


@dataclass
class Fixture:
    part: str
    config: dict
    weights: dict[str, torch.Tensor] | None
    inputs: dict[str, torch.Tensor]
    outputs: dict[str, torch.Tensor]


def load_fixture(part: str) -> Fixture:
    """One part's config, weights (NVIDIA key names relative to the part, or None), inputs and outputs."""
    from safetensors.torch import load_file

    d = PARITY_DIR / part
    if not d.is_dir():
        raise FileNotFoundError(f"parity fixture {d} not found (set NVPANOPTIX3D_PARITY_DIR)")
    config = json.loads((d / "config.json").read_text())
    wpath = d / "weights.safetensors"
    return Fixture(part, config, load_file(str(wpath)) if wpath.exists() else None,
                   load_file(str(d / "inputs.safetensors")), load_file(str(d / "outputs.safetensors")))


def _sort_rows(coords: torch.Tensor, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    c = coords.to(torch.int64).numpy()
    f = feats.to(torch.float64).numpy()
    keys = [f[:, j] for j in range(f.shape[1] - 1, -1, -1)] + [c[:, j] for j in range(c.shape[1] - 1, -1, -1)]
    order = torch.from_numpy(np.lexsort(keys)) if keys else torch.arange(len(c))
    return coords[order], feats[order]


def compare(name: str, ours: torch.Tensor, ref: torch.Tensor, atol: float, rtol: float) -> tuple[bool, float, str]:
    """(passed, error relative to max|ref|, message) for one tensor."""
    ours = torch.as_tensor(ours).detach().cpu()
    ref = torch.as_tensor(ref).detach().cpu()
    if tuple(ours.shape) != tuple(ref.shape):
        return False, float("inf"), f"{name}: shape {tuple(ours.shape)} != reference {tuple(ref.shape)}"
    if not ref.is_floating_point():
        bad = int((ours.to(torch.int64) != ref.to(torch.int64)).sum()) if ref.numel() else 0
        return bad == 0, float(bad), f"{name}: {bad}/{ref.numel()} integer mismatches"
    if ref.numel() == 0:
        return True, 0.0, f"{name}: empty"
    o, r = ours.to(torch.float64), ref.to(torch.float64)
    fin = torch.isfinite(r)
    same_nonfinite = bool(torch.equal(torch.isfinite(o), fin)) and bool(torch.equal(o[~fin], r[~fin]))
    if not fin.any():
        return same_nonfinite, 0.0, f"{name}: all non-finite"
    d = float((o[fin] - r[fin]).abs().max())
    scale = float(r[fin].abs().max())
    rel = d / scale if scale else d
    ok = same_nonfinite and d <= atol + rtol * scale
    return ok, rel, f"{name}: max|d| {d:.3e}, relative to max|ref| {rel:.3e}{'' if same_nonfinite else ', non-finite pattern differs'}"


def assert_matches(fx: Fixture, ours: dict[str, torch.Tensor], *, atol: float = 1e-4, rtol: float = 1e-4,
                   only: list[str] | None = None) -> dict[str, float]:
    """Every reference output (or those in ``only``) reproduced; returns the relative error per tensor."""
    ours = {k: torch.as_tensor(v).detach().cpu() for k, v in ours.items()}
    ref = dict(fx.outputs)
    for ck, fk in fx.config.get("unordered_row_sets", []):
        for side in (ours, ref):
            if ck in side and fk in side and side[ck].shape[0] == side[fk].shape[0]:
                side[ck], side[fk] = _sort_rows(side[ck], side[fk])
    failures, errors = [], {}
    for name in sorted(only or ref):
        if name not in ours:
            failures.append(f"{name}: missing from our outputs")
            continue
        ok, rel, msg = compare(name, ours[name], ref[name], atol, rtol)
        errors[name] = rel
        if not ok:
            failures.append(msg)
    assert not failures, f"{fx.part}: " + "; ".join(failures)
    return errors
