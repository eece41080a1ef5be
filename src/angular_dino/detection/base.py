"""The detector interface shared by AngularDINO and the baselines, in the style of PyOD.

`fit(X, y)` takes images and PU labels (1 = labeled anomaly, 0 = unlabeled); `decision_function(X)`
gives anomaly scores (higher = more anomalous); `predict(X)` gives 0/1 at `threshold_`. Fitted
attributes end in `_`. `save` writes one file that `load_detector` (or `Cls.load`) reads back with
`torch.load(weights_only=True)`, so a shared model file can never run code.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from angular_dino.errors import UserError
from angular_dino.storage import load_torch, save_torch

DETECTOR_FORMAT = "angular_dino.detector/1"
REGISTRY: dict[str, type["BaseDetector"]] = {}  # method name -> detector class


class BaseDetector(ABC):
    """fit / decision_function / predict / save / load, shared by every method."""

    method: ClassVar[str]  # the config's `method` name; subclasses register under it
    threshold_: float

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "method" in cls.__dict__:
            REGISTRY[cls.method] = cls

    @abstractmethod
    def fit(self, X: Any, y: Any) -> "BaseDetector":
        """Train on images X with PU labels y; sets the fitted attributes, `threshold_` included."""

    @abstractmethod
    def decision_function(self, X: Any) -> np.ndarray:
        """Anomaly scores (float64, higher = more anomalous)."""

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
        detector = load_detector(path)
        if not isinstance(detector, cls):
            raise UserError(f"{path} holds a {detector.method} model, not a {cls.method} one; "
                            f"use angular_dino.load_detector to read any method")
        return detector


def _register_known_methods() -> None:
    """Import the modules that define detectors, so that REGISTRY knows every method a file may hold."""
    import angular_dino.baselines  # noqa: F401
    import angular_dino.method.detector  # noqa: F401


def load_detector(path: str | Path) -> BaseDetector:
    """Any saved detector, whatever its method."""
    _register_known_methods()
    content = load_torch(Path(path), DETECTOR_FORMAT)
    method = content.get("method")
    if method not in REGISTRY:
        raise UserError(f"{path} holds a model of unknown method {method!r}; known: {', '.join(sorted(REGISTRY))}")
    detector = REGISTRY[method]._from_fitted_state(content["config"], content["state"])
    detector.threshold_ = float(content["threshold"])
    return detector
