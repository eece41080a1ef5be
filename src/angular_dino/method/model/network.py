"""Backbone + DINO head + prototype layer: one copy is the student, an EMA copy the teacher."""
from __future__ import annotations

import torch
from torch import nn

from angular_dino.method.model.backbones import build_backbone
from angular_dino.method.model.heads import CosineLinear, DINOHead, unit_length


class AngularDINONet(nn.Module):
    def __init__(self, arch: str, in_channels: int, emb_dim: int, head_hidden_dim: int, out_dim: int,
                 prototype_num: int, pretrained_weights: str | None = None) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.backbone = build_backbone(arch, in_channels, emb_dim, pretrained_weights)
        self.head = DINOHead(emb_dim, head_hidden_dim, out_dim)
        self.prototypes = CosineLinear(emb_dim, prototype_num)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Unit-length embedding e = f(x) / ||f(x)||."""
        return unit_length(self.backbone(images))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """DINO logits and prototype cosines of a batch."""
        embedding = self.embed(images)
        return self.head(embedding), self.prototypes(embedding)

    def forward_views(self, views: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and cosines of every view, stacked to (views, B, ·); one forward per crop resolution."""
        logits, cosines, start = [], [], 0
        while start < len(views):
            end = start
            while end < len(views) and views[end].shape[-1] == views[start].shape[-1]:
                end += 1
            out_logits, out_cos = self(torch.cat(views[start:end]))
            logits.extend(out_logits.chunk(end - start))
            cosines.extend(out_cos.chunk(end - start))
            start = end
        return torch.stack(logits), torch.stack(cosines)

    def frozen_early_parameters(self) -> list[nn.Parameter]:
        """The head's last layer and the prototypes: frozen during the first part of training."""
        return [self.head.last_layer.weight, self.prototypes.weight]
