"""Which prototypes stand for normal and which for anomalous data (METHOD §7), and the score (§8)."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class IdentifiedPrototypes:
    normal: tuple[int, ...]
    anomaly: tuple[int, ...]

    def to_dict(self) -> dict[str, list[int]]:
        return {"normal": list(self.normal), "anomaly": list(self.anomaly)}


def vote_scores(cos: torch.Tensor, top_k: int) -> torch.Tensor:
    """Each image adds its cosine to its `top_k` most similar prototypes; returns the mean votes (K,)."""
    values, indices = cos.topk(top_k, dim=1)
    votes = torch.zeros_like(cos).scatter_(1, indices, values)
    return votes.mean(dim=0)


def identify_prototypes(cos: torch.Tensor, is_positive: torch.Tensor, top_k: int, pt_num: int) -> IdentifiedPrototypes:
    """Anomaly prototypes: highest P-score. Normal prototypes: highest U-score − P-score.

    `cos` (N, K) are teacher cosines of clean training images, `is_positive` marks P images. A
    prototype chosen as anomalous is not also chosen as normal (their scores would cancel). Without P
    images (training without labeled anomalies) there are no anomaly prototypes, and the normal ones are
    those of highest U-score: the prototypes the bulk of the data sits at.
    """
    u_score = vote_scores(cos[~is_positive], top_k)
    if not is_positive.any():
        return IdentifiedPrototypes(tuple(sorted(u_score.topk(pt_num).indices.tolist())), ())
    p_score = vote_scores(cos[is_positive], top_k)
    anomaly = p_score.topk(pt_num).indices
    normal_rank = (u_score - p_score).index_fill(0, anomaly, float("-inf"))
    normal = normal_rank.topk(pt_num).indices
    return IdentifiedPrototypes(tuple(sorted(normal.tolist())), tuple(sorted(anomaly.tolist())))


def anomaly_score(cos: torch.Tensor, prototypes: IdentifiedPrototypes) -> torch.Tensor:
    """METHOD §8's score of cosines to the prototypes identified (higher = more anomalous)."""
    def indices(chosen: tuple[int, ...]) -> torch.Tensor:
        return torch.tensor(chosen, dtype=torch.long, device=cos.device)
    return indexed_anomaly_score(cos, indices(prototypes.normal), indices(prototypes.anomaly))


def indexed_anomaly_score(cos: torch.Tensor, normal: torch.Tensor, anomaly: torch.Tensor) -> torch.Tensor:
    """mean cosine to anomaly prototypes − mean cosine to normal prototypes, the prototypes given as index tensors
    (a form TorchScript compiles, for the exported scorer); with no anomaly prototypes (training without labeled
    anomalies), − mean cosine to the normal ones."""
    normal_mean = cos.index_select(1, normal).mean(dim=1)
    if anomaly.numel() == 0:
        return -normal_mean
    return cos.index_select(1, anomaly).mean(dim=1) - normal_mean


def margin_targets(is_positive: torch.Tensor, prototypes: IdentifiedPrototypes, prototype_num: int) -> torch.Tensor:
    """(B, K) mask of target entries: (U sample, normal prototype) and (P sample, anomaly prototype)."""
    normal = torch.zeros(prototype_num, dtype=torch.bool, device=is_positive.device)
    anomaly = torch.zeros_like(normal)
    normal[list(prototypes.normal)] = True
    anomaly[list(prototypes.anomaly)] = True
    return torch.where(is_positive[:, None], anomaly[None], normal[None])
