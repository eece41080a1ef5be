"""AngularDINO as a detector object in the style of PyOD: fit on images and PU labels, score, save, load.

    detector = AngularDINO(epochs=40, arch="resnet_tiny").fit(X, y)   # y: 1 labeled anomaly, 0 unlabeled
    scores = detector.decision_function(X_new); labels = detector.predict(X_new)

The command line uses the same object: `train` builds it from its `Trainer` (`from_trainer`) and
writes model.pt with `save`; `score` and `evaluate` read it back with `load_detector`. A fitted
detector holds only the teacher, the identified prototypes, the normalisation, the arithmetic it was trained
under (it scores under the same) and the threshold.
"""
from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np
import torch

from angular_dino.config import Config, build_config, config_from_dict
from angular_dino.data.defaults import default_augmentation, with_image_defaults
from angular_dino.data.images import as_images, as_pu_labels, resize_images, with_channels
from angular_dino.data.prepare import PUParts, hold_out_validation
from angular_dino.detection.base import BaseDetector
from angular_dino.errors import UserError
from angular_dino.method.history import epoch_record
from angular_dino.method.model.backbones import backbone_errors
from angular_dino.method.model.network import AngularDINONet
from angular_dino.method.prototypes import IdentifiedPrototypes, anomaly_score
from angular_dino.method.teacher import teacher_outputs
from angular_dino.method.trainer import Trainer
from angular_dino.method.views import views_for
from angular_dino.runtime.compute import resolve_device


