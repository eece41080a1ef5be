"""What a report is made from: the numbers and arrays of one finished run (the contract with train/evaluate)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from angular_dino.data.pu_split import NORMAL, SEEN, UNSEEN


@dataclass(frozen=True)
class ScoredImages:
    """A gallery: images in the order shown, each with its score and a short note (class, kind, file or index)."""

    images: np.ndarray                            # uint8 (k, C, H, W), C = 1 or 3
    scores: np.ndarray                            # float (k,)
    notes: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "images", np.asarray(self.images))
        object.__setattr__(self, "scores", np.asarray(self.scores, dtype=float))
        k = len(self.images)
        _require(self.images.dtype == np.uint8 and self.images.ndim == 4 and self.images.shape[1] in (1, 3),
                 "gallery images must be uint8 (k, C, H, W) with C = 1 or 3")
        _require(self.scores.shape == (k,) and len(self.notes) == k,
                 f"a gallery of {k} images needs {k} scores and {k} notes")


@dataclass(frozen=True)
class ReportInputs:
    """Everything `write_report` draws. Optional parts left as None/empty skip their plots (baselines have
    no prototypes; folder data may have no class labels). Arrays may be given as numpy arrays or CPU tensors."""

    title: str                                    # e.g. "angular_dino · fashion_mnist · normal 0 · unseen 9 · seed 0"
    result: dict[str, Any]                        # result.json content (auroc/auprc {all, seen, unseen}, ...)
    history: list[dict[str, Any]]                 # metrics.jsonl records, one per epoch
    test_scores: np.ndarray                       # float (N,), higher = more anomalous
    test_kind: np.ndarray                         # int (N,): NORMAL, SEEN or UNSEEN (data.pu_split)
    test_labels: np.ndarray | None                # int class ids (N,), None for data without classes
    class_names: tuple[str, ...] | None
    threshold: float                              # None or NaN: no threshold is drawn or shown
    test_embeddings: np.ndarray | None = None     # (N, D) unit vectors
    prototype_vectors: np.ndarray | None = None   # (K, D) unit vectors
    normal_prototypes: tuple[int, ...] = ()
    anomaly_prototypes: tuple[int, ...] = ()
    gallery: dict[int, np.ndarray] | None = None  # prototype id -> uint8 images (k, C, H, W)
    settings: tuple[tuple[str, str], ...] = ()    # (key, value) of the main settings, for the summary table
    false_positives: ScoredImages | None = None   # the worst normal test images flagged, highest score first
    false_negatives: ScoredImages | None = None   # the worst anomalies passed, lowest score first
    label_next: ScoredImages | None = None        # the most anomalous unlabeled training images

    def __post_init__(self) -> None:
        """Convert arrays to numpy and check their shapes agree, so a wrong call fails here, not mid-plot."""
        for name in ("test_scores", "test_kind", "test_labels", "test_embeddings", "prototype_vectors"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, np.asarray(value))
        object.__setattr__(self, "threshold", math.nan if self.threshold is None else float(self.threshold))
        if self.gallery is not None:
            object.__setattr__(self, "gallery", {int(k): np.asarray(v) for k, v in self.gallery.items()})
        n = len(self.test_scores)
        _require(self.test_scores.ndim == 1 and self.test_kind.shape == (n,),
                 f"test_scores and test_kind must both have shape (N,); got {self.test_scores.shape} and "
                 f"{self.test_kind.shape}")
        _require(bool(np.isin(self.test_kind, (NORMAL, SEEN, UNSEEN)).all()),
                 f"test_kind values must be {NORMAL}, {SEEN} or {UNSEEN}")
        _require(self.test_labels is None or self.test_labels.shape == (n,),
                 f"test_labels must have shape ({n},)")
        _require(self.test_embeddings is None or (self.test_embeddings.ndim == 2 and len(self.test_embeddings) == n),
                 f"test_embeddings must have shape ({n}, D)")
        if self.prototype_vectors is not None:
            _require(self.prototype_vectors.ndim == 2, "prototype_vectors must have shape (K, D)")
            if self.test_embeddings is not None:
                _require(self.prototype_vectors.shape[1] == self.test_embeddings.shape[1],
                         "prototype_vectors and test_embeddings must have the same dimension D")
            k = len(self.prototype_vectors)
            _require(all(0 <= i < k for i in (*self.normal_prototypes, *self.anomaly_prototypes)),
                     f"prototype ids must lie in 0..{k - 1}")
        for prototype, images in (self.gallery or {}).items():
            _require(images.dtype == np.uint8 and images.ndim == 4 and images.shape[1] in (1, 3),
                     f"gallery[{prototype}] must be uint8 images (k, C, H, W) with C = 1 or 3")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(f"ReportInputs: {message}")
