"""AUROC / AUPRC on all test images, on normal + seen and on normal + unseen anomalies (METHOD §2)."""
from __future__ import annotations

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
