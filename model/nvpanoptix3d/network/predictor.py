"""NVPanoptix3D's query decoder: Mask2Former-style masked attention plus a depth cross-attention per layer.

Weight-for-weight NVIDIA TAO 7.0.1's ``DepthAwareMultiScaleMaskedTransformerDecoder`` (checkpoint prefix
``sem_seg_head.predictor.``): attribute names are the checkpoint key names. Every layer lets the queries look
at one image level (coarsest first, round robin) and then at the depth-projector feature of the same level,
both restricted to the pixels the previous prediction calls foreground; then query self-attention and an FFN.
Class and mask logits are predicted from the learned queries and after every layer (deep supervision).

Tensors inside the decoder are sequence-first (``[L, B, C]``), the layout ``nn.MultiheadAttention`` takes
with ``batch_first=False``; that keeps the attention arithmetic identical to NVIDIA's.
"""

from __future__ import annotations


import torch
import torch.nn.functional as F
from torch import nn

from nvpanoptix3d.network.pixel_decoder import sine_position_embedding

NUM_FEATURE_LEVELS = 3


def sine_position_encoding(height: int, width: int, num_pos_feats: int, *, device: torch.device | None = None,
                           temperature: float = 10000.0) -> torch.Tensor:
    """The pixel decoder's normalised sine encoding of an unpadded ``height x width`` grid in the decoder's
    sequence-first layout, ``[H*W, 1, 2*num_pos_feats]`` (NVIDIA uses the same encoding in both)."""
    return sine_position_embedding(height, width, num_pos_feats, device=device, temperature=temperature)[:, None, :]


def _xavier_matrices(module: nn.Module) -> None:
    """NVIDIA's init for the attention/FFN blocks: Xavier-uniform on every >=2-D parameter."""
    for p in module.parameters():
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)


def _with_pos(x: torch.Tensor, pos: torch.Tensor | None) -> torch.Tensor:
    return x if pos is None else x + pos


class SelfAttentionLayer(nn.Module):
    """Query-to-query attention with a residual; LayerNorm after (post-norm) or before (pre-norm)."""

    def __init__(self, *, d_model: int = 256, nhead: int = 8, dropout: float = 0.0, pre_norm: bool = False) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout)
        self.norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.pre_norm = pre_norm
        _xavier_matrices(self)

    def forward(self, tgt: torch.Tensor, query_pos: torch.Tensor | None = None) -> torch.Tensor:
        """tgt, query_pos: [Q, B, C] -> [Q, B, C]; the positional part goes into q and k, not v."""
        x = self.norm(tgt) if self.pre_norm else tgt
        qk = _with_pos(x, query_pos)
        out = tgt + self.dropout(self.self_attn(qk, qk, value=x)[0])
        return out if self.pre_norm else self.norm(out)


class CrossAttentionLayer(nn.Module):
    """Queries attending to a flattened feature map (optionally masked), residual, LayerNorm."""

    def __init__(self, *, d_model: int = 256, nhead: int = 8, dropout: float = 0.0, pre_norm: bool = False) -> None:
        super().__init__()
        self.multihead_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout)
        self.norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.pre_norm = pre_norm
        _xavier_matrices(self)

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor | None = None,
                pos: torch.Tensor | None = None, query_pos: torch.Tensor | None = None) -> torch.Tensor:
        """tgt/query_pos [Q, B, C], memory/pos [HW, B, C] (pos broadcastable), memory_mask bool
        [B*heads, Q, HW] (True = may not attend) -> [Q, B, C]."""
        x = self.norm(tgt) if self.pre_norm else tgt
        att = self.multihead_attn(query=_with_pos(x, query_pos), key=_with_pos(memory, pos), value=memory,
                                  attn_mask=memory_mask)[0]
        out = tgt + self.dropout(att)
        return out if self.pre_norm else self.norm(out)


class FFNLayer(nn.Module):
    """Position-wise feed-forward block (Linear-ReLU-Linear) with a residual and LayerNorm."""

    def __init__(self, *, d_model: int = 256, dim_feedforward: int = 2048, dropout: float = 0.0,
                 pre_norm: bool = False) -> None:
        super().__init__()
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm = nn.LayerNorm(d_model)
        self.pre_norm = pre_norm
        _xavier_matrices(self)

    def forward(self, tgt: torch.Tensor) -> torch.Tensor:
        """[..., C] -> [..., C]."""
        x = self.norm(tgt) if self.pre_norm else tgt
        out = tgt + self.dropout(self.linear2(self.dropout(F.relu(self.linear1(x)))))
        return out if self.pre_norm else self.norm(out)


