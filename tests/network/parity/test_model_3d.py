"""The full 2D+3D model at the spec defaults (``full`` preset) has NVIDIA's state dict, entry for entry, and
NVIDIA's TAO Lightning checkpoint layout maps onto it."""

from __future__ import annotations

import json

import torch

from nvpanoptix3d.config import ExperimentConfig
from nvpanoptix3d.engine.build import model_kwargs_3d
from nvpanoptix3d.network.frustum3d import NVPanoptix3D, is_3d_key
from tests.network.parity.module_checks import NV_KEYS, nv_shapes, our_shapes


def _full_3d(**overrides) -> NVPanoptix3D:
    with torch.device("meta"):
        return NVPanoptix3D(**{**model_kwargs_3d(ExperimentConfig()), **overrides})


def test_full_preset_state_dict_is_nvidias_3d_model_entry_for_entry():
    nv = nv_shapes("3d", "")
    assert len(nv) == 2083
    for backend in ("dense", "sparse"):  # both backends read the same weights
        ours = our_shapes(_full_3d(backend=backend))
        assert sorted(set(nv) - set(ours)) == [] and sorted(set(ours) - set(nv)) == [], backend
        assert {k: v for k, v in ours.items() if nv[k] != v} == {}, backend


def test_tao_lightning_layout_and_the_3d_key_rule():
    """NVIDIA's Lightning checkpoints prefix ``model.`` and add ``criterion.empty_weight``; the 3D keys are
    exactly NVIDIA's 3D-only modules (``projector``, ``completion``): 85 entries."""
    layout = json.loads(NV_KEYS.read_text())["checkpoint_layout"]
    assert layout["lightning_state_dict_prefix"] == "model." and layout["lightning_entries_3d"] == 2084
    nv = nv_shapes("3d", "")
    assert sum(is_3d_key("model." + k) for k in nv) == 76 + 9
    assert not any(is_3d_key(k) for k in nv_shapes("2d", ""))
