"""IsolationForest on raw pixels (METHOD §10), fitted on the unlabeled images only.

scikit-learn grows the trees; we keep them as tensors (split feature, threshold, children, and each
leaf's path length) and score with our own vectorised traversal, which reproduces sklearn's
`score_samples` (tested). So the saved model is tensors only and loads with `weights_only=True`,
where pickling the sklearn object would need an unsafe load.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from sklearn.ensemble import IsolationForest

from angular_dino.baselines.inputs import model_input
from angular_dino.baselines.settings import BaselineDetector, BaselineSettings
from angular_dino.data.prepare import PUParts
from angular_dino.detection.monitor import FitMonitor, Progress

EULER_GAMMA = 0.5772156649


def average_path_length(n: np.ndarray) -> np.ndarray:
    """c(n): the mean path length of an unsuccessful search in a binary tree of n points (Liu et al. 2008)."""
    n = np.asarray(n, dtype=np.float64)
    safe = np.maximum(n, 3.0)
    general = 2.0 * (np.log(safe - 1.0) + EULER_GAMMA) - 2.0 * (safe - 1.0) / safe
    return np.where(n <= 1, 0.0, np.where(n == 2, 1.0, general))


def _node_depths(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    depth = np.zeros(len(left), dtype=np.int64)
    for node in range(len(left)):  # sklearn numbers a child after its parent
        if left[node] >= 0:
            depth[left[node]] = depth[right[node]] = depth[node] + 1
    return depth


def forest_as_tensors(forest: IsolationForest) -> dict[str, Any]:
    """The fitted trees, padded to one size: what `isolation_scores` needs, as tensors and plain values."""
    trees = [estimator.tree_ for estimator in forest.estimators_]
    width = max(tree.node_count for tree in trees)
    out = {"feature": torch.full((len(trees), width), 0, dtype=torch.int64),
           "threshold": torch.zeros((len(trees), width), dtype=torch.float64),
           "left": torch.full((len(trees), width), -1, dtype=torch.int64),
           "right": torch.full((len(trees), width), -1, dtype=torch.int64),
           "leaf_path": torch.zeros((len(trees), width), dtype=torch.float64)}
    max_depth = 0
    for row, tree in enumerate(trees):
        nodes = tree.node_count
        depth = _node_depths(tree.children_left, tree.children_right)
        max_depth = max(max_depth, int(depth.max()))
        out["feature"][row, :nodes] = torch.from_numpy(np.maximum(tree.feature, 0).astype(np.int64))
        out["threshold"][row, :nodes] = torch.from_numpy(tree.threshold.astype(np.float64))
        out["left"][row, :nodes] = torch.from_numpy(tree.children_left.astype(np.int64))
        out["right"][row, :nodes] = torch.from_numpy(tree.children_right.astype(np.int64))
        out["leaf_path"][row, :nodes] = torch.from_numpy(depth + average_path_length(tree.n_node_samples))
    return {**out, "max_depth": max_depth,
            "normaliser": float(average_path_length(np.array([forest.max_samples_]))[0])}


def isolation_scores(trees: dict[str, Any], features: torch.Tensor) -> np.ndarray:
    """2^(−E[h(x)] / c(ψ)) for float32 rows `features` (= −sklearn's `score_samples`; higher = more anomalous).

    Every sample descends every tree at once, one level per step; a sample at a leaf stays there.
    Comparisons are done on the float32 values, as sklearn's trees do.
    """
    n_trees, width = trees["left"].shape
    offsets = torch.arange(n_trees) * width
    flat = {name: trees[name].reshape(-1) for name in ("feature", "threshold", "left", "right", "leaf_path")}
    values = features.double()
    node = torch.zeros((len(values), n_trees), dtype=torch.int64)
    for _ in range(trees["max_depth"]):
        index = node + offsets
        goes_left = values.gather(1, flat["feature"][index]) <= flat["threshold"][index]
        child = torch.where(goes_left, flat["left"][index], flat["right"][index])
        node = torch.where(child >= 0, child, node)
    path = flat["leaf_path"][node + offsets].mean(1)
    return torch.pow(2.0, -path / trees["normaliser"]).numpy() if trees["normaliser"] > 0 else np.ones(len(values))


class IForest(BaselineDetector):
    method = "iforest"
    model_attribute = "trees_"

    def _features(self, images: torch.Tensor) -> torch.Tensor:
        """Flattened pixels of the Deep PU input (size×size, 3 channels, [0, 1]) as float32 rows."""
        return model_input(images, self.settings_.image_size).flatten(1)

    def _fit(self, settings: BaselineSettings, parts: PUParts, monitor: FitMonitor) -> None:
        """Grow the forest on the unlabeled images; the labeled anomalies only serve the threshold. A forest has no
        epochs to tell `monitor` of."""
        started = time.time()
        self.settings_ = settings
        monitor.begin(Progress(0, 0, 0, 1), "epoch")
        unlabeled = self._features(parts.train_images[~parts.train_is_positive]).numpy()
        forest = IsolationForest(n_estimators=settings.iforest_trees,
                                 max_samples=min(settings.iforest_max_samples, len(unlabeled)),
                                 random_state=settings.seed).fit(unlabeled)
        self.trees_ = forest_as_tensors(forest)
        self.history_: list[dict[str, Any]] = []
        self._train_seconds = time.time() - started

    def result_fields(self) -> dict[str, Any]:
        return {"best_epoch": {}, "epochs": None, "precision": None, "train_seconds": round(self._train_seconds, 1)}

    def _score_images(self, images: torch.Tensor) -> np.ndarray:
        return isolation_scores(self.trees_, self._features(images))

    def _fitted_state(self) -> dict[str, Any]:
        return {"trees": self.trees_}

    @classmethod
    def _from_fitted_state(cls, config: dict[str, Any], state: dict[str, Any]) -> "IForest":
        detector = cls(**cls._parameters_of(config))
        detector.settings_ = detector._checked_settings()
        detector.trees_ = state["trees"]
        detector.history_ = []
        return detector
