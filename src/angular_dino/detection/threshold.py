"""The decision threshold for hard labels, chosen from training data only (METHOD §8).

Two rules:
- `val_f1` (default): the score that best separates labeled anomalies (P) from unlabeled data (U) on
  the validation part, by F1 with P as the positive class. It needs no assumption about the
  contamination, only PU labels; since U is mostly normal, it approximates the normal/anomaly cut.
- `contamination`: the (1 − contamination) quantile of the unlabeled training scores, for users who
  know roughly what share of their unlabeled data is anomalous.
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_curve

from angular_dino.errors import UserError

THRESHOLD_RULES = ("val_f1", "contamination")


def best_f1_threshold(scores: np.ndarray, is_positive: np.ndarray) -> float:
    """The score t maximising F1 of `score >= t` against the PU labels."""
    precision, recall, thresholds = precision_recall_curve(is_positive.astype(int), scores)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    return float(thresholds[int(np.argmax(f1))])


def contamination_threshold(unlabeled_scores: np.ndarray, contamination: float) -> float:
    """The score above which the assumed `contamination` share of unlabeled images lies."""
    return float(np.quantile(unlabeled_scores, 1.0 - contamination))


def choose_threshold(rule: str, *, val_scores: np.ndarray, val_is_positive: np.ndarray,
                     unlabeled_scores: np.ndarray, contamination: float) -> float:
    """Apply `rule` (one of THRESHOLD_RULES); every input comes from the training data."""
    if rule == "val_f1":
        if len(val_scores) == 0 or val_is_positive.all() or not val_is_positive.any():
            raise UserError("threshold_rule val_f1 needs unlabeled and positive images in the validation part; "
                            "raise val_fraction or use threshold_rule: contamination")
        return best_f1_threshold(np.asarray(val_scores, dtype=np.float64), np.asarray(val_is_positive, dtype=bool))
    if rule == "contamination":
        return contamination_threshold(np.asarray(unlabeled_scores, dtype=np.float64), contamination)
    raise ValueError(f"unknown threshold rule {rule!r}")
