"""The 3D stage: lifting into the camera-frustum grid, NVIDIA's completion network, 3D losses and panoptic volumes.

Exports are resolved lazily: ``network.completion`` builds on ``frustum3d.sparse``, and ``frustum3d.model``
on ``network.completion``; importing either package first must work.
"""

from __future__ import annotations

import importlib

_EXPORTS = {"NVPanoptix3D": "model", "is_3d_key": "model", "SetCriterion3D": "criterion", "panoptic_3d": "postprocess"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
