"""The full two-stage NVPanoptix3D network, wired as NVIDIA's ``NVPanoptix3DModel``: the frozen 2D stage, then
occupancy-aware lifting and sparse projection into the camera-frustum grid and the sparse 3D completion.

State-dict layout (NVIDIA's): the 2D keys (``backbone.*``, ``sem_seg_head.*``) and the 3D keys ``projector.*``
(a ProjectionBlock on the coarsest DPT feature) and ``completion.*`` (``FrustumDecoder``); the lifting
(``lifter``: NVIDIA's ``back_projection``, ``ol`` and ``reprojection``) has no parameters. At the spec defaults
the state dict is NVIDIA's 2,083 entries; with ``use_multi_scale`` (NVIDIA's front3d specs) the completion adds
``feature_adapters.{0,1,2}`` (2,095 entries): the lifter then also returns the multi-scale voxels.

The 3D forward: ``lifter`` (frustum3d/lifter.py) turns the 2D outputs into voxels, ``completion`` completes
them at 1/4, 1/2 and full resolution.

``backend`` picks how ``completion`` runs: ``sparse`` (pure PyTorch sparse convolutions over the voxels),
``dense`` (the same weights as masked dense convolutions over the grid: exactly the same numbers, ONNX
export) or ``spconv`` (the sparse network with every k>1 convolution's gather-GEMM-scatter on spconv's
kernels, over our own kernel maps: completion/spconv_exec.py). Without spconv the model still builds and
loads, and its first 3D forward (training, evaluation, inference, export's check) raises SPCONV_MISSING; the
state dict is the same for every backend, so such a checkpoint runs and exports anywhere under ``sparse``.
Every backend returns the same outputs from the same state dict.
"""

from __future__ import annotations

import logging

import torch

from nvpanoptix3d.network.completion import DenseFrustumDecoder, FrustumDecoder
from nvpanoptix3d.network.frustum3d.densify import densify
from nvpanoptix3d.network.frustum3d.lifter import FrustumLifter
from nvpanoptix3d.network.frustum3d.sparse.tensor import SparseTensor
from nvpanoptix3d.network.maskformer import MaskFormerModel
from nvpanoptix3d.network.projection import ProjectionBlock

log = logging.getLogger("nvpanoptix3d")

THREE_D_MODULES = ("projector", "completion", "reprojection", "ol", "lifter")
WRAPPER_PREFIXES = ("model.", "module.", "_orig_mod.")


def strip_wrapper_prefixes(key: str) -> str:
    """Drop Lightning / DDP / torch.compile prefixes (``model.``, ``module.``, ``_orig_mod.``), repeatedly."""
    changed = True
    while changed:
        changed = False
        for pre in WRAPPER_PREFIXES:
            if key.startswith(pre):
                key, changed = key[len(pre):], True
    return key


def is_3d_key(key: str) -> bool:
    """True for parameters of the 3D stage: the top-level module (after wrapper prefixes) is one of
    THREE_D_MODULES. A substring test (NVIDIA's loader) would also catch the 2D ``sem_seg_head.depth_projector``."""
    return strip_wrapper_prefixes(key).split(".", 1)[0] in THREE_D_MODULES


