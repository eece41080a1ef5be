"""The per-epoch record of an AngularDINO run: one format for metrics.jsonl and the API's `history_`."""
from __future__ import annotations

from typing import Any

from angular_dino.data.prepare import PUData, PUParts
from angular_dino.detection.metrics import detection_metrics, pu_auroc
from angular_dino.method.trainer import Trainer


def epoch_record(trainer: Trainer, data: PUParts | PUData, losses: dict[str, float], seconds: float,
                  diagnostic: bool) -> dict[str, Any]:
    """One metrics.jsonl line: losses, schedules, prototypes and validation figures (PU labels only)."""
    prototypes = trainer.identified
    record: dict[str, Any] = {"epoch": trainer.epoch, **losses, "seconds": round(seconds, 2),
                              "normal_prototypes": list(prototypes.normal),
                              "anomaly_prototypes": list(prototypes.anomaly),
                              "val_pu_auroc": pu_auroc(trainer.scores(data.val_images), data.val_is_positive)}
    if diagnostic:  # never used for any choice; labelled so in the file
        test = detection_metrics(trainer.scores(data.test_images), data.test_kind)
        record["diagnostic_test_auroc"] = test["auroc"]
    return record
