"""Losses of METHOD §5–7: the centred DINO cross-entropy and the dual angular margins."""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F


def additive_angular_margin(cos: torch.Tensor, target: torch.Tensor, margin: float) -> torch.Tensor:
    """`cos θ -> cos(θ + m)` on target entries (ArcFace); `cos θ - m·sin m` where θ + m would pass π.

    Written with sin θ = sqrt(1 - cos²θ) rather than acos, whose gradient is infinite at ±1.
    """
    sin = (1 - cos.pow(2)).clamp_min(1e-7).sqrt()
    shifted = torch.where(cos > -math.cos(margin), cos * math.cos(margin) - sin * math.sin(margin),
                          cos - margin * math.sin(margin))
    return torch.where(target, shifted, cos)


def subtractive_angular_margin(cos: torch.Tensor, target: torch.Tensor, margin: float) -> torch.Tensor:
    """`cos θ -> cos(θ - m)` on target entries; 1 where θ < m (the angle cannot go below 0)."""
    sin = (1 - cos.pow(2)).clamp_min(0).sqrt()
    shifted = torch.where(cos < math.cos(margin), cos * math.cos(margin) + sin * math.sin(margin),
                          torch.ones_like(cos))
    return torch.where(target, shifted, cos)


def dino_cross_entropy(student_scores: torch.Tensor, teacher_probs: torch.Tensor,
                       sample_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy of every teacher view against every other student view, averaged over pairs.

    `student_scores` (V_s, B, D) are already divided by the student temperature; `teacher_probs`
    (V_t, B, D) are the teacher's sharpened centred distributions; student view i and teacher view i
    are the same crop (i < V_t), and those pairs are skipped. Each sample's loss is multiplied by its
    weight (1 when `sample_weights` is None), then averaged over the batch.
    """
    log_q = F.log_softmax(student_scores.float(), dim=-1)
    pair_ce = -torch.einsum("tbd,sbd->tsb", teacher_probs.float(), log_q)
    n_teacher, n_student = pair_ce.shape[:2]
    keep = ~torch.eye(n_teacher, n_student, dtype=torch.bool, device=pair_ce.device)
    per_sample = pair_ce[keep].mean(dim=0)
    if sample_weights is not None:
        per_sample = per_sample * sample_weights
    return per_sample.mean()


class TeacherCentre:
    """EMA of the teacher's batch-mean output, subtracted before sharpening (prevents collapse)."""

    def __init__(self, dim: int, momentum: float, device: torch.device | str = "cpu",
                 reduce: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        self.value = torch.zeros(dim, device=device)
        self.momentum = momentum
        self.reduce = reduce  # averages the batch mean over processes when distributed (METHOD §5)

    def sharpen(self, teacher_scores: torch.Tensor, temperature: float) -> torch.Tensor:
        return F.softmax((teacher_scores.float() - self.value) / temperature, dim=-1)

    @torch.no_grad()
    def update(self, teacher_scores: torch.Tensor) -> None:
        batch_mean = teacher_scores.float().mean(dim=(0, 1))
        if self.reduce is not None:
            batch_mean = self.reduce(batch_mean)
        self.value.mul_(self.momentum).add_(batch_mean, alpha=1 - self.momentum)


def pu_sample_weights(is_positive: torch.Tensor) -> torch.Tensor:
    """N/(2·N_U) for unlabeled and N/(2·N_P) for positive samples (METHOD §6): each part weighs half. Without
    positive samples every sample weighs 1."""
    n = is_positive.numel()
    n_positive = int(is_positive.sum())
    if n_positive == 0:
        return torch.ones(n, device=is_positive.device)
    return torch.where(is_positive, n / (2 * n_positive), n / (2 * (n - n_positive))).float()
