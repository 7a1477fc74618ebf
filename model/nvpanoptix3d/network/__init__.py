"""NVPanoptix3D network modules (no Lightning, no config, no I/O): 2D stage, 3D stage, losses, post-processing."""

from nvpanoptix3d.network.criterion import SetCriterion2D, hungarian_match, targets_from_batch
from nvpanoptix3d.network.maskformer import MaskFormerModel
from nvpanoptix3d.network.postprocess import panoptic_2d
from nvpanoptix3d.network.presets import backbone_preset, list_presets

__all__ = ["MaskFormerModel", "SetCriterion2D", "backbone_preset", "hungarian_match", "list_presets", "panoptic_2d",
           "targets_from_batch"]