class MLP(nn.Module):
    """``num_layers`` Linear layers with ReLU between them (not after the last)."""

    def __init__(self, *, input_dim: int = 256, hidden_dim: int = 256, output_dim: int = 256,
                 num_layers: int = 3) -> None:
        super().__init__()
        dims = [input_dim] + [hidden_dim] * (num_layers - 1) + [output_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[..., input_dim] -> [..., output_dim]."""
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < last:
                x = F.relu(x)
        return x


def _input_projection(in_channels: int, hidden_dim: int, enforce: bool) -> nn.Module:
    """1x1 conv to ``hidden_dim`` (Caffe2 Xavier fill: kaiming-uniform a=1, zero bias) when needed, else identity."""
    if in_channels == hidden_dim and not enforce:
        return nn.Identity()
    conv = nn.Conv2d(in_channels, hidden_dim, kernel_size=1)
    nn.init.kaiming_uniform_(conv.weight, a=1)
    nn.init.zeros_(conv.bias)
    return conv


class DepthAwareMaskedTransformerDecoder(nn.Module):
    """NVIDIA's ``DepthAwareMultiScaleMaskedTransformerDecoder`` (``sem_seg_head.predictor``).

    ``dec_layers`` is the number of layers built (NVIDIA's model passes the spec's
    ``model.mask_former.dec_layers`` minus 1, i.e. 9 by default). ``cross_transformer_attention_layers``,
    ``depth_decoder_norm`` and ``depth_embed`` are built but unused in forward, as in NVIDIA's network: they
    exist so NVIDIA's checkpoints load strictly. ``export`` is accepted for NVIDIA config parity; NVIDIA swaps
    in an export-friendly attention class with the same parameters, while ``nn.MultiheadAttention`` here
    already exports to ONNX, so it changes nothing.
    """

    def __init__(self, *, in_channels: int = 256, num_classes: int = 13, mask_classification: bool = True,
                 hidden_dim: int = 256, num_queries: int = 100, nheads: int = 8, dim_feedforward: int = 2048,
                 dec_layers: int = 9, pre_norm: bool = False, mask_dim: int = 256,
                 enforce_input_project: bool = False, export: bool = False) -> None:
        super().__init__()
        if not mask_classification:
            raise ValueError("only the mask-classification decoder exists (mask_classification=True)")
        self.mask_classification = mask_classification
        self.export = export
        self.num_heads = nheads
        self.num_layers = dec_layers
        self.num_queries = num_queries
        self.hidden_dim = hidden_dim
        self.num_feature_levels = NUM_FEATURE_LEVELS

        def attn_layers(cls: type[nn.Module]) -> nn.ModuleList:
            return nn.ModuleList(cls(d_model=hidden_dim, nhead=nheads, dropout=0.0, pre_norm=pre_norm)
                                 for _ in range(dec_layers))

        self.transformer_self_attention_layers = attn_layers(SelfAttentionLayer)
        self.transformer_cross_attention_layers = attn_layers(CrossAttentionLayer)
        self.transformer_ffn_layers = nn.ModuleList(
            FFNLayer(d_model=hidden_dim, dim_feedforward=dim_feedforward, dropout=0.0, pre_norm=pre_norm)
            for _ in range(dec_layers))
        self.depth_transformer_cross_attention_layers = attn_layers(CrossAttentionLayer)
        self.cross_transformer_attention_layers = attn_layers(SelfAttentionLayer)  # unused in forward

        self.decoder_norm = nn.LayerNorm(hidden_dim)
        self.depth_decoder_norm = nn.LayerNorm(hidden_dim)  # unused in forward
        self.query_feat = nn.Embedding(num_queries, hidden_dim)
        self.query_embed = nn.Embedding(num_queries, hidden_dim)
        self.level_embed = nn.Embedding(NUM_FEATURE_LEVELS, hidden_dim)
        self.depth_level_embed = nn.Embedding(NUM_FEATURE_LEVELS, hidden_dim)
        self.input_proj = nn.ModuleList(_input_projection(in_channels, hidden_dim, enforce_input_project)
                                        for _ in range(NUM_FEATURE_LEVELS))
        self.depth_input_proj = nn.ModuleList(_input_projection(in_channels, hidden_dim, enforce_input_project)
                                              for _ in range(NUM_FEATURE_LEVELS))

        self.class_embed = nn.Linear(hidden_dim, num_classes + 1)
        self.mask_embed = MLP(input_dim=hidden_dim, hidden_dim=hidden_dim, output_dim=mask_dim, num_layers=3)
        self.depth_embed = MLP(input_dim=hidden_dim, hidden_dim=hidden_dim, output_dim=mask_dim,
                               num_layers=3)  # unused in forward

    def _memory(self, feature: torch.Tensor, proj: nn.Module, level_embed: torch.Tensor) -> torch.Tensor:
        """[B, C_in, H, W] -> [HW, B, C] = projected feature + this level's embedding."""
        return (proj(feature).flatten(2) + level_embed[None, :, None]).permute(2, 0, 1)

    def _attention_mask(self, mask_logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """Boolean [B*heads, Q, h*w] (batch-major, head-minor): True where the resized mask's sigmoid < 0.5,
        except rows that would block every pixel, which are cleared (the query may then attend anywhere)."""
        small = F.interpolate(mask_logits, size=size, mode="bilinear", align_corners=False)
        blocked = small.sigmoid().flatten(2) < 0.5  # [B, Q, hw]
        blocked = blocked & ~blocked.all(dim=-1, keepdim=True)
        return blocked.repeat_interleave(self.num_heads, dim=0).detach()

    def _predict(self, queries: torch.Tensor, mask_features: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """queries [Q, B, C] -> (class logits [B, Q, K+1], mask logits [B, Q, Hm, Wm], normed queries [B, Q, C])."""
        normed = self.decoder_norm(queries).transpose(0, 1)
        logits = self.class_embed(normed)
        masks = torch.einsum("bqc,bchw->bqhw", self.mask_embed(normed), mask_features)
        return logits, masks, normed

    def forward(self, x: list[torch.Tensor], multi_scale_depth_features: list[torch.Tensor],
                mask_features: torch.Tensor, depth_features: torch.Tensor | None = None
                ) -> dict[str, torch.Tensor | list | None]:
        """Decode the queries.

        x: 3 pixel-decoder maps [B, in_channels, H_l, W_l], coarsest first; multi_scale_depth_features: the
        depth projector's maps, same shapes; mask_features: [B, mask_dim, Hm, Wm]; depth_features: carried
        through untouched for the 3D stage.

        Returns {"pred_logits": [B, Q, K+1], "pred_masks": [B, Q, Hm, Wm] (last layer),
        "aux_outputs": dec_layers dicts {"pred_logits", "pred_masks"} (entry i = prediction before layer i),
        "segm_decoder_out": [B, Q, C] decoder_norm of the last queries, "mask_features", "depth_features",
        "enc_features": x}.
        """
        if len(x) != NUM_FEATURE_LEVELS or len(multi_scale_depth_features) != NUM_FEATURE_LEVELS:
            raise ValueError(f"expected {NUM_FEATURE_LEVELS} image and depth feature levels")
        sizes = [tuple(f.shape[-2:]) for f in x]
        pos = [sine_position_encoding(h, w, self.hidden_dim // 2, device=mask_features.device) for h, w in sizes]
        src = [self._memory(x[i], self.input_proj[i], self.level_embed.weight[i]) for i in range(NUM_FEATURE_LEVELS)]
        depth_src = [self._memory(multi_scale_depth_features[i], self.depth_input_proj[i],
                                  self.depth_level_embed.weight[i]) for i in range(NUM_FEATURE_LEVELS)]

        bs = src[0].shape[1]
        query_pos = self.query_embed.weight[:, None, :].expand(-1, bs, -1)
        queries = self.query_feat.weight[:, None, :].expand(-1, bs, -1)

        logits, masks, normed = self._predict(queries, mask_features)
        aux: list[dict[str, torch.Tensor]] = []
        for i in range(self.num_layers):
            level = i % NUM_FEATURE_LEVELS
            attn_mask = self._attention_mask(masks, sizes[level])
            aux.append({"pred_logits": logits, "pred_masks": masks})
            queries = self.transformer_cross_attention_layers[i](
                queries, src[level], memory_mask=attn_mask, pos=pos[level], query_pos=query_pos)
            queries = self.depth_transformer_cross_attention_layers[i](
                queries, depth_src[level], memory_mask=attn_mask, pos=pos[level], query_pos=query_pos)
            queries = self.transformer_self_attention_layers[i](queries, query_pos=query_pos)
            queries = self.transformer_ffn_layers[i](queries)
            logits, masks, normed = self._predict(queries, mask_features)

        return {"pred_logits": logits, "pred_masks": masks, "aux_outputs": aux, "segm_decoder_out": normed,
                "mask_features": mask_features, "depth_features": depth_features, "enc_features": x}
