"""AngularDINO as a scikit-learn estimator in the style of PyOD: fit on images and PU labels, score, save, load.

    detector = AngularDINO(steps=700).fit(X, y)   # y: 1 labeled anomaly, 0 unlabeled; defaults: the CPU profile
    scores = detector.decision_function(X_new); labels = detector.predict(X_new)

The command line trains this same object (through `runs.training_run`, with a monitor that draws the progress
bar and writes checkpoints) and writes model.pt with `save`. A fitted detector holds only the teacher, the
identified prototypes, the normalisation, the arithmetic it was trained under and the threshold (and, when its score
has the kNN term, the unlabeled training images' embeddings).
"""
from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from angular_dino.config import Config, build_config, config_from_dict
from angular_dino.config.schema import RUN_KEYS
from angular_dino.data.defaults import default_augmentation, default_image_size, downscale_notice, with_image_defaults
from angular_dino.data.images import resize_images, with_channels
from angular_dino.data.prepare import PUParts
from angular_dino.detection.base import BaseDetector
from angular_dino.detection.monitor import FitMonitor
from angular_dino.detection.parameters import INPUT_PARAMETERS, Parameter, config_parameter, method_keys
from angular_dino.detection.threshold import fitted_threshold, threshold_rule_for
from angular_dino.method.epochs import EpochLoop
from angular_dino.method.model.backbones import backbone_errors
from angular_dino.method.model.network import AngularDINONet
from angular_dino.method.neighbours import NeighbourTerm, TooFewNeighbours, uses_neighbours
from angular_dino.method.prototypes import IdentifiedPrototypes, anomaly_score
from angular_dino.method.scorer import Scorer
from angular_dino.method.teacher import teacher_outputs
from angular_dino.method.trainer import Trainer
from angular_dino.method.training_length import with_training_length
from angular_dino.method.views import views_for
from angular_dino.runtime.compute import emulated_bf16_notice, resolve_device
from angular_dino.runtime.distributed import local_device


