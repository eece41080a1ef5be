"""A 2-D map of the test embeddings (PCA) with the prototypes projected into the same plane."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from angular_dino.data.pu_split import NORMAL, SEEN, UNSEEN
from angular_dino.report.style import (BLACK, CLASS_COLOURS, KIND_COLOURS, KIND_MARKERS, KIND_NAMES,
                                       PROTOTYPE_COLOURS, cycled, new_figure)


@dataclass(frozen=True)
class Projection:
    """The top two principal axes of a set of points: PCA by SVD, exact and fast for N×64 arrays."""
    mean: np.ndarray
    axes: np.ndarray  # (2, D)
    explained: tuple[float, float]  # fraction of the variance along each axis

    @classmethod
    def fit(cls, points: np.ndarray) -> "Projection":
        mean = points.mean(axis=0)
        _, singular, directions = np.linalg.svd(points - mean, full_matrices=False)
        found = min(2, len(directions))  # fewer than two axes when D = 1 or N = 1
        axes, shares = np.zeros((2, points.shape[1])), np.zeros(2)
        axes[:found] = directions[:found]
        variance = singular ** 2
        if variance.sum() > 0:
            shares[:found] = variance[:found] / variance.sum()
        return cls(mean, axes, (float(shares[0]), float(shares[1])))

    def __call__(self, points: np.ndarray) -> np.ndarray:
        return (points - self.mean) @ self.axes.T


def _groups(kinds: np.ndarray, labels: np.ndarray | None,
            class_names: tuple[str, ...] | None) -> list[tuple[str, np.ndarray, str, str]]:
    """(legend label, mask, colour, marker) per class when labels are known, else per kind.

    The marker always shows the kind. A kind with a single class (the normal class, the unseen class of
    the PU benchmark) keeps its kind colour, as in the other plots; the other classes get their own.
    """
    if labels is None:
        return [(KIND_NAMES[kind], kinds == kind, KIND_COLOURS[kind], KIND_MARKERS[kind])
                for kind in (NORMAL, SEEN, UNSEEN) if (kinds == kind).any()]
    names = class_names or ()
    pairs = sorted({(int(kind), int(label)) for kind, label in zip(kinds, labels)})
    single = {kind for kind in (NORMAL, UNSEEN) if sum(k == kind for k, _ in pairs) == 1}
    others = iter(cycled(CLASS_COLOURS, len(pairs)))
    return [(f"{names[label] if 0 <= label < len(names) else label} ({KIND_NAMES[kind]})",
             (kinds == kind) & (labels == label), KIND_COLOURS[kind] if kind in single else next(others),
             KIND_MARKERS[kind])
            for kind, label in pairs]


def embedding_map(embeddings: np.ndarray, kinds: np.ndarray, labels: np.ndarray | None,
                  class_names: tuple[str, ...] | None, prototypes: np.ndarray | None = None,
                  normal_prototypes: tuple[int, ...] = (), anomaly_prototypes: tuple[int, ...] = ()) -> Figure | None:
    """Test embeddings on their first two principal axes, coloured by class (or kind), with the normal
    and anomaly prototypes marked; the other prototypes are small grey crosses. None without embeddings."""
    keep = np.isfinite(embeddings).all(axis=1)
    if keep.sum() < 2:
        return None
    embeddings, kinds = embeddings[keep], kinds[keep]
    labels = None if labels is None else labels[keep]
    projection = Projection.fit(embeddings)
    points = projection(embeddings)
    figure = new_figure(8.5, 6.5)
    ax = figure.subplots()
    for label, mask, colour, marker in _groups(kinds, labels, class_names):
        ax.scatter(points[mask, 0], points[mask, 1], s=9, color=colour, marker=marker, alpha=0.6,
                   linewidths=0, label=label)
    if prototypes is not None:
        projected = projection(prototypes)
        chosen = set(normal_prototypes) | set(anomaly_prototypes)
        others = [i for i in range(len(prototypes)) if i not in chosen]
        if others:
            ax.scatter(projected[others, 0], projected[others, 1], s=18, marker="+", color="#888888",
                       label=f"other prototypes ({len(others)})")
        for name, ids, marker in (("normal", normal_prototypes, "*"), ("anomaly", anomaly_prototypes, "X")):
            ids = list(ids)
            if not ids:
                continue
            ax.scatter(projected[ids, 0], projected[ids, 1], s=170, marker=marker, color=PROTOTYPE_COLOURS[name],
                       edgecolors=BLACK, linewidths=1.0, zorder=3, label=f"{name} prototypes ({len(ids)})")
    first, second = projection.explained
    ax.set(title="Test embeddings, PCA of the teacher's unit embeddings",
           xlabel=f"principal axis 1 ({first:.0%} of variance)", ylabel=f"principal axis 2 ({second:.0%} of variance)")
    ax.grid(alpha=0.3)
    legend = ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    for handle in legend.legend_handles:  # one readable marker size, whatever the size in the plot
        handle.set_sizes([40])
    return figure
