"""Metrics: 3D panoptic reconstruction quality, 2D panoptic quality, depth."""

from nvpanoptix3d.metrics.pq2d import PanopticQuality2D, depth_metrics
from nvpanoptix3d.metrics.prq import PanopticReconstructionQuality, segments_from_volumes

__all__ = ["PanopticQuality2D", "PanopticReconstructionQuality", "depth_metrics", "segments_from_volumes"]
