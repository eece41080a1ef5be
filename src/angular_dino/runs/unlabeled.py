"""The unlabeled training images a fitted detector finds most anomalous: what to label next (the report's
gallery and `angular-dino suggest`). Labelling them, as P or as normal, is the cheapest way to a better run.

The unlabeled images are all of U: the part trained on and the validation part. Each is named by its
file for folder data, or by its index into the dataset's train pool for the catalogued datasets.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from angular_dino.data.prepare import PUData
from angular_dino.detection.base import BaseDetector, scores_of
from angular_dino.detection.metrics import ranked


@dataclass(frozen=True)
class Suggestions:
    """The top unlabeled training images by anomaly score, most anomalous first."""
    column: str                 # "path" (folder data) or "index" (into the dataset's train pool)
    names: tuple[str, ...]
    scores: np.ndarray          # float (k,)
    images: torch.Tensor        # uint8 (k, C, H, W)


def unlabeled_pool(data: PUData) -> tuple[torch.Tensor, list[str], str]:
    """Every unlabeled training image (trained-on part, then validation part), its name and the name's column."""
    images = torch.cat([data.train_images[~data.train_is_positive], data.val_images[~data.val_is_positive]])
    positions = torch.cat([data.split.train_unlabeled, data.split.val_unlabeled]).tolist()
    if data.train_pool_paths:
        return images, [str(data.train_pool_paths[i]) for i in positions], "path"
    return images, [str(i) for i in positions], "index"


def suggest_unlabeled(detector: BaseDetector, data: PUData, n: int) -> Suggestions:
    """The `n` unlabeled training images with the highest scores (fewer when U is smaller)."""
    images, names, column = unlabeled_pool(data)
    scores = np.asarray(scores_of(detector, images), dtype=np.float64)
    top = ranked(scores, highest_first=True)[:n]
    return Suggestions(column, tuple(names[i] for i in top), scores[top], images[torch.from_numpy(top)])
