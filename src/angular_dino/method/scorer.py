"""A fitted AngularDINO as one self-contained module, for export: uint8 images in, anomaly scores out.

The module holds everything `decision_function` applies after its input conversions: the scaling to [0, 1], the
channel normalisation, the teacher's backbone, the unit prototype vectors and the identified prototypes of the
score (METHOD §8), and, when the score has the kNN term, the unlabeled images' embeddings and the two terms'
scales. It computes in float32 (a model trained under bf16 autocast scores under it, so its exported
scores differ from `decision_function` in the last digits).
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from angular_dino.method.model.network import AngularDINONet
from angular_dino.method.neighbours import NeighbourTerm, combined_score, knn_distance
from angular_dino.method.prototypes import IdentifiedPrototypes, indexed_anomaly_score


class Scorer(nn.Module):
    """uint8 images, N×H×W (one channel) or N×C×H×W, at the model's channels and size -> float32 scores (N,)."""

    def __init__(self, net: AngularDINONet, prototypes: IdentifiedPrototypes, mean: tuple[float, ...],
                 std: tuple[float, ...], input_shape: tuple[int, int, int],
                 neighbours: NeighbourTerm | None = None) -> None:
        super().__init__()
        self.backbone = copy.deepcopy(net.backbone).float().cpu().to(memory_format=torch.contiguous_format).eval()
        self.backbone.requires_grad_(False)
        self.channels, self.height, self.width = input_shape
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("prototype_vectors", net.prototypes.unit_weight().detach().float().cpu())
        self.register_buffer("anomaly", torch.tensor(prototypes.anomaly, dtype=torch.long))
        self.register_buffer("normal", torch.tensor(prototypes.normal, dtype=torch.long))
        self.use_neighbours = neighbours is not None
        self.neighbours_k = neighbours.k if neighbours is not None else 0
        bank, scales = (neighbours.bank, neighbours.scales) if neighbours is not None else (
            torch.zeros(0, self.prototype_vectors.shape[1]), torch.ones(4))
        self.register_buffer("neighbour_bank", bank.clone())
        self.register_buffer("neighbour_scales", scales.clone())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() == 3:
            images = images.unsqueeze(1)
        if images.dim() != 4 or images.shape[1] != self.channels or images.shape[2] != self.height \
                or images.shape[3] != self.width:
            raise ValueError(f"expected uint8 images N×{self.channels}×{self.height}×{self.width}")
        x = (images.float() / 255 - self.mean) / self.std
        embedding = F.normalize(self.backbone(x), dim=-1)
        cosines = F.linear(embedding, self.prototype_vectors)
        scores = indexed_anomaly_score(cosines, self.normal, self.anomaly)
        if self.use_neighbours:
            scores = combined_score(scores, knn_distance(embedding, self.neighbour_bank, self.neighbours_k),
                                    self.neighbour_scales)
        return scores
