"""Camera and frustum-voxel-grid geometry shared by the data pipeline, the 3D stage and metrics."""

from nvpanoptix3d.geometry.frustum import (
    FRONT3D_INTRINSIC,
    FRONT3D_SIZE,
    REDUCED_SIZE,
    FrustumGrid,
    scale_intrinsic,
)

__all__ = ["FRONT3D_INTRINSIC", "FRONT3D_SIZE", "REDUCED_SIZE", "FrustumGrid", "scale_intrinsic"]
