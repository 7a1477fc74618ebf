"""The 3D stage: frustum lifting, 3D completion (dense backend), 3D losses and panoptic volumes."""

from nvpanoptix3d.network.frustum3d.criterion import SetCriterion3D
from nvpanoptix3d.network.frustum3d.model import NVPanoptix3D, is_3d_key
from nvpanoptix3d.network.frustum3d.postprocess import panoptic_3d

__all__ = ["NVPanoptix3D", "SetCriterion3D", "is_3d_key", "panoptic_3d"]
