"""What every run's result.json shares, whatever its method, and the summary printed at the end."""
from __future__ import annotations

import platform
import time
from typing import Any

import numpy as np
import sklearn
import torch

from angular_dino.config import DEVELOPMENT, Config
from angular_dino.data.prepare import PUData
from angular_dino.data.pu_split import kind_counts
from angular_dino.detection.metrics import metrics_table, threshold_table
from angular_dino.version import __version__


def versions() -> dict[str, str]:
    return {"angular_dino": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "scikit-learn": sklearn.__version__}


def run_fields(config: Config, data: PUData, started: float, device: torch.device) -> dict[str, Any]:
    """The result.json fields every method shares: what ran, on which split sizes, how long in all, where."""
    return {"evaluated_on": config.evaluate_on, "seed": config.seed, "dataset": config.dataset, "normal_class": config.normal_class,
            "unseen_anomaly_class": config.unseen_anomaly_class,
            "n_train": {"unlabeled": int((~data.train_is_positive).sum()), "positive": int(data.train_is_positive.sum())},
            "n_test": kind_counts(data.test_kind), "wall_seconds": round(time.time() - started, 1),
            "device": str(device), "versions": versions()}


def summary_table(result: dict[str, Any]) -> str:
    timing = f"train {result['train_seconds']:.0f} s, total {result['wall_seconds']:.0f} s"
    if "prototypes" in result:  # baselines have none
        timing += (f"; normal prototypes {result['prototypes']['normal']}, "
                   f"anomaly prototypes {result['prototypes']['anomaly']}")
    at = result.get("at_threshold")
    headline = [threshold_table(at).splitlines()[0]] if at else []  # precision, recall and F1
    lines = [metrics_table(result), *headline, timing]
    if result.get("evaluated_on") == DEVELOPMENT:  # tuning figures: never to be mistaken for test results
        lines.insert(0, "on the development set (unused train-pool images; the test split was not read):")
    return "\n".join(lines)
