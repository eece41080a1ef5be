"""From a fitted detector and its data to the inputs of the plots and report.html (`angular_dino.report`).

`train` calls this at the end of every run and `evaluate` after scoring. The report package (and with it
matplotlib) is imported by these two commands only: scoring and the Python API never load it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from angular_dino.config import FOLDER, Config
from angular_dino.data.prepare import PUData
from angular_dino.detection.base import BaseDetector
from angular_dino.method.detector import AngularDINO
from angular_dino.report import ReportInputs, write_report

GALLERY_SIZE = 8  # training images shown per prototype


def run_title(config: Config) -> str:
    """e.g. "angular_dino · fashion_mnist · normal 0 · unseen 9 · seed 0"."""
    if config.dataset == FOLDER:
        return f"{config.method} · folder {Path(config.data_dir).name} · seed {config.seed}"
    return (f"{config.method} · {config.dataset} · normal {config.normal_class} · "
            f"unseen {config.unseen_anomaly_class} · seed {config.seed}")


def prototype_gallery(detector: AngularDINO, images: torch.Tensor, k: int = GALLERY_SIZE) -> dict[int, np.ndarray]:
    """For each normal and anomaly prototype, the k images (uint8 k×C×H×W) nearest to it by teacher cosine."""
    cosines = detector.embed(images) @ detector.prototype_vectors_.T
    chosen = detector.normal_prototypes_ + detector.anomaly_prototypes_
    return {p: images[np.argsort(-cosines[:, p], kind="stable")[:k]].numpy() for p in chosen}


def build_report_inputs(detector: BaseDetector, *, title: str, result: dict[str, Any], history: list[dict[str, Any]],
                        test_images: torch.Tensor, test_scores: np.ndarray, test_kind: torch.Tensor,
                        test_labels: torch.Tensor | None, class_names: tuple[str, ...],
                        gallery_images: torch.Tensor | None = None) -> ReportInputs:
    """`ReportInputs`; the embedding map and the gallery only for AngularDINO (baselines have no prototypes)."""
    prototype_fields: dict[str, Any] = {}
    if isinstance(detector, AngularDINO):
        prototype_fields = {
            "test_embeddings": detector.embed(test_images) if len(test_images) else None,
            "prototype_vectors": detector.prototype_vectors_,
            "normal_prototypes": tuple(detector.normal_prototypes_),
            "anomaly_prototypes": tuple(detector.anomaly_prototypes_),
            "gallery": None if gallery_images is None else prototype_gallery(detector, gallery_images)}
    with_classes = bool(class_names) and test_labels is not None
    return ReportInputs(title=title, result=result, history=history, test_scores=np.asarray(test_scores, dtype=float),
                        test_kind=test_kind.numpy().astype(int),
                        test_labels=test_labels.numpy().astype(int) if with_classes else None,
                        class_names=tuple(class_names) if with_classes else None,
                        threshold=float(detector.threshold_), **prototype_fields)


def write_run_report(out_dir: Path, detector: BaseDetector, config: Config, result: dict[str, Any],
                     history: list[dict[str, Any]], data: PUData, test_scores: np.ndarray) -> list[Path]:
    """The report of a run on its own data: test split, and the gallery from its training images."""
    return write_report(out_dir, build_report_inputs(
        detector, title=run_title(config), result=result, history=history, test_images=data.test_images,
        test_scores=test_scores, test_kind=data.test_kind, test_labels=data.test_labels,
        class_names=data.class_names, gallery_images=data.train_images))