class AngularDINO(BaseDetector):
    """AngularDINO detector. Keyword arguments are config keys (see the README's table).

    Defaults that depend on the data: `image_size` = the larger side of the training images,
    `augmentation` = `natural` for colour and `clothing` for grayscale images.
    Fitted attributes: `threshold_`, `normal_prototypes_`, `anomaly_prototypes_`, `prototype_vectors_`
    (K×D unit vectors), `history_` (one record per epoch, as metrics.jsonl), `input_shape_` (C, H, W),
    `precision_` (the resolved arithmetic of training, under which it also scores).
    """

    method = "angular_dino"

    def __init__(self, **settings: Any) -> None:
        checked = build_config(settings)  # unknown keys and bad values fail here, not after fit
        self._requested = self.config = checked.require_valid(backbone_errors(checked.config.arch))

    # --- fitting ---------------------------------------------------------------------------------
    def _config_for(self, images: torch.Tensor) -> Config:
        """The requested config with the data-dependent defaults filled from the images (unless set)."""
        return with_image_defaults(self._requested, max(images.shape[-2:]), default_augmentation(images.shape[1]))

    def fit(self, X: Any, y: Any) -> "AngularDINO":
        """Train on images X (N×H×W or N×C×H×W) with PU labels y; the threshold comes from the validation part."""
        images = as_images(X)
        is_positive = as_pu_labels(y, len(images))
        config = self._config_for(images)
        if config.num_threads:
            torch.set_num_threads(config.num_threads)
        data = hold_out_validation(resize_images(images, config.image_size), is_positive, config.val_fraction,
                                   config.seed)
        mean, std = data.normalisation()
        trainer = Trainer(config, data.train_images, data.train_is_positive, views_for(config, mean, std),
                          resolve_device(config.device))

        history: list[dict[str, Any]] = []
        while trainer.epoch < config.epochs:
            start = time.time()
            losses = trainer.train_epoch()
            history.append(epoch_record(trainer, data, losses, time.time() - start, diagnostic=False))
        self._take_model(trainer, mean, std, history)
        self.choose_threshold(data)
        return self

    @classmethod
    def from_trainer(cls, trainer: Trainer, mean: tuple[float, ...], std: tuple[float, ...],
                     history: list[dict[str, Any]]) -> "AngularDINO":
        """The detector of a trained `Trainer` (the command line's path); call `choose_threshold` next."""
        detector = cls(**trainer.config.to_dict())
        detector._take_model(trainer, mean, std, history)
        return detector

    def _take_model(self, trainer: Trainer, mean: tuple[float, ...], std: tuple[float, ...],
                    history: list[dict[str, Any]]) -> None:
        self.config = trainer.config
        self._set_model(copy.deepcopy(trainer.teacher), trainer.identified, mean, std, history, trainer.device,
                        trainer.amp.precision)

    def _set_model(self, net: AngularDINONet, prototypes: IdentifiedPrototypes, mean: tuple[float, ...],
                   std: tuple[float, ...], history: list[dict[str, Any]], device: torch.device, precision: str) -> None:
        # the memory format of training, so that a loaded model computes bit for bit what the trained one did
        memory_format = torch.channels_last if self.config.channels_last else torch.preserve_format
        self._net = net.to(device, memory_format=memory_format).eval().requires_grad_(False)
        self._prototypes = prototypes
        self.normal_prototypes_ = prototypes.normal
        self.anomaly_prototypes_ = prototypes.anomaly
        self.prototype_vectors_ = net.prototypes.unit_weight().detach().float().cpu().numpy()
        self.mean_, self.std_ = tuple(mean), tuple(std)
        self.precision_ = precision
        self.history_ = history
        size = self.config.image_size
        self.input_shape_ = (net.backbone.stem[0].in_channels, size, size)

    def choose_threshold(self, data: PUParts) -> float:
        """Set `threshold_` by `threshold_rule` from the training data only (validation part, U images)."""
        from angular_dino.detection.threshold import choose_threshold  # scikit-learn: not needed for scoring

        unlabeled = torch.cat([data.train_images[~data.train_is_positive], data.val_images[~data.val_is_positive]])
        val_scores = self.decision_function(data.val_images) if len(data.val_images) else np.zeros(0)
        self.threshold_ = choose_threshold(self.config.threshold_rule, val_scores=val_scores,
                                           val_is_positive=data.val_is_positive.numpy(),
                                           unlabeled_scores=self.decision_function(unlabeled),
                                           contamination=self.config.contamination)
        return self.threshold_

    # --- scoring ---------------------------------------------------------------------------------
    def _check_model(self) -> None:
        if not hasattr(self, "_net"):
            raise UserError("this AngularDINO is not fitted yet; call fit(X, y) first")

    def model_input(self, X: Any) -> torch.Tensor:
        """Images as the model takes them: uint8, the model's channels (gray ↔ colour converted) and size."""
        self._check_model()
        channels, size, _ = self.input_shape_
        return resize_images(with_channels(as_images(X), channels), size)

    def _teacher_outputs(self, X: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return teacher_outputs(self._net, self.model_input(X), self.mean_, self.std_, self.precision_)

    def decision_function(self, X: Any) -> np.ndarray:
        """Anomaly scores: mean cosine to the anomaly prototypes − mean cosine to the normal ones."""
        return anomaly_score(self._teacher_outputs(X)[1], self._prototypes).double().numpy()

    def embed(self, X: Any) -> np.ndarray:
        """Teacher embeddings (N×D unit vectors) of clean images, e.g. for a 2-D map."""
        return self._teacher_outputs(X)[0].numpy()

    # --- save / load -------------------------------------------------------------------------------
    def _config_dict(self) -> dict[str, Any]:
        return self.config.to_dict()

    def _fitted_state(self) -> dict[str, Any]:
        return {"teacher": {k: v.cpu() for k, v in self._net.state_dict().items()},
                "in_channels": self.input_shape_[0], "prototypes": self._prototypes.to_dict(),
                "mean": list(self.mean_), "std": list(self.std_), "precision": self.precision_,
                "history": self.history_}

    @classmethod
    def _from_fitted_state(cls, config: dict[str, Any], state: dict[str, Any]) -> "AngularDINO":
        detector = cls()
        detector._requested = detector.config = c = config_from_dict(config)  # as saved: not checked again
        net = AngularDINONet(c.arch, state["in_channels"], c.emb_dim, c.head_hidden_dim, c.out_dim, c.prototype_num)
        net.load_state_dict(state["teacher"])
        prototypes = IdentifiedPrototypes(tuple(state["prototypes"]["normal"]), tuple(state["prototypes"]["anomaly"]))
        device = resolve_device("cpu" if c.device == "cuda" and not torch.cuda.is_available() else c.device)
        precision = state.get("precision", "fp32")  # files written before the precision was stored scored in fp32
        detector._set_model(net, prototypes, state["mean"], state["std"], state["history"], device, precision)
        return detector
