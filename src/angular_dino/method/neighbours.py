"""The kNN-to-U term of the score (`prototypes_knn`, or `auto` with few labels): how far an image is from its
nearest normal-looking unlabeled images.

The prototype score (METHOD §8) sees only what the identified prototypes stand for; with few labeled anomalies
those are identified from a handful of images, and an unseen kind of anomaly that sits near the normal
prototypes scores as normal. The distance to the k most similar unlabeled training images needs no labels, and
the unlabeled data are mostly normal. Its neighbours are only the unlabeled images that the prototype score calls
normal (below its threshold): with all of them, contaminating anomalies were each other's neighbours and the sum
lost where U holds many (BENCHMARKS.md, `score_variants_knn_few_labels`). The two terms are summed, each on the
scale of its scores over all unlabeled training images (mean 0, std 1 there), so that neither weighs by its units.

Everything here is plain tensor arithmetic in a form TorchScript compiles, for the exported scorer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from angular_dino.errors import InputError

NEIGHBOURS = 5  # k, as measured on the development suite
SAME_IMAGE = 1.0 - 1e-4  # a bank entry this similar to the query is the query itself (a training image scored)
FEW_LABELS = 100  # `score: auto` adds the term below this many labeled anomalies (DEVELOPERS.md's rule)


def uses_neighbours(score: str, n_positive: int) -> bool:
    """Whether a fit with `score` and `n_positive` labeled anomalies in its training part adds the kNN-to-U term:
    `auto` adds it with 1 to 99 (measured with 10 to 40; with 250 it lost, and without labels it was never measured)."""
    return score == "prototypes_knn" or (score == "auto" and 0 < n_positive < FEW_LABELS)


def knn_distance(embeddings: torch.Tensor, bank: torch.Tensor, k: int, same_image: float = SAME_IMAGE) -> torch.Tensor:
    """Minus the mean cosine of each unit embedding (N×D) to its `k` most similar bank entries (M×D, M > k); a
    bank entry that is the image itself (cosine ≥ `same_image`) does not count, so training images score as new
    images do."""
    top = (embeddings @ bank.T).topk(k + 1, dim=1).values
    is_itself = top[:, :1] >= same_image
    return -torch.where(is_itself, top[:, 1:], top[:, :-1]).mean(dim=1)


def combined_score(prototype_score: torch.Tensor, neighbour_score: torch.Tensor,
                   scales: torch.Tensor) -> torch.Tensor:
    """The sum of the two scores, each standardised: `scales` = (prototype mean, std, kNN mean, std) over the
    unlabeled training images."""
    return (prototype_score - scales[0]) / scales[1] + (neighbour_score - scales[2]) / scales[3]


def _mean_std(scores: torch.Tensor) -> list[float]:
    return [scores.mean().item(), max(scores.std(unbiased=False).item(), 1e-12)]


class TooFewNeighbours(InputError):
    """The training part holds too few unlabeled images that the prototype score calls normal for the term."""

    def __init__(self, available: int, k: int) -> None:
        super().__init__(f"score: prototypes_knn compares each image with its {k} nearest unlabeled training images "
                         f"scored normal, and the training part holds {available}; give more unlabeled images or "
                         "use score: prototypes")
        self.available, self.k = available, k


@dataclass(frozen=True)
class NeighbourTerm:
    """The unlabeled training images' embeddings (the bank) and the scales of both terms over them."""

    bank: torch.Tensor  # M×D unit embeddings, float32
    scales: torch.Tensor  # (prototype mean, std, kNN mean, std)
    k: int = NEIGHBOURS

    @classmethod
    def fit(cls, unlabeled_embeddings: torch.Tensor, unlabeled_prototype_scores: torch.Tensor, threshold: float,
            k: int = NEIGHBOURS) -> "NeighbourTerm":
        """The term of a fitted model, from its unlabeled training images' embeddings and prototype scores and the
        prototype score's threshold: the bank is the images below it."""
        called_normal = unlabeled_prototype_scores < threshold
        if int(called_normal.sum()) <= k:
            raise TooFewNeighbours(int(called_normal.sum()), k)
        embeddings = unlabeled_embeddings.float()
        bank = embeddings[called_normal].contiguous()
        scales = (_mean_std(unlabeled_prototype_scores.double())
                  + _mean_std(knn_distance(embeddings, bank, k).double()))
        return cls(bank, torch.tensor(scales, dtype=torch.float32), k)

    def score(self, embeddings: torch.Tensor, prototype_score: torch.Tensor) -> torch.Tensor:
        """The combined score of images with these unit embeddings and prototype scores."""
        return combined_score(prototype_score.float(), knn_distance(embeddings.float(), self.bank, self.k),
                              self.scales)

    def to_state(self) -> dict[str, Any]:
        return {"bank": self.bank, "scales": self.scales, "k": self.k}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "NeighbourTerm":
        return cls(state["bank"], state["scales"], int(state["k"]))
