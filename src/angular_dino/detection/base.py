"""The detector interface shared by AngularDINO and the baselines: a scikit-learn estimator in the style of PyOD.

`fit(X, y)` takes images and PU labels (1 = labeled anomaly, 0 = unlabeled; `y = None`: all unlabeled);
`decision_function(X)` gives anomaly scores (higher = more anomalous); `predict(X)` gives 0/1 at `threshold_`;
`predict_proba(X)` PyOD's probabilities. Parameters are generated from the config (`detection.parameters`) and
follow scikit-learn's rules (stored by `__init__`, checked by `fit`), so `get_params`, `set_params`, `clone`
and `Pipeline` work. Fitted attributes end in `_`. `save` writes one file that `Cls.load` (or
`runs.registry.load_detector`, for any method) reads back with `torch.load(weights_only=True)`, so a shared
model file can never run code.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from scipy.special import erf
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from angular_dino.config import Config
from angular_dino.data.images import as_images, as_pu_labels
from angular_dino.data.prepare import PUParts, hold_out_validation
from angular_dino.detection.monitor import FitMonitor, PrintMonitor
from angular_dino.detection.parameters import Parameter, constructor
from angular_dino.detection.threshold import fitted_threshold, threshold_rule_for
from angular_dino.errors import InputError, UserError
from angular_dino.storage import load_torch, save_torch

DETECTOR_FORMAT = "angular_dino.detector/1"
PROBA_METHODS = ("linear", "unify")


class NotFitted(UserError, NotFittedError):
    """A fitted detector's method called before `fit` (also scikit-learn's NotFittedError)."""


class BaseDetector(BaseEstimator, ABC):
    """fit / decision_function / predict / predict_proba / save / load, shared by every method.

    Without labeled anomalies (`fit(X)`, or y all 0) the threshold is the `contamination` quantile of the
    training scores whatever `threshold_rule` says: `val_f1` needs labeled anomalies.
    """

    method: ClassVar[str]  # the config's `method` name
    data_parallel: ClassVar[bool] = False  # whether fit can train in several processes (torchrun)
    needs_positives: ClassVar[bool] = False  # True: fit without labeled anomalies is an error
    model_attribute: ClassVar[str]  # the attribute that holds the trained model (set before the threshold)
    threshold_: float
    decision_scores_: np.ndarray  # anomaly scores of the images passed to fit, in their order
    labels_: np.ndarray  # their 0/1 labels at threshold_
    history_: list[dict[str, Any]]  # one record per training epoch (metrics.jsonl); empty when fit has no epochs

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "method" in cls.__dict__:  # a concrete detector: its own __init__ with its own parameters
            cls.__init__ = constructor(cls, cls.parameters())  # type: ignore[method-assign]

    @classmethod
    @abstractmethod
    def parameters(cls) -> tuple[Parameter, ...]:
        """The constructor parameters: the config keys the method reads (`parameters.method_keys`), then the
        shared `INPUT_PARAMETERS`."""

    @classmethod
    def from_config(cls, config: Config) -> "BaseDetector":
        """The unfitted detector of a resolved config (the command line's path), its settings checked now."""
        detector = cls(**{p.name: getattr(config, p.key) for p in cls.parameters() if p.key})
        detector._checked_settings()
        return detector

    @abstractmethod
    def _checked_settings(self) -> Any:
        """The parameters checked (a `UserError` naming every bad one) as the settings object `_fit` uses; it has
        `val_fraction`, `seed`, `num_threads`, `threshold_rule` and `contamination`."""

    @abstractmethod
    def _fit(self, settings: Any, parts: PUParts, monitor: FitMonitor) -> None:
        """Train on `parts` (uint8 images, PU labels) and set the model and the other fitted attributes."""

    @abstractmethod
    def _score_images(self, images: torch.Tensor) -> np.ndarray:
        """Anomaly scores (float64) of uint8 N×C×H×W images of any size, with the trained model."""

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

    # --- fitting ---------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, *, validation: tuple[Any, Any] | None = None,
            monitor: FitMonitor | None = None) -> "BaseDetector":
        """Train on images X with PU labels y (1 = labeled anomaly, 0 = unlabeled; None = every image unlabeled);
        `validation` = (images, PU labels) is the part that selects and sets the threshold (default: `val_fraction`
        of U and of P held out of X, seeded). `monitor` follows the fit (default: nothing, or printing with
        `verbose`). Sets `threshold_`, `decision_scores_`, `labels_` and the method's own fitted attributes."""
        settings = self._checked_settings()
        images = self._images(X)
        is_positive = as_pu_labels(y, len(images))
        if is_positive.all():
            raise InputError("y needs unlabeled images (0); every image is labeled anomalous (1)")
        if self.needs_positives and not is_positive.any():
            raise InputError(f"{type(self).__name__} ({self.method}) learns labeled anomalies against unlabeled "
                             "images and needs some (y = 1); without them use a method that trains on unlabeled "
                             "images (e.g. AngularDINO, AE, DeepSVDD)")
        if validation is None:
            parts = hold_out_validation(images, is_positive, settings.val_fraction, settings.seed)
        else:
            val_images = self._images(validation[0]) if len(validation[0]) else images[:0]
            parts = PUParts(images, is_positive, val_images, as_pu_labels(validation[1], len(val_images)))
        if settings.num_threads:
            torch.set_num_threads(settings.num_threads)
        self._fit(settings, parts, monitor or (PrintMonitor() if self.verbose else FitMonitor()))
        rule = threshold_rule_for(settings.threshold_rule, bool(is_positive.any()))
        self.threshold_ = fitted_threshold(rule, settings.contamination, parts, self._score_images)
        self.decision_scores_ = self._score_images(images)
        self.labels_ = self._labels(self.decision_scores_)
        return self

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """`fit(X, y)`, then the 0/1 labels of X (`labels_`)."""
        return self.fit(X, y).labels_

    # --- scoring ---------------------------------------------------------------------------------
    def _images(self, X: Any) -> torch.Tensor:
        """X as uint8 N×C×H×W, read with this detector's `value_range` and `image_shape`."""
        return as_images(X, self.value_range, self.image_shape)

    def _check_model(self) -> None:
        if not hasattr(self, self.model_attribute):
            raise NotFitted(f"this {type(self).__name__} is not fitted yet; call fit(X, y) first")

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True  # pixel intensities: negative values are refused (no value_range)
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "threshold_")

    def decision_function(self, X: Any) -> np.ndarray:
        """Anomaly scores (float64, higher = more anomalous)."""
        self._check_model()  # first: it says so when the detector is not fitted, whatever X is
        return self._score_images(self._images(X))

    def _labels(self, scores: np.ndarray) -> np.ndarray:
        return (scores >= self.threshold_).astype(np.int64)

    def _check_fitted(self) -> None:
        if not hasattr(self, "threshold_"):
            raise NotFitted(f"this {type(self).__name__} is not fitted yet; call fit(X, y) first")

    def predict(self, X: Any) -> np.ndarray:
        """0 (normal) / 1 (anomaly) at the threshold chosen from training data."""
        self._check_fitted()
        return self._labels(self.decision_function(X))

    def predict_proba(self, X: Any, method: str = "linear") -> np.ndarray:
        """N×2 probabilities of [normal, anomaly], from the scores relative to the training scores
        (`decision_scores_`), as PyOD defines them: `linear` min-max scales (clipped to [0, 1]); `unify`
        maps the standardised score through the Gauss error function, clipped at 0 (Kriegel et al., 2011)."""
        self._check_fitted()
        if method not in PROBA_METHODS:
            raise InputError(f"predict_proba method must be one of {', '.join(PROBA_METHODS)}, got {method!r}")
        if not hasattr(self, "decision_scores_"):
            raise NotFitted("this model file holds no training scores (it was saved by an older version); "
                            "fit the detector again to use predict_proba")
        train, scores = self.decision_scores_, self.decision_function(X)
        if method == "linear":
            spread = train.max() - train.min()
            anomaly = (scores - train.min()) / (spread if spread > 0 else 1.0)
        else:
            anomaly = erf((scores - train.mean()) / (max(train.std(), 1e-12) * np.sqrt(2)))
        anomaly = anomaly.clip(0, 1)
        return np.stack([1 - anomaly, anomaly], axis=1)

    # --- save / load -------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the fitted detector to one file (atomically)."""
        self._check_fitted()
        save_torch({"format": DETECTOR_FORMAT, "method": self.method, "config": self._config_dict(),
                    "threshold": float(self.threshold_), "decision_scores": torch.from_numpy(self.decision_scores_),
                    "state": self._fitted_state()}, Path(path))

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
        if "decision_scores" in content:  # files of older versions have none
            detector.decision_scores_ = content["decision_scores"].numpy()
            detector.labels_ = detector._labels(detector.decision_scores_)
        return detector

    @classmethod
    def _parameters_of(cls, values: dict[str, Any]) -> dict[str, Any]:
        """The constructor keywords among saved `values` (lists back to tuples)."""
        names = {p.name for p in cls.parameters()}
        return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in names}


def read_saved(path: str | Path) -> dict[str, Any]:
    """The content of a file that `save` wrote, or a clear error (never running code from the file)."""
    return load_torch(Path(path), DETECTOR_FORMAT)


def scores_of(detector: BaseDetector, images: torch.Tensor) -> np.ndarray:
    """`detector`'s anomaly scores of `images`, which may be none."""
    return detector.decision_function(images) if len(images) else np.zeros(0)
