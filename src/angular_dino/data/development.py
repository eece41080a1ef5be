"""A development set for tuning without touching the test split (`evaluate_on: development`, benchmarks/dev_eval.py).

It is drawn from train-pool images that the PU split did not use (normal images not in U or validation,
anomalies not in U or P), with the test protocol's sizes, so choices are made without ever reading the
official test labels.
"""
from __future__ import annotations

import numpy as np
import torch

from angular_dino.config import Config
from angular_dino.data.image_data import ImageData
from angular_dino.data.pu_split import NORMAL, SEEN, UNSEEN, PUSplit

DEVELOPMENT_STREAM = 12345  # offset of the development set's random stream from the run's seed


def development_set(config: Config, split: PUSplit, pool: ImageData) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(images, test kinds, classes) of the development set of `config`'s `split`, drawn from `pool`'s train images."""
    labels = pool.train_labels
    used = torch.cat([split.train_unlabeled, split.train_positive, split.val_unlabeled, split.val_positive])
    free = torch.ones(len(labels), dtype=torch.bool)
    free[used] = False
    rng = np.random.default_rng(config.seed + DEVELOPMENT_STREAM)
    normal = labels == config.normal_class
    unseen = labels == config.unseen_anomaly_class
    parts = [(normal, config.n_test_normal, NORMAL), (~normal & ~unseen, config.n_test_seen, SEEN),
             (unseen, config.n_test_unseen, UNSEEN)]
    index, kinds = [], []
    for mask, count, kind in parts:
        pick = rng.permutation(torch.nonzero(mask & free).flatten().numpy())[:count]
        index.append(torch.from_numpy(pick))
        kinds.append(torch.full((len(pick),), kind))
    index = torch.cat(index)
    return pool.train_images[index], torch.cat(kinds), labels[index]