class NVPanoptix3D(MaskFormerModel):
    def __init__(self, *, grid_dims: int = 256, voxel_size: float = 0.03, depth_min: float = 0.4,
                 depth_max: float = 6.0, truncation: float = 3.0, unet_features: int = 16,
                 unet_output_channels: int = 16, freeze_2d: bool = True, backend: str = "sparse",
                 num_thing_classes: int = 9, object_mask_threshold: float = 0.4, overlap_threshold: float = 0.5,
                 depth_scale: float = 25.0, max_voxels: int = 0, use_multi_scale: bool = False,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if backend not in ("dense", "sparse", "spconv"):
            raise ValueError(f"unknown 3D backend {backend!r}; choose dense, sparse or spconv")
        if use_multi_scale and backend == "dense":
            raise ValueError("use_multi_scale needs model.frustum3d.backend=sparse (the dense completion does not "
                             "take multi-scale features)")
        mask_dim = self.sem_seg_head.predictor.mask_embed.layers[-1].out_features
        hidden = self.sem_seg_head.predictor.decoder_norm.normalized_shape[0]
        depth_dim = self.sem_seg_head.depth_projector.proj_convs2[0].out_channels
        self.projector = ProjectionBlock(in_feature=depth_dim, out_feature=depth_dim)
        self.lifter = FrustumLifter(grid_dims=grid_dims, voxel_size=voxel_size, depth_min=depth_min,
                                    depth_max=depth_max, truncation=truncation, reduced_size=self.reduced_size,
                                    size_divisibility=self.size_divisibility, num_thing_classes=num_thing_classes,
                                    object_mask_threshold=object_mask_threshold,
                                    overlap_threshold=overlap_threshold, depth_scale=depth_scale,
                                    max_voxels=max_voxels)
        decoder = DenseFrustumDecoder if backend == "dense" else FrustumDecoder
        lifting_dim = self.num_classes + 3
        # Multi-scale voxels: [pixel-decoder level (conv_dim, equal to hidden_dim) | pooled lifting]: NVIDIA's
        # convs_dim + 16 = 272 at the defaults.
        self.completion = decoder(input_dims=(2, mask_dim + depth_dim, self.num_classes, lifting_dim),
                                  unet_features=unet_features, unet_output_channels=unet_output_channels,
                                  query_dim=hidden, grid_dims=grid_dims, truncation=truncation,
                                  use_multi_scale=use_multi_scale, ms_feature_channels=hidden + lifting_dim)
        if backend == "spconv":
            from nvpanoptix3d.network.completion.spconv_exec import use_spconv  # noqa: PLC0415

            use_spconv(self.completion)
        self.backend, self.truncation, self.grid_dims = backend, truncation, grid_dims
        self.use_multi_scale = use_multi_scale
        self.freeze_2d = freeze_2d
        self.train(self.training)  # Lightning keeps each module's mode: put the frozen 2D stage in eval now

    def train(self, mode: bool = True) -> "NVPanoptix3D":
        """A frozen 2D stage stays in eval mode while the 3D stage trains: its BatchNorm statistics (DPT,
        occupancy head, depth projector) must not drift either, as NVIDIA's frozen 2D stage."""
        super().train(mode)
        if self.freeze_2d:
            self.backbone.eval()
            self.sem_seg_head.eval()
        return self

    def parameters_2d(self):
        return (p for n, p in self.named_parameters() if not is_3d_key(n))

    def encoder_features(self, out2d: dict) -> torch.Tensor:
        """[mask features | projector(coarsest DPT feature)] at the mask-feature size (3D-stage parameters)."""
        mask_features = out2d["mask_features"]
        depth = self.projector(out2d["depth_features"], mask_features.shape[-2:])
        return torch.cat([mask_features, depth], dim=1)

    def forward_3d(self, out2d: dict, intrinsic: torch.Tensor, frustum: torch.Tensor,
                   image_size: tuple[int, int], occupancy: list | None = None, sparse_outputs: bool = False) -> dict:
        if self.use_multi_scale:
            x, ms = self.lifter.forward_multi_scale(out2d, self.encoder_features(out2d), intrinsic, frustum,
                                                    image_size)
        else:
            x, ms = self.lifter(out2d, self.encoder_features(out2d), intrinsic, frustum, image_size), None
        return self.complete(x, out2d["query_features"], frustum, occupancy, sparse_outputs, ms)

    def complete(self, x: SparseTensor, queries: torch.Tensor, frustum: torch.Tensor, occupancy: list | None = None,
                 sparse_outputs: bool = False, ms_features: list[SparseTensor] | None = None) -> dict:
        """The completion on the lifted voxels: dense volumes, or (``sparse_outputs``, sparse backends) voxels.
        ``ms_features``: the multi-scale voxels at strides 2, 4, 8 (``use_multi_scale``, sparse backends)."""
        if self.backend == "dense":
            volume, active = dense_input(x, self.grid_dims)
            return self.completion(volume, active, queries, frustum.bool(), occupancy)
        out = self.completion(x, queries, frustum.bool(), occupancy, ms_features)
        return {"sparse_3d": out} if sparse_outputs else densify(out, self.truncation)

    def densify_3d(self, outputs: dict, masks: str = "dense") -> dict:
        """The dense 3D outputs of a ``sparse_outputs=True`` call (unchanged outputs otherwise); with
        ``masks="sparse"`` the per-query masks stay SparseTensors (what evaluation and inference need)."""
        if "sparse_3d" not in outputs:
            return outputs
        rest = {k: v for k, v in outputs.items() if k != "sparse_3d"}
        return {**rest, **densify(outputs["sparse_3d"], self.truncation, masks=masks)}

    def forward(self, images: torch.Tensor, intrinsic: torch.Tensor | None = None,
                frustum: torch.Tensor | None = None, occupancy: list | None = None,
                sparse_outputs: bool = False) -> dict:
        """images (B,3,H,W) in [0,1]; intrinsic (B,4,4) for (W,H); frustum (B,X,Y,Z) bool. Without intrinsic
        and frustum only the 2D stage runs. ``occupancy`` (the batch's per-sample occupancy targets, fine ->
        coarse) keeps target voxels while training (ours, not NVIDIA's). ``sparse_outputs``: the sparse
        backends return their voxels under ``sparse_3d`` instead of dense volumes (the criterion takes either;
        :meth:`densify_3d` converts)."""
        if intrinsic is None or frustum is None:
            return super().forward(images)
        if self.freeze_2d:
            with torch.no_grad():
                out = super().forward(images)
        else:
            out = super().forward(images)
        out.update(self.forward_3d(out, intrinsic, frustum, (images.shape[-1], images.shape[-2]), occupancy,
                                   sparse_outputs))
        return out


def dense_input(x: SparseTensor, grid_dims: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(volume (B, C, D, D, D), active (B, D, D, D) bool) of a stride-1 SparseTensor with unique coordinates."""
    b, c, d = x.batch_size, x.feats.shape[1], grid_dims
    volume = x.feats.new_zeros(b, d, d, d, c)
    active = torch.zeros(b, d, d, d, dtype=torch.bool, device=x.feats.device)
    bi, xi, yi, zi = x.coords.unbind(1)
    volume = volume.index_put((bi, xi, yi, zi), x.feats)
    active[bi, xi, yi, zi] = True
    return volume.permute(0, 4, 1, 2, 3), active