class AngularDINO(BaseDetector):
    """AngularDINO detector. Its parameters are the config keys it reads (the README's table; `help(AngularDINO)`
    lists them), plus `value_range`, `image_shape` and `verbose`.

    Defaults that depend on the data: `image_size` = the larger side of the training images,
    `augmentation` = `natural` for colour images; for grayscale, `digits` when the unlabeled images are strokes on
    a dark ground (at least 78 % of their pixels at or below 10 % of full scale, as MNIST's), else `clothing`.
    Without labeled anomalies (`fit(X)`, or y all 0) it trains on unlabeled images only: the same losses, no
    anomaly prototypes, the normal prototypes are the `pt_num` that most images vote for, the margins pull
    each image towards them, and the score is minus the mean cosine to them (far from what most of the data
    looks like = anomalous); the threshold is the `contamination` quantile.
    Fitted attributes: `threshold_`, `decision_scores_` and `labels_` (of the images passed to fit),
    `normal_prototypes_`, `anomaly_prototypes_`, `prototype_vectors_` (K×D unit vectors), `history_` (one record
    per epoch, as metrics.jsonl), `input_shape_` (C, H, W), `score_` (what `score` resolved to: `prototypes` or
    `prototypes_knn`), `precision_` (the resolved arithmetic of training,
    under which it also scores), `config_` (the resolved settings it trained with; the keys of a run,
    `RUN_KEYS`, stay at their defaults: an estimator gets its data as X).
    """

    method = "angular_dino"
    data_parallel = True
    model_attribute = "_net"

    @classmethod
    def parameters(cls) -> tuple[Parameter, ...]:
        return (*(config_parameter(key) for key in method_keys(cls.method)), *INPUT_PARAMETERS)

    # --- fitting ---------------------------------------------------------------------------------
    def _checked_settings(self) -> Config:
        """The parameters as a checked config (every bad value named at once)."""
        checked = build_config({p.key: getattr(self, p.name) for p in self.parameters() if p.key})
        return checked.require_valid(backbone_errors(checked.config.arch, checked.config.pretrained_weights))

    def _config_for(self, parts: PUParts) -> Config:
        """The checked config with the data-dependent defaults filled from the images (unless set): their side,
        their channels and, for grayscale, the pixels of the unlabeled ones at the training size (as a folder's)."""
        settings = self._checked_settings()
        native = max(parts.train_images.shape[-2:])
        size = default_image_size(settings, native)
        augmentation = settings.augmentation or default_augmentation(
            parts.train_images.shape[1], lambda: resize_images(parts.unlabeled_images(), size))
        return with_image_defaults(settings, native, augmentation)

    def _fit(self, settings: Config, parts: PUParts, monitor: FitMonitor) -> None:
        if notice := downscale_notice(settings, max(parts.train_images.shape[-2:])):
            monitor.notice(notice)
        config = with_training_length(self._config_for(parts), len(parts.train_images),
                                      monitor.processes.world_size, monitor.notice)
        parts = parts.resized(config.image_size)
        mean, std = parts.normalisation()
        device = local_device(resolve_device(config.device), monitor.processes)
        trainer = Trainer(config, parts.train_images, parts.train_is_positive, views_for(config, mean, std), device,
                          monitor.processes)
        if notice := emulated_bf16_notice(trainer.amp.precision, device):  # the precision the trainer resolved
            monitor.notice(notice)
        history = EpochLoop(trainer, parts, monitor).run()
        self.config_ = config
        self._set_model(copy.deepcopy(trainer.teacher), trainer.identified, mean, std, history, device,
                        trainer.amp.precision)
        if uses_neighbours(config.score, int(parts.train_is_positive.sum())):
            try:
                self._set_neighbours(self._fitted_neighbours(config, parts))
            except TooFewNeighbours as few:
                if config.score != "auto":
                    raise
                monitor.notice(f"score: auto: only {few.available} unlabeled training images score as normal, too "
                               f"few for the {few.k}-nearest-neighbour term; scoring by the prototypes alone")

    def _set_model(self, net: AngularDINONet, prototypes: IdentifiedPrototypes, mean: tuple[float, ...],
                   std: tuple[float, ...], history: list[dict[str, Any]], device: torch.device, precision: str) -> None:
        # the memory format of training, so that a loaded model computes bit for bit what the trained one did
        memory_format = torch.channels_last if self.config_.channels_last else torch.preserve_format
        self._net = net.to(device, memory_format=memory_format).eval().requires_grad_(False)
        self._prototypes = prototypes
        self._set_neighbours(None)
        self.normal_prototypes_ = prototypes.normal
        self.anomaly_prototypes_ = prototypes.anomaly
        self.prototype_vectors_ = net.prototypes.unit_weight().detach().float().cpu().numpy()
        self.mean_, self.std_ = tuple(mean), tuple(std)
        self.precision_ = precision
        self.history_ = history
        size = self.config_.image_size
        self.input_shape_ = (net.in_channels, size, size)

    def _set_neighbours(self, neighbours: NeighbourTerm | None) -> None:
        self._neighbours = neighbours  # the kNN-to-U term (`score: prototypes_knn`, or `auto` with few labels)
        self.score_ = "prototypes" if neighbours is None else "prototypes_knn"  # what `score` resolved to

    def result_fields(self) -> dict[str, Any]:
        return {"prototypes": self._prototypes.to_dict(), "score": self.score_, "epochs": self.config_.epochs,
                "batch_size": self.config_.batch_size, "precision": self.precision_,
                "train_seconds": round(sum(record["seconds"] for record in self.history_), 1)}

    # --- scoring ---------------------------------------------------------------------------------
    def model_input(self, X: Any) -> torch.Tensor:
        """Images as the model takes them: uint8, the model's channels (gray ↔ colour converted) and size."""
        self._check_model()
        return self._model_images(self._images(X))

    def _model_images(self, images: torch.Tensor) -> torch.Tensor:
        channels, size, _ = self.input_shape_
        return resize_images(with_channels(images, channels), size)

    def _teacher_outputs(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return teacher_outputs(self._net, self._model_images(images), self.mean_, self.std_, self.precision_)

    def _score_images(self, images: torch.Tensor) -> np.ndarray:
        """Anomaly scores: mean cosine to the anomaly prototypes − mean cosine to the normal ones (when `score`
        resolved to `prototypes_knn`, plus the kNN-to-U term, both standardised)."""
        embeddings, cosines = self._teacher_outputs(images)
        scores = anomaly_score(cosines, self._prototypes)
        if self._neighbours is not None:
            scores = self._neighbours.score(embeddings, scores)
        return scores.double().numpy()

    def _fitted_neighbours(self, config: Config, parts: PUParts) -> NeighbourTerm:
        """The kNN-to-U term from the unlabeled images of the training part: the bank (those the prototype score,
        with its own threshold by `threshold_rule`, calls normal) and both terms' scales. Called before the term
        is set, so `_score_images` is still the prototype score."""
        has_positives = bool(parts.train_is_positive.any() or parts.val_is_positive.any())
        threshold = fitted_threshold(threshold_rule_for(config.threshold_rule, has_positives), config.contamination,
                                     parts, self._score_images)
        embeddings, cosines = self._teacher_outputs(parts.train_images[~parts.train_is_positive])
        return NeighbourTerm.fit(embeddings, anomaly_score(cosines, self._prototypes), threshold)

    def scorer(self) -> Scorer:
        """The fitted model as one module for export (float32, on the CPU): uint8 images at `input_shape_` in,
        the scores of `decision_function` out."""
        self._check_model()
        return Scorer(self._net, self._prototypes, self.mean_, self.std_, self.input_shape_, self._neighbours).eval()

    def embed(self, X: Any) -> np.ndarray:
        """Teacher embeddings (N×D unit vectors) of clean images, e.g. for a 2-D map."""
        self._check_model()
        return self._teacher_outputs(self._images(X))[0].numpy()

    # --- save / load -------------------------------------------------------------------------------
    def _config_dict(self) -> dict[str, Any]:
        settings = {k: v for k, v in self.config_.to_dict().items() if k not in RUN_KEYS}  # not the estimator's
        return {**settings, **{p.name: getattr(self, p.name) for p in INPUT_PARAMETERS}}

    def _fitted_state(self) -> dict[str, Any]:
        return {"teacher": {k: v.cpu() for k, v in self._net.state_dict().items()},
                "in_channels": self.input_shape_[0], "prototypes": self._prototypes.to_dict(),
                "mean": list(self.mean_), "std": list(self.std_), "precision": self.precision_,
                "history": self.history_,
                **({"neighbours": self._neighbours.to_state()} if self._neighbours is not None else {})}

    @classmethod
    def _from_fitted_state(cls, config: dict[str, Any], state: dict[str, Any]) -> "AngularDINO":
        detector = cls(**cls._parameters_of(config))  # the resolved settings it trained with, as its parameters
        detector.config_ = c = config_from_dict(config)  # as saved: not checked again
        net = AngularDINONet(c.arch, state["in_channels"], c.emb_dim, c.head_hidden_dim, c.out_dim, c.prototype_num)
        net.load_state_dict(state["teacher"])
        prototypes = IdentifiedPrototypes(tuple(state["prototypes"]["normal"]), tuple(state["prototypes"]["anomaly"]))
        device = resolve_device("cpu" if c.device == "cuda" and not torch.cuda.is_available() else c.device)
        precision = state.get("precision", "fp32")  # files written before the precision was stored scored in fp32
        neighbours = NeighbourTerm.from_state(state["neighbours"]) if "neighbours" in state else None
        detector._set_model(net, prototypes, state["mean"], state["std"], state["history"], device, precision)
        detector._set_neighbours(neighbours)
        return detector
