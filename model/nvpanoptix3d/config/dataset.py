"""`dataset` section: where the data is and how a frame becomes network input and targets."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nvpanoptix3d.config.fields import SpecSection, tao_field

DatasetName = Literal["front3d", "matterport", "synthetic_hospital", "synthetic_warehouse"]


class SplitConfig(SpecSection):
    """One split (train, val or test)."""

    base_dir: str = tao_field(
        "", "Dataset root; scene files resolve as <base_dir>/data/<scene_id>/... (an archive is extracted first).",
        path="folder",
    )
    json_path: str = tao_field("", "Split file: a JSON list of {scene_id, image_id, height, width}.", path="file")
    batch_size: int = tao_field(1, "Images per batch and device.", ge=1, math_cond="> 0")
    num_workers: int = tao_field(1, "Data-loading worker processes.", ge=0)
    max_samples: int = tao_field(
        -1, "(ours) Use at most this many samples of the split (AutoML trials cap data with it); -1 uses all.", ge=-1
    )


class AugmentationConfig(SpecSection):
    """2D augmentation (the 3D stage trains without geometric augmentation)."""

    train_min_size: list[int] = tao_field([448], "Shortest-edge sizes sampled for training.", automl="disabled", min_length=1)
    train_max_size: int = tao_field(768, "Longest edge cap for training.", ge=32, le=960)
    train_crop_size: list[int] = tao_field(
        [240, 240], "Training crop size [H, W].", automl="disabled", min_length=2, max_length=2
    )
    test_min_size: int = tao_field(240, "Shortest edge at test time.", ge=32, le=960)
    test_max_size: int = tao_field(960, "Longest edge cap at test time.", ge=32, le=960)
    color_aug_ssd: bool = tao_field(False, "SSD-style photometric augmentation.")
    enable_crop: bool = tao_field(False, "Random crops during training.")
    crop_size: list[int] = tao_field([240, 240], "Crop size [H, W].", automl="disabled", min_length=2, max_length=2)
    single_category_max_area: float = tao_field(1.0, "Maximum share of a crop one category may cover.", ge=0.0, le=1.0)
    random_flip: Literal["", "horizontal", "vertical", "none"] = tao_field(
        "", "Random flip direction; empty or none disables flipping."
    )
    random_flip_prob: float = tao_field(0.5, "Flip probability.", ge=0.0, le=1.0)
    size_divisibility: float = tao_field(-1.0, "Pad images to a multiple of this; -1 disables.", ge=-1.0)
    gen_aug_weight: float = tao_field(0.0, "Weight of generated augmentation.", ge=0.0, le=1.0)


class DatasetConfig(SpecSection):
    """Dataset family, sizes, depth range and 3D targets."""

    train: SplitConfig = Field(default_factory=SplitConfig)
    val: SplitConfig = Field(default_factory=SplitConfig)
    test: SplitConfig = Field(default_factory=SplitConfig)
    workers: int = tao_field(8, "Default number of data-loading workers.", ge=1)
    pin_memory: bool = tao_field(True, "Pin host memory for faster GPU transfer.")
    augmentation: AugmentationConfig = Field(default_factory=AugmentationConfig)
    contiguous_id: bool = tao_field(
        False, "The label map already holds contiguous trainIds (set true for the published colormap.json)."
    )
    label_map: str = tao_field("", "Category list JSON (meta/colormap.json): id, name, color, isthing.", path="file")
    name: DatasetName = tao_field(
        "front3d", "Dataset family; decides file naming and the required downsample_factor.", popular=True
    )
    downsample_factor: int = tao_field(
        1, "Evaluation grid downsampling: 2 for matterport, 1 for front3d and the synthetic sets.", ge=1, le=4
    )
    iso_value: float = tao_field(1.0, "Iso level (voxels) of the ground-truth distance field for PRQ.", gt=0.0)
    ignore_label: int = tao_field(255, "Label value of ignored pixels.", ge=0, le=255)
    min_instance_pixels: int = tao_field(200, "Instances with fewer pixels are dropped from the 2D targets.", ge=0)
    img_format: Literal["RGB", "BGR"] = tao_field("RGB", "Channel order of the input images.")
    target_size: list[int] = tao_field(
        [320, 240], "Network input size [W, H].", automl="disabled", min_length=2, max_length=2
    )
    reduced_target_size: list[int] = tao_field(
        [160, 120], "Image size [W, H] at which 2D results are lifted into 3D.", automl="disabled",
        min_length=2, max_length=2,
    )
    depth_size: list[int] = tao_field(
        [120, 160], "Depth target size [H, W].", automl="disabled", min_length=2, max_length=2
    )
    depth_bound: bool = tao_field(False, "Clamp predicted depth to [depth_min, depth_max].")
    depth_min: float = tao_field(0.4, "Nearest valid depth in metres.", ge=0.0)
    depth_max: float = tao_field(6.0, "Farthest valid depth in metres.", gt=0.0)
    frustum_mask_path: str = tao_field(
        "meta/frustum_mask.npz", "Frustum mask (npz key `mask`, bool grid) of the dataset.", path="file"
    )
    occ_truncation_lvl: list[float] = tao_field(
        [8.0, 6.0], "Distance thresholds (voxels) for the 1/4 and 1/2 resolution occupancy targets.",
        automl="disabled", min_length=2, max_length=2,
    )
    truncation_range: list[float] = tao_field(
        [0.0, 12.0], "Range (voxels) the ground-truth distance field is clipped to.", automl="disabled",
        min_length=2, max_length=2,
    )
    enable_3d: bool = tao_field(False, "Train/evaluate the 3D stage (false trains the 2D stage only).", popular=True)
    enable_mp_occ: bool = tao_field(True, "Supervise the multi-plane occupancy head.")
    multiplane_target: Literal["nvidia", "surface"] = tao_field(
        "nvidia",
        "(ours) Multi-plane occupancy target rule. nvidia: TAO 7.0.1's (|TDF| < truncation_range[1], a 12-voxel "
        "band; every frustum voxel BackProjection keeps writes its cell, the last write wins). surface: ours (cells "
        "hit by a voxel with |TDF| < 1, union); the CPU demo uses it, as a 12-voxel band at 32^3 / 0.18 m reaches "
        "2.2 m from every surface, most of the room.", automl="disabled",
    )
    depth_scale: float = tao_field(25.0, "Upper clamp (metres) of predicted depth in post-processing.", gt=0.0)
    num_thing_classes: int = tao_field(9, "Classes 1..num_thing_classes are things, the rest stuff.", ge=0)
