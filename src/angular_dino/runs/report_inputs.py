"""From a fitted detector and its data to the inputs of the plots and report.html (`angular_dino.report`).

`train` calls this at the end of every run and `evaluate` after scoring. The report package (and with it
matplotlib) is imported by these two commands only: scoring and the Python API never load it.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from angular_dino.config import FOLDER, Config, keys_unused_by
from angular_dino.data.prepare import PUData
from angular_dino.detection.base import BaseDetector
from angular_dino.detection.metrics import KIND_NAMES, worst_errors
from angular_dino.method.detector import AngularDINO
from angular_dino.report import ReportInputs, ScoredImages, write_report
from angular_dino.runs.unlabeled import suggest_unlabeled

GALLERY_SIZE = 8  # training images shown per prototype
ERRORS_SHOWN = 16  # images in each of the false-positive, false-negative and what-to-label-next galleries
# The settings summary, in this order: those the run's method reads and that apply to its data and threshold.
SUMMARY_KEYS = ("method", "dataset", "data_dir", "normal_class", "unseen_anomaly_class", "n_unlabeled_normal",
                "n_unlabeled_anomaly", "n_positive", "val_fraction", "image_size", "arch", "baseline_image_size",
                "epochs", "steps", "baseline_epochs", "batch_size", "baseline_batch_size", "lr", "baseline_lr",
                "margin", "margin_type", "margin_start_fraction", "pt_num", "threshold_rule", "contamination",
                "precision", "baseline_precision", "seed")
FOLDER_ONLY, CATALOGUE_ONLY = {"data_dir"}, {"normal_class", "unseen_anomaly_class", "n_unlabeled_normal",
                                             "n_unlabeled_anomaly", "n_positive"}


def run_title(config: Config) -> str:
    """e.g. "angular_dino · fashion_mnist · normal 0 · unseen 9 · seed 0"."""
    if config.dataset == FOLDER:
        return f"{config.method} · folder {Path(config.data_dir).name} · seed {config.seed}"
    return (f"{config.method} · {config.dataset} · normal {config.normal_class} · "
            f"unseen {config.unseen_anomaly_class} · seed {config.seed}")


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:.6g}"
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def config_summary(config: Config) -> tuple[tuple[str, str], ...]:
    """(key, value) of the main settings: those of SUMMARY_KEYS that `config.method` reads and that apply."""
    values = config.to_dict()
    left_out = set(keys_unused_by(config.method)) | (CATALOGUE_ONLY if config.dataset == FOLDER else FOLDER_ONLY)
    if config.threshold_rule != "contamination":
        left_out.add("contamination")
    return tuple((key, _shown(values[key])) for key in SUMMARY_KEYS if key in values and key not in left_out)


def _test_notes(kinds: torch.Tensor, labels: torch.Tensor | None, class_names: tuple[str, ...]) -> list[str]:
    """Per test image, its class and kind ("7 · seen") when classes are known, else its kind."""
    kinds_list = kinds.tolist()
    if not class_names or labels is None:
        return [KIND_NAMES[kind] for kind in kinds_list]
    return [f"{class_names[label] if 0 <= label < len(class_names) else label} · {KIND_NAMES[kind]}"
            for label, kind in zip(labels.tolist(), kinds_list)]


def error_galleries(images: torch.Tensor, scores: np.ndarray, kinds: torch.Tensor, labels: torch.Tensor | None,
                    class_names: tuple[str, ...], threshold: float) -> tuple[ScoredImages | None, ScoredImages | None]:
    """The worst false positives and the worst false negatives at the threshold, with their classes; None for
    both without a finite threshold."""
    if not math.isfinite(threshold):
        return None, None
    notes = _test_notes(kinds, labels, class_names)
    return tuple(ScoredImages(images[torch.from_numpy(at)].numpy(), scores[at], tuple(notes[i] for i in at))
                 for at in worst_errors(scores, kinds.numpy(), threshold, ERRORS_SHOWN))


def label_next_gallery(detector: BaseDetector, data: PUData) -> ScoredImages:
    """The most anomalous unlabeled training images, named by file name (folder data) or train-pool index."""
    suggestions = suggest_unlabeled(detector, data, ERRORS_SHOWN)
    names = [Path(name).name if suggestions.column == "path" else f"index {name}" for name in suggestions.names]
    return ScoredImages(suggestions.images.numpy(), suggestions.scores, tuple(names))


def prototype_gallery(detector: AngularDINO, images: torch.Tensor, k: int = GALLERY_SIZE) -> dict[int, np.ndarray]:
    """For each normal and anomaly prototype, the k images (uint8 k×C×H×W) nearest to it by teacher cosine."""
    cosines = detector.embed(images) @ detector.prototype_vectors_.T
    chosen = detector.normal_prototypes_ + detector.anomaly_prototypes_
    return {p: images[np.argsort(-cosines[:, p], kind="stable")[:k]].numpy() for p in chosen}


def build_report_inputs(detector: BaseDetector, *, title: str, config: Config, result: dict[str, Any],
                        history: list[dict[str, Any]], test_images: torch.Tensor, test_scores: np.ndarray,
                        test_kind: torch.Tensor, test_labels: torch.Tensor | None, class_names: tuple[str, ...],
                        gallery_images: torch.Tensor | None = None,
                        label_next: ScoredImages | None = None) -> ReportInputs:
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
    scores = np.asarray(test_scores, dtype=float)
    false_positives, false_negatives = error_galleries(test_images, scores, test_kind, test_labels, class_names,
                                                       float(detector.threshold_))
    return ReportInputs(title=title, result=result, history=history, test_scores=scores,
                        test_kind=test_kind.numpy().astype(int),
                        test_labels=test_labels.numpy().astype(int) if with_classes else None,
                        class_names=tuple(class_names) if with_classes else None,
                        threshold=float(detector.threshold_), settings=config_summary(config),
                        false_positives=false_positives, false_negatives=false_negatives, label_next=label_next,
                        **prototype_fields)


def write_run_report(out_dir: Path, detector: BaseDetector, config: Config, result: dict[str, Any],
                     history: list[dict[str, Any]], data: PUData, test_scores: np.ndarray) -> list[Path]:
    """The report of a run on its own data: test split, and the galleries from its training images."""
    return write_report(out_dir, build_report_inputs(
        detector, title=run_title(config), config=config, result=result, history=history,
        test_images=data.test_images, test_scores=test_scores, test_kind=data.test_kind, test_labels=data.test_labels,
        class_names=data.class_names, gallery_images=data.train_images,
        label_next=label_next_gallery(detector, data)))
