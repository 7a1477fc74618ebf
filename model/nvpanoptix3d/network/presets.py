"""Named trunk presets (the name is the spec: ``model.backbone.preset``).

``full`` is the VGGT-1B aggregator's published geometry (patch 14, width 1024, 24 frame + 24 global
blocks, 16 heads, 4 register tokens); ``tiny`` trains on a laptop CPU. The decoder widths come from the
spec, not from the preset.
"""

from __future__ import annotations

from typing import Callable

_PRESETS: dict[str, Callable[..., dict]] = {}


def register_preset(fn: Callable[..., dict]) -> Callable[..., dict]:
    _PRESETS[fn.__name__] = fn
    return fn


@register_preset
def full(**overrides) -> dict:
    return dict(dict(patch_size=14, embed_dim=1024, depth=24, num_heads=16, num_register_tokens=4,
                     feature_layers=(4, 11, 17, 23), out_channels=(256, 512, 1024, 2048)), **overrides)


@register_preset
def tiny(**overrides) -> dict:
    return dict(dict(patch_size=8, embed_dim=96, depth=4, num_heads=4, num_register_tokens=2,
                     feature_layers=(0, 1, 2, 3), out_channels=(64, 64, 96, 128)), **overrides)


def list_presets() -> list[str]:
    return sorted(_PRESETS)


def backbone_preset(name: str, **overrides) -> dict:
    if name not in _PRESETS:
        raise ValueError(f"unknown backbone preset `{name}`; choose one of {', '.join(list_presets())}")
    return _PRESETS[name](**overrides)
