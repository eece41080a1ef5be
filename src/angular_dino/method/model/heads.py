"""The DINO head and the prototype layer (METHOD §3).

Both end in the same layer: a linear map whose weight rows are kept at unit length (weight norm
with the magnitude fixed at 1). On a unit-length input its outputs are cosines. That layer, and every
L2 normalisation, compute in float32 even under bf16 autocast: bf16 keeps 8 bits of mantissa, so its
cosines step by 1/128 near 1, leave [-1, 1], and prototype scores (a difference of mean cosines) become
coarse ties or, on tiny images, not finite (issue 13); these layers are a negligible share of the work.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CosineLinear(nn.Module):
    """Linear layer without bias whose rows are normalised: `out_k = <x, w_k / ||w_k||>`."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_dim, in_dim))
        nn.init.trunc_normal_(self.weight, std=0.02)

    def unit_weight(self) -> torch.Tensor:
        return F.normalize(self.weight.float(), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return F.linear(x.float(), self.unit_weight())


def unit_length(x: torch.Tensor) -> torch.Tensor:
    """`x / ||x||` along the last axis, in float32 whatever the autocast (see the module's docstring)."""
    with torch.autocast(x.device.type, enabled=False):
        return F.normalize(x.float(), dim=-1)


class DINOHead(nn.Module):
    """MLP (emb -> hidden, GELU, hidden -> emb), L2 normalisation, then a CosineLinear to out_dim logits."""

    def __init__(self, emb_dim: int, hidden_dim: int, out_dim: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(emb_dim, hidden_dim), nn.GELU(), nn.Linear(hidden_dim, emb_dim))
        self.last_layer = CosineLinear(emb_dim, out_dim)
        for layer in self.mlp:
            if isinstance(layer, nn.Linear):
                nn.init.trunc_normal_(layer.weight, std=0.02)
                nn.init.zeros_(layer.bias)

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.last_layer(unit_length(self.mlp(embedding)))
