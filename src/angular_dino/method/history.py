"""The per-epoch record of an AngularDINO fit: one format for metrics.jsonl and the detector's `history_`."""
from __future__ import annotations

from typing import Any

import torch

from angular_dino.detection.metrics import pu_auroc
from angular_dino.errors import NonFiniteScores
from angular_dino.method.trainer import Trainer


def epoch_record(trainer: Trainer, val_images: torch.Tensor, val_is_positive: torch.Tensor, losses: dict[str, float],
                 seconds: float) -> dict[str, Any]:
    """One metrics.jsonl line: losses, schedules, identified prototypes and the validation AUROC (PU labels only)."""
    identified = trainer.identified
    try:
        val_auroc = pu_auroc(trainer.scores(val_images), val_is_positive)
    except NonFiniteScores:  # n/a in metrics.jsonl; the threshold, after the last epoch, says so as an error
        val_auroc = None
    return {"epoch": trainer.epoch, **losses, "seconds": round(seconds, 2),
            "normal_prototypes": list(identified.normal), "anomaly_prototypes": list(identified.anomaly),
            "val_pu_auroc": val_auroc}
