"""`model` section: the 2D stage (VGGT backbone, pixel decoder, Mask2Former-style decoder) and the 3D stage.

Key names, nesting and defaults follow NVIDIA's NVPanoptix3D spec (TAO PyTorch 7.0.1) so that an
existing spec file loads unchanged. Additions of ours are marked "(ours)" in their description.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nvpanoptix3d.config.fields import SpecSection, tao_field

FeatureName = Literal["res2", "res3", "res4", "res5"]


class BackboneConfig(SpecSection):
    """The VGGT trunk."""

    backbone_type: Literal["vggt"] = tao_field("vggt", "Backbone architecture; VGGT is the only option.")
    pretrained_model_path: str = tao_field(
        "", "VGGT weights (.pt/.pth state dict) to initialise the backbone; empty starts from scratch.", path="file",
        nullable=True,
    )
    preset: Literal["full", "tiny"] = tao_field(
        "full",
        "(ours) Size preset: `full` is the published VGGT-1B trunk (GPU), `tiny` a few-million-parameter trunk "
        "that trains on a laptop CPU (demo, tests).",
        popular=True,
        option_weights={"full": 1.0, "tiny": 0.0},
    )


class SemSegHeadConfig(SpecSection):
    """Pixel decoder and segmentation head."""

    common_stride: int = tao_field(4, "Output stride of the per-pixel mask features.", ge=2)
    transformer_enc_layers: int = tao_field(6, "Transformer encoder layers in the pixel decoder.", popular=True, ge=1)
    convs_dim: int = tao_field(256, "Channels of the pixel decoder convolutions.", popular=True, ge=1)
    mask_dim: int = tao_field(256, "Channels of the mask embeddings.", popular=True, ge=1)
    depth_dim: int = tao_field(256, "Channels of the depth features fed to the decoder.", popular=True, ge=1)
    ignore_value: int = tao_field(255, "Label value ignored by the 2D losses.", ge=0, le=255)
    deformable_transformer_encoder_in_features: list[FeatureName] = tao_field(
        ["res3", "res4", "res5"], "Backbone feature maps refined by the pixel decoder's transformer encoder.",
        automl="disabled", min_length=1,
    )
    num_classes: int = tao_field(
        13, "Number of semantic classes including class 0 (free space / void).", popular=True, ge=2
    )
    norm: Literal["GN", "BN", "LN", ""] = tao_field("GN", "Normalisation of the pixel decoder convolutions.")
    in_features: list[FeatureName] = tao_field(
        ["res2", "res3", "res4", "res5"], "Backbone feature maps used by the head.", automl="disabled", min_length=1
    )


class MaskFormerConfig(SpecSection):
    """Mask2Former-style query decoder and its 2D losses."""

    dropout: float = tao_field(0.0, "Dropout in the decoder layers.", ge=0.0, le=1.0)
    nheads: int = tao_field(8, "Attention heads in the decoder.", popular=True, ge=1)
    num_object_queries: int = tao_field(100, "Object queries (maximum segments per image).", popular=True, ge=1)
    hidden_dim: int = tao_field(256, "Width of the query decoder.", popular=True, ge=1)
    transformer_dim_feedforward: int = tao_field(1024, "Feed-forward width of the pixel decoder encoder.", ge=1)
    dim_feedforward: int = tao_field(2048, "Feed-forward width of the query decoder.", ge=1)
    dec_layers: int = tao_field(10, "Query decoder layers (predictions per layer are deep-supervised).", popular=True, ge=1)
    pre_norm: bool = tao_field(False, "Layer norm before (true) or after (false) each decoder sub-layer.")
    class_weight: float = tao_field(2.0, "Weight of the classification loss and matching cost.", popular=True, ge=0.0)
    dice_weight: float = tao_field(5.0, "Weight of the mask dice loss and matching cost.", popular=True, ge=0.0)
    mask_weight: float = tao_field(5.0, "Weight of the mask BCE loss and matching cost.", popular=True, ge=0.0)
    depth_weight: float = tao_field(5.0, "Weight of the depth L1 loss.", ge=0.0)
    mp_occ_weight: float = tao_field(5.0, "Weight of the multi-plane occupancy loss.", ge=0.0)
    train_num_points: int = tao_field(12544, "Points sampled per mask for the mask losses.", ge=1)
    oversample_ratio: float = tao_field(3.0, "Oversampling of candidate points for importance sampling.", ge=1.0)
    importance_sample_ratio: float = tao_field(
        0.75, "Fraction of sampled points chosen by mask uncertainty.", popular=True, ge=0.0, le=1.0
    )
    deep_supervision: bool = tao_field(True, "Add the losses of every intermediate decoder layer.")
    no_object_weight: float = tao_field(
        0.1, "Classification weight of the no-object class.", ge=0.0, le=1.0, automl="enabled"
    )
    size_divisibility: int = tao_field(32, "Pad images to a multiple of this; -1 or 0 disables padding.", ge=-1)


class Frustum3DConfig(SpecSection):
    """Sparse 3D completion in the camera frustum."""

    truncation: float = tao_field(3.0, "Truncation of the predicted distance field, in voxels.", gt=0.0)
    iso_recon_value: float = tao_field(
        2.0, "Iso level (voxels) of the predicted distance field used as the surface for PRQ and meshes.", gt=0.0
    )
    panoptic_weight: float = tao_field(25.0, "Weight of the 3D per-query mask (panoptic) losses.", ge=0.0)
    completion_weights: list[float] = tao_field(
        [50.0, 25.0, 10.0],
        "Occupancy loss weights at the coarse (1/4), middle (1/2) and full resolution levels.",
        automl="disabled", min_length=3, max_length=3,
    )
    surface_weight: float = tao_field(5.0, "Weight of the geometry (distance) loss.", ge=0.0)
    unet_output_channels: int = tao_field(16, "Output channels of the 3D U-Net.", ge=1)
    unet_features: int = tao_field(16, "Base channels of the 3D U-Net.", ge=1)
    use_multi_scale: bool = tao_field(False, "Feed multi-scale 2D features into the 3D encoder.")
    grid_dimensions: int = tao_field(
        256, "Voxels per side of the frustum grid; reduce on 3D out-of-memory.", ge=8, multiple_of=8
    )
    frustum_dims: int = tao_field(
        256, "Voxels per side of the frustum volume processed in 3D (<= grid_dimensions); reduce on out-of-memory.",
        ge=8, multiple_of=8,
    )
    signed_channel: int = tao_field(3, "Channel index of the sign feature in the lifted features.", ge=0)
    backend: Literal["dense", "sparse", "spconv"] = tao_field(
        "sparse",
        "(ours) How NVIDIA's 3D completion network runs (same weights, same outputs): `sparse` (pure-PyTorch "
        "sparse convolutions over the lifted voxels, as NVIDIA's network; cost grows with occupied voxels; CPU or "
        "GPU; the only choice at NVIDIA's 256^3 grid), `dense` (masked dense convolutions over the whole grid: "
        "faster for small grids up to 128^3, the ONNX form) or `spconv` (the `sparse` network with each "
        "convolution's gather-GEMM-scatter on spconv's kernels, same voxels and weights; needs spconv: "
        "`pip install tao-skill-bank[gpu]` (spconv-cu126; spconv-cuXXX for another CUDA) or `[spconv]` (CPU)).",
        automl="disabled",
    )
    max_voxels: int = tao_field(
        0,
        "(ours) Most voxels lifted per image; above it the voxels closest to the predicted surface are kept, ties "
        "by voxel index (a warning says so). 0: no cap (NVIDIA).",
        ge=0,
    )


class ProjectionConfig(SpecSection):
    """Lifting of 2D features into the voxel grid."""

    voxel_size: float = tao_field(0.03, "Voxel edge length in metres.", gt=0.0)
    sign_channel: bool = tao_field(True, "Add the sign of the distance to the surface as a lifted feature.")
    depth_feature_dim: int = tao_field(256, "Channels of the projected depth features.", ge=1)
    depth_bins: int = tao_field(
        100, "(ours) Depth bins of the multi-plane occupancy head, uniform over (0, dataset.depth_max].", ge=2
    )


class ModelConfig(SpecSection):
    """The whole network."""

    mode: Literal["panoptic", "instance", "semantic"] = tao_field("panoptic", "Segmentation output mode.")
    object_mask_threshold: float = tao_field(
        0.4, "Minimum class score for a query to become a segment.", ge=0.0, le=1.0
    )
    overlap_threshold: float = tao_field(
        0.5, "Minimum fraction of a query's mask that must survive overlaps to keep the segment.", ge=0.0, le=1.0
    )
    test_topk_per_image: int = tao_field(100, "Segments kept per image in instance mode.", ge=1)
    backbone: BackboneConfig = Field(default_factory=BackboneConfig)
    sem_seg_head: SemSegHeadConfig = Field(default_factory=SemSegHeadConfig)
    mask_former: MaskFormerConfig = Field(default_factory=MaskFormerConfig)
    frustum3d: Frustum3DConfig = Field(default_factory=Frustum3DConfig)
    projection: ProjectionConfig = Field(default_factory=ProjectionConfig)
