"""spconv versions (CUDA; spconv's CPU build runs them too, which the parity test uses) of the three sparse layers, wrapping our SparseTensor.

Parameters keep the pure backend's names and layouts (``weight`` as nn.Conv3d / nn.ConvTranspose3d), so a
checkpoint loads into either backend; the spconv layout is produced on the fly. Imported only when
``model.frustum3d.backend=spconv``.
"""

from __future__ import annotations

import torch

from nvpanoptix3d.network.frustum3d.sparse.backend import SPCONV_MISSING
from nvpanoptix3d.network.frustum3d.sparse.conv import GenerativeConvTranspose3d, SparseConv3d, SubmanifoldConv3d
from nvpanoptix3d.network.frustum3d.sparse.tensor import SparseTensor

try:  # pragma: no cover - depends on the GPU extras
    import spconv.pytorch as spconv
except ImportError:  # pragma: no cover
    spconv = None


def require() -> None:
    if spconv is None:
        raise ImportError(SPCONV_MISSING)


def _to_spconv(x: SparseTensor) -> "spconv.SparseConvTensor":
    # spconv reads raw memory: non-contiguous features or indices silently give wrong neighbourhoods.
    t = spconv.SparseConvTensor(x.feats.contiguous(), x.coords.int().contiguous(), list(x.spatial_shape),
                                x.batch_size)
    if "spconv_indice_dict" in x.cache:
        t.indice_dict = x.cache["spconv_indice_dict"]
    return t


def _from_spconv(t: "spconv.SparseConvTensor", x: SparseTensor, stride: int, same_coords: bool) -> SparseTensor:
    if same_coords:
        x.cache["spconv_indice_dict"] = t.indice_dict
        return x.replace(t.features)
    return SparseTensor(t.indices.long(), t.features, tuple(t.spatial_shape), x.batch_size, stride)


def _spconv_weight(w: torch.Tensor, transposed: bool) -> torch.Tensor:
    """Our dense layouts -> spconv 2.x (Cout, k, k, k, Cin)."""
    if transposed:  # (Cin, Cout, k, k, k)
        return w.permute(1, 2, 3, 4, 0).contiguous()
    return w.permute(0, 2, 3, 4, 1).contiguous()


class SubMConv(SubmanifoldConv3d):
    def forward(self, x: SparseTensor) -> SparseTensor:
        if self.kernel_size == 1:  # a per-voxel linear map; spconv's 1x1 path reads its weight in another layout
            return x.replace(torch.nn.functional.linear(x.feats, self.weight.flatten(1), self.bias))
        if not x.feats.shape[0]:  # spconv asserts on empty tensors; the pure layer returns the empty result
            return super().forward(x)
        layer = spconv.SubMConv3d(self.in_channels, self.out_channels, self.kernel_size, bias=False,
                                  indice_key=f"subm{self.kernel_size}").to(x.feats.device)
        res = _functional(layer, _to_spconv(x), self.weight, transposed=False)
        feats = res.features + self.bias if self.bias is not None else res.features
        res = res.replace_feature(feats)
        return _from_spconv(res, x, x.stride, same_coords=True)


class DownConv(SparseConv3d):
    def __init__(self, cin: int, cout: int, bias: bool = True) -> None:
        super().__init__(cin, cout, 2, 2, 0, bias)

    def forward(self, x: SparseTensor) -> SparseTensor:
        if not x.feats.shape[0]:
            return super().forward(x)
        layer = spconv.SparseConv3d(self.in_channels, self.out_channels, 2, stride=2, bias=False).to(x.feats.device)
        res = _functional(layer, _to_spconv(x), self.weight, transposed=False)
        feats = res.features + self.bias if self.bias is not None else res.features
        return _from_spconv(res.replace_feature(feats), x, x.stride * 2, same_coords=False)


class UpConv(GenerativeConvTranspose3d):
    def forward(self, x: SparseTensor) -> SparseTensor:
        if not x.feats.shape[0]:
            return super().forward(x)
        layer = spconv.SparseConvTranspose3d(self.in_channels, self.out_channels, 2, stride=2,
                                             bias=False).to(x.feats.device)
        res = _functional(layer, _to_spconv(x), self.weight, transposed=True)
        feats = res.features + self.bias if self.bias is not None else res.features
        return _from_spconv(res.replace_feature(feats), x, max(x.stride // 2, 1), same_coords=False)


def _functional(layer, t, weight: torch.Tensor, transposed: bool):
    """Run a spconv layer with our weight (converted each call, so gradients reach our parameter)."""
    del layer.weight
    layer.weight = _spconv_weight(weight, transposed)  # a plain tensor attribute carrying the autograd graph
    return layer(t)
