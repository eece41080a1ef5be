"""AUROC / AUPRC on all test images, on normal + seen and on normal + unseen anomalies (METHOD §2), and what
the run's threshold makes of the scores: precision, recall, F1, confusion matrix, share flagged per group."""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from angular_dino.data.pu_split import NORMAL, SEEN, UNSEEN
from angular_dino.errors import NonFiniteScores


def require_finite(scores: torch.Tensor | np.ndarray, what: str) -> None:
    """Raise `NonFiniteScores` naming how many of `what` scores are NaN or infinite (sklearn would only say
    "Input contains NaN", with a traceback)."""
    values = torch.as_tensor(np.asarray(scores, dtype=np.float64))
    bad = int((~torch.isfinite(values)).sum())
    if bad:
        raise NonFiniteScores(f"{bad} of {values.numel()} {what} scores are not finite (NaN or infinite), so they "
                              "have no AUROC and no threshold; with precision bf16 try --set precision=fp32")


def _safe(metric, labels: torch.Tensor, scores: torch.Tensor) -> float | None:
    """The metric, or None when one class is missing (e.g. no unseen anomalies configured)."""
    require_finite(scores, "the")
    if labels.numel() == 0 or labels.min() == labels.max():
        return None
    return float(metric(labels.numpy(), scores.double().numpy()))


def detection_metrics(scores: torch.Tensor, kinds: torch.Tensor) -> dict[str, dict[str, float | None]]:
    """{"auroc": {"all", "seen", "unseen"}, "auprc": {...}} with anomalies as the positive class."""
    scores, kinds = scores.cpu(), kinds.cpu()
    subsets = {"all": torch.ones_like(kinds, dtype=torch.bool),
               "seen": (kinds == NORMAL) | (kinds == SEEN),
               "unseen": (kinds == NORMAL) | (kinds == UNSEEN)}
    result: dict[str, dict[str, float | None]] = {"auroc": {}, "auprc": {}}
    for name, mask in subsets.items():
        labels = (kinds[mask] != NORMAL).long()
        result["auroc"][name] = _safe(roc_auc_score, labels, scores[mask])
        result["auprc"][name] = _safe(average_precision_score, labels, scores[mask])
    return result


def pu_auroc(scores: torch.Tensor, is_positive: torch.Tensor) -> float | None:
    """AUROC of labeled anomalies (P) against unlabeled data (U): a model-selection signal that uses PU labels only."""
    return _safe(roc_auc_score, is_positive.cpu().long(), scores.cpu())


def metrics_table(result: dict) -> str:
    """AUROC and AUPRC rows over all / seen / unseen, "n/a" where a part has no anomalies."""
    def cell(value: float | None) -> str:
        return "  n/a " if value is None else f"{value:.4f}"

    lines = [f"{'':8}{'all':>8}{'seen':>8}{'unseen':>8}"]
    for metric in ("auroc", "auprc"):
        values = result[metric]
        lines.append(f"{metric.upper():8}{cell(values['all']):>8}{cell(values['seen']):>8}{cell(values['unseen']):>8}")
    return "\n".join(lines)


# --- at the threshold: what the hard labels (score >= threshold) get right and wrong ---------------------
KIND_NAMES = {NORMAL: "normal", SEEN: "seen", UNSEEN: "unseen"}


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def flagged_share(flagged: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    """How many images of a group the threshold flags: {"n", "flagged", "share"} (share None for an empty group)."""
    n, hits = int(mask.sum()), int((flagged & mask).sum())
    return {"n": n, "flagged": hits, "share": _ratio(hits, n)}


def threshold_metrics(scores: np.ndarray, kinds: np.ndarray, threshold: float, labels: np.ndarray | None = None,
                      class_names: Sequence[str] = ()) -> dict[str, Any] | None:
    """Precision, recall and F1 of `score >= threshold` with anomalies (seen and unseen) as positives, the
    confusion matrix, and the share flagged per test kind and, when `class_names` are given, per class.

    The share flagged is the recall for anomaly groups and the false-positive rate for normal ones. A
    non-finite score is never flagged, as in `score`'s labels. None without a finite threshold.
    """
    if threshold is None or not math.isfinite(threshold):
        return None
    scores, kinds = np.asarray(scores, dtype=np.float64), np.asarray(kinds)
    flagged = np.nan_to_num(scores, nan=-np.inf) >= threshold
    anomaly = kinds != NORMAL
    tp, fp = int((flagged & anomaly).sum()), int((flagged & ~anomaly).sum())
    fn, tn = int((~flagged & anomaly).sum()), int((~flagged & ~anomaly).sum())
    result: dict[str, Any] = {
        "threshold": float(threshold), "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn), "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
        "flagged_by_kind": {name: flagged_share(flagged, kinds == kind) for kind, name in KIND_NAMES.items()}}
    if class_names and labels is not None:
        labels = np.asarray(labels)
        pairs = sorted({(int(kind), int(label)) for kind, label in zip(kinds, labels)})
        result["flagged_by_class"] = [
            {"class": class_names[label] if 0 <= label < len(class_names) else str(label), "kind": KIND_NAMES[kind],
             **flagged_share(flagged, (kinds == kind) & (labels == label))} for kind, label in pairs]
    return result


def ranked(scores: np.ndarray, *, highest_first: bool) -> np.ndarray:
    """Positions of `scores` in score order (ties keep their order); non-finite scores come last either way."""
    scores = np.asarray(scores, dtype=np.float64)
    finite = np.isfinite(scores)
    key = np.where(finite, -scores if highest_first else scores, 0.0)
    return np.lexsort((key, ~finite))


def worst_errors(scores: np.ndarray, kinds: np.ndarray, threshold: float, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the k worst false positives (normal images, highest scores first) and the k worst false
    negatives (anomalies under the threshold, lowest scores first); empty without a finite threshold."""
    if threshold is None or not math.isfinite(threshold):
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    scores, kinds = np.asarray(scores, dtype=np.float64), np.asarray(kinds)
    flagged = np.nan_to_num(scores, nan=-np.inf) >= threshold
    false_positive = np.flatnonzero(flagged & (kinds == NORMAL))
    false_negative = np.flatnonzero(~flagged & (kinds != NORMAL) & np.isfinite(scores))
    return (false_positive[ranked(scores[false_positive], highest_first=True)][:k],
            false_negative[ranked(scores[false_negative], highest_first=False)][:k])


def threshold_table(at: dict[str, Any] | None, rule: str | None = None) -> str:
    """The text form of `threshold_metrics`: headline figures, confusion matrix, share flagged per group."""
    if not at:
        return "no finite threshold: no figures at the threshold"

    def figure(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.4f}"

    c = at["confusion"]
    lines = [f"at threshold {at['threshold']:.4g}{f' ({rule})' if rule else ''}: precision {figure(at['precision'])}, "
             f"recall {figure(at['recall'])}, F1 {figure(at['f1'])}",
             f"{'':10}{'flagged':>10}{'passed':>10}",
             f"{'normal':10}{c['fp']:>10}{c['tn']:>10}",
             f"{'anomaly':10}{c['tp']:>10}{c['fn']:>10}",
             "flagged (recall of anomalies; false-positive rate of normal images):"]
    groups = list(at["flagged_by_kind"].items())
    groups += [(f"{group['class']} ({group['kind']})", group) for group in at.get("flagged_by_class", [])]
    for name, group in groups:
        if group["n"]:
            lines.append(f"  {name:24}{group['flagged']:>6}/{group['n']:<6}{group['share']:>7.1%}")
    return "\n".join(lines)
