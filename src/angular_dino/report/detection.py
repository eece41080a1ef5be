"""How well the scores separate the test kinds: ROC curves and score histograms with the threshold."""
from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score, roc_curve

from angular_dino.data.pu_split import NORMAL, SEEN, UNSEEN
from angular_dino.report.style import (BLACK, KIND_COLOURS, KIND_LINESTYLES, KIND_NAMES, new_figure)

# The ROC subsets of METHOD §2: anomalies of a kind against all normal test images.
ROC_SUBSETS = (("all", (SEEN, UNSEEN), BLACK, "-"),
               ("seen", (SEEN,), KIND_COLOURS[SEEN], KIND_LINESTYLES[SEEN]),
               ("unseen", (UNSEEN,), KIND_COLOURS[UNSEEN], KIND_LINESTYLES[UNSEEN]))


def finite_scores(scores: np.ndarray, kinds: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """Scores and kinds without NaN/inf entries, and a note saying how many were left out (or "")."""
    keep = np.isfinite(scores)
    dropped = int((~keep).sum())
    return scores[keep], kinds[keep], f" ({dropped} non-finite scores left out)" if dropped else ""


def roc_curves(scores: np.ndarray, kinds: np.ndarray) -> Figure | None:
    """ROC curves for all / seen / unseen anomalies against normal images; None without both classes."""
    scores, kinds, note = finite_scores(scores, kinds)
    is_normal = kinds == NORMAL
    if not is_normal.any() or is_normal.all():
        return None
    figure = new_figure(5.6, 5.2)
    ax = figure.subplots()
    ax.plot([0, 1], [0, 1], color="#999999", linestyle=":", label="chance (AUROC 0.5)")
    for name, anomaly_kinds, colour, linestyle in ROC_SUBSETS:
        subset = is_normal | np.isin(kinds, anomaly_kinds)
        is_anomaly = ~is_normal[subset]
        if not is_anomaly.any():
            continue
        false_positive, true_positive, _ = roc_curve(is_anomaly, scores[subset])
        auroc = roc_auc_score(is_anomaly, scores[subset])
        ax.plot(false_positive, true_positive, color=colour, linestyle=linestyle, linewidth=1.8,
                label=f"{name} (AUROC {auroc:.3f}, {int(is_anomaly.sum())} anomalies)")
    ax.set(title=f"ROC curves, anomalies vs {int(is_normal.sum())} normal images{note}",
           xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1.01), aspect="equal")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return figure


def score_histograms(scores: np.ndarray, kinds: np.ndarray, threshold: float) -> Figure | None:
    """Score distributions of normal, seen and unseen test images on shared bins, threshold marked."""
    scores, kinds, note = finite_scores(scores, kinds)
    if len(scores) == 0:
        return None
    bins = np.histogram_bin_edges(scores, bins=min(50, max(10, len(scores) // 20)))
    figure = new_figure(7.0, 4.2)
    ax = figure.subplots()
    for kind in (NORMAL, SEEN, UNSEEN):
        of_kind = scores[kinds == kind]
        if len(of_kind) == 0:
            continue
        colour = KIND_COLOURS[kind]
        ax.hist(of_kind, bins=bins, density=True, color=colour, alpha=0.25)
        ax.hist(of_kind, bins=bins, density=True, histtype="step", color=colour, linewidth=1.6,
                linestyle=KIND_LINESTYLES[kind], label=f"{KIND_NAMES[kind]} ({len(of_kind)})")
    span = bins[-1] - bins[0]
    if bins[0] - span <= threshold <= bins[-1] + span:  # a far-off threshold would squash the histograms
        ax.axvline(threshold, color=BLACK, linestyle="--", linewidth=1.4, label=f"threshold {threshold:.4g}")
    elif math.isfinite(threshold):
        ax.plot([], [], " ", label=f"threshold {threshold:.4g} (off the scale)")
    ax.set(title=f"Anomaly scores of the test images{note}", xlabel="anomaly score (higher = more anomalous)",
           ylabel="density")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return figure
