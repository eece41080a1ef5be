"""The decision threshold for hard labels, chosen from training data only (METHOD §8), for every method.

Two rules:
- `val_f1` (default): the score that best separates labeled anomalies (P) from unlabeled data (U) on
  the validation part, by F1 with P as the positive class. It needs no assumption about the
  contamination, only PU labels; since U is mostly normal, it approximates the normal/anomaly cut.
- `contamination`: the (1 − contamination) quantile of the scores of every unlabeled training image (the
  part trained on and the validation part), for users who know roughly what share of their unlabeled data
  is anomalous.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from sklearn.metrics import precision_recall_curve

from angular_dino.data.prepare import PUParts
from angular_dino.detection.metrics import require_finite
from angular_dino.errors import UserError

THRESHOLD_RULES = ("val_f1", "contamination")


def best_f1_threshold(scores: np.ndarray, is_positive: np.ndarray) -> float:
    """The score t maximising F1 of `score >= t` against the PU labels."""
    require_finite(scores, "validation")
    precision, recall, thresholds = precision_recall_curve(is_positive.astype(int), scores)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    return float(thresholds[int(np.argmax(f1))])


def contamination_threshold(unlabeled_scores: np.ndarray, contamination: float) -> float:
    """The score above which the assumed `contamination` share of unlabeled images lies."""
    require_finite(unlabeled_scores, "unlabeled training")
    return float(np.quantile(unlabeled_scores, 1.0 - contamination))


def threshold_rule_for(rule: str, has_positives: bool) -> str:
    """The rule a fit applies: `val_f1` needs labeled anomalies, so without them it is `contamination`."""
    return rule if has_positives else "contamination"


def fitted_threshold(rule: str, contamination: float, parts: PUParts,
                     scores: Callable[[torch.Tensor], np.ndarray]) -> float:
    """Apply `rule` (one of THRESHOLD_RULES) to a fitted model's `scores` of the training data in `parts`, scoring
    only the images the rule needs."""
    if rule == "val_f1":
        if len(parts.val_images) == 0 or parts.val_is_positive.all() or not parts.val_is_positive.any():
            raise UserError("threshold_rule val_f1 needs unlabeled and positive images in the validation part; "
                            "raise val_fraction or use threshold_rule: contamination")
        return best_f1_threshold(np.asarray(scores(parts.val_images), dtype=np.float64),
                                 parts.val_is_positive.numpy().astype(bool))
    if rule == "contamination":
        unlabeled = torch.cat([parts.train_images[~parts.train_is_positive], parts.val_images[~parts.val_is_positive]])
        return contamination_threshold(np.asarray(scores(unlabeled), dtype=np.float64), contamination)
    raise ValueError(f"unknown threshold rule {rule!r}")
