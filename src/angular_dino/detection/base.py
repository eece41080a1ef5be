"""The detector interface shared by AngularDINO and the baselines, in the style of PyOD.

`fit(X, y)` takes images and PU labels (1 = labeled anomaly, 0 = unlabeled); `decision_function(X)`
gives anomaly scores (higher = more anomalous); `predict(X)` gives 0/1 at `threshold_`. Fitted
attributes end in `_`. `save` writes one file that `Cls.load` (or `runs.registry.load_detector`, for any
method) reads back with `torch.load(weights_only=True)`, so a shared model file can never run code.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from angular_dino.config import Config
from angular_dino.data.images import as_images, as_pu_labels
from angular_dino.data.prepare import PUParts, hold_out_validation
from angular_dino.detection.monitor import FitMonitor
from angular_dino.errors import UserError
from angular_dino.storage import load_torch, save_torch

DETECTOR_FORMAT = "angular_dino.detector/1"


class BaseDetector(ABC):
    """fit / decision_function / predict / save / load, shared by every method."""

    method: ClassVar[str]  # the config's `method` name
    data_parallel: ClassVar[bool] = False  # whether fit can train in several processes (torchrun)
    threshold_: float
    history_: list[dict[str, Any]]  # one record per training epoch (metrics.jsonl); empty when fit has no epochs

    @classmethod
    @abstractmethod
    def from_config(cls, config: Config) -> "BaseDetector":
        """The unfitted detector of a resolved config (the command line's path)."""

    @abstractmethod
    def fit(self, X: Any, y: Any, *, validation: tuple[Any, Any] | None = None,
            monitor: FitMonitor | None = None) -> "BaseDetector":
        """Train on images X with PU labels y (validation part: `validation`, or held out of X); sets the fitted
        attributes, `threshold_` included. `monitor` follows the fit (default: nothing does)."""

    @abstractmethod
    def decision_function(self, X: Any) -> np.ndarray:
        """Anomaly scores (float64, higher = more anomalous)."""

    @abstractmethod
    def result_fields(self) -> dict[str, Any]:
        """What result.json records of this fit besides the detection figures: epochs, precision, training time, and
        the method's own (AngularDINO's prototypes, a baseline's best epochs)."""

    @abstractmethod
    def _fitted_state(self) -> dict[str, Any]:
        """Tensors and plain values that `_from_fitted_state` restores (no other objects)."""

    @classmethod
    @abstractmethod
    def _from_fitted_state(cls, config: dict[str, Any], state: dict[str, Any]) -> "BaseDetector":
        """A fitted detector from `save`'s content."""

    @abstractmethod
    def _config_dict(self) -> dict[str, Any]:
        """The settings needed to rebuild this detector."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "threshold_"):
            raise UserError(f"this {type(self).__name__} is not fitted yet; call fit(X, y) first")

    def predict(self, X: Any) -> np.ndarray:
        """0 (normal) / 1 (anomaly) at the threshold chosen from training data."""
        self._check_fitted()
        return (self.decision_function(X) >= self.threshold_).astype(np.int64)

    def save(self, path: str | Path) -> None:
        """Write the fitted detector to one file (atomically)."""
        self._check_fitted()
        save_torch({"format": DETECTOR_FORMAT, "method": self.method, "config": self._config_dict(),
                    "threshold": float(self.threshold_), "state": self._fitted_state()}, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> "BaseDetector":
        """Read a file written by `save`; refuses files of another method or that are not detectors."""
        content = read_saved(path)
        if content.get("method") != cls.method:
            raise UserError(f"{path} holds a {content.get('method')} model, not a {cls.method} one; "
                            f"use angular_dino.load_detector to read any method")
        return cls.from_saved(content)

    @classmethod
    def from_saved(cls, content: dict[str, Any]) -> "BaseDetector":
        """The fitted detector of a file's content (as `read_saved` returns it)."""
        detector = cls._from_fitted_state(content["config"], content["state"])
        detector.threshold_ = float(content["threshold"])
        return detector


def read_saved(path: str | Path) -> dict[str, Any]:
    """The content of a file that `save` wrote, or a clear error (never running code from the file)."""
    return load_torch(Path(path), DETECTOR_FORMAT)


def fit_parts(X: Any, y: Any, validation: tuple[Any, Any] | None, val_fraction: float, seed: int) -> PUParts:
    """The images a fit trains on and the validation part, as uint8 images and bool PU labels: `validation`
    (images, PU labels) when given (the command line passes the protocol's; it may be empty), else `val_fraction`
    of U and of P held out of X exactly as the command line holds them out."""
    images = as_images(X)
    is_positive = as_pu_labels(y, len(images))
    if validation is None:
        return hold_out_validation(images, is_positive, val_fraction, seed)
    if len(validation[0]) == 0:  # val_fraction 0
        return PUParts(images, is_positive, images[:0], is_positive[:0])
    val_images = as_images(validation[0])
    return PUParts(images, is_positive, val_images, as_pu_labels(validation[1], len(val_images), both_kinds=False))


def scores_of(detector: BaseDetector, images: torch.Tensor) -> np.ndarray:
    """`detector`'s anomaly scores of `images`, which may be none."""
    return detector.decision_function(images) if len(images) else np.zeros(0)
