"""NVPanoptix3D: panoptic 3D scene reconstruction from a single posed RGB image.

Sub-packages: ``config`` (pydantic experiment spec, the single source of truth for every spec
field), ``geometry`` (camera/frustum-grid maths shared by data, network and metrics), ``data``,
``network``, ``metrics`` and the action ``entrypoint``.
"""

__version__ = "0.1.0"
