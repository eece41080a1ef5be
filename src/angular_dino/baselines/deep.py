"""The deep baselines of METHOD §10, one small class each on a shared `DeepBaseline`.

Three families share the engine (`engine.train_best_epoch`):
- `ae`: an autoencoder, s = mean squared reconstruction error (AE, ABC, PUAE);
- `svdd`: first pre-trained as an autoencoder (bias-free, non-affine batch norm) for as many epochs as
  the main training, then the encoder alone, s = distance of the code to the centre c = mean code of
  the unlabeled training images, entries with |c_j| < 0.1 pushed to ±0.1 (DeepSVDD, DeepSAD, LOE,
  SOEL, PUSVDD);
- `classifier`: the encoder plus a linear output, s = logit (nnPU).
Base choices where the Deep PU paper is not explicit, to the best of our knowledge of it: ABC is
autoencoder-based by definition (Yamanaka et al.); DeepSAD is SVDD-based by definition; LOE and SOEL
use the SVDD base with Deep SAD's inverse distance as the anomaly loss. AE, DeepSVDD and LOE are
unsupervised: they train on the unlabeled images only (the labeled anomalies still serve the
threshold). Anomaly score: 1 − e^{−s} (ae, svdd), σ(s) (classifier).
"""
from __future__ import annotations

import time
from typing import Any, Callable, ClassVar

import numpy as np
import torch
from torch import nn

from angular_dino.baselines import losses
from angular_dino.baselines.engine import LabeledImages, Optimisation, outputs, train_best_epoch
from angular_dino.baselines.inputs import model_input
from angular_dino.baselines.networks import CODE_DIM, CentreDistance, Classifier, ConvEncoder, ReconstructionError
from angular_dino.baselines.settings import BF16, BaselineDetector, BaselineSettings, uses_bf16
from angular_dino.config import Config
from angular_dino.data.prepare import PUParts
from angular_dino.detection.monitor import FitMonitor, Progress
from angular_dino.runtime.compute import emulated_bf16_notice, resolve_device

CENTRE_EPS = 0.1  # centre entries smaller in magnitude are pushed to ±0.1 (Ruff et al.'s trivial-solution guard)


def svdd_centre(encoder: nn.Module, images: torch.Tensor, bf16: bool) -> torch.Tensor:
    """Mean code of `images`, each entry at least CENTRE_EPS in magnitude (0 goes to +CENTRE_EPS)."""
    centre = outputs(encoder, images, bf16).mean(0)
    pushed = torch.where(centre < 0, -CENTRE_EPS, CENTRE_EPS).to(centre)
    return torch.where(centre.abs() < CENTRE_EPS, pushed, centre)


def _placed(network: nn.Module, device: torch.device) -> nn.Module:
    """On `device`, channels-last: the layout of training, so that a loaded model gives identical scores."""
    return network.to(device, memory_format=torch.channels_last)


class DeepBaseline(BaselineDetector):
    """fit / decision_function / save for the conv baselines; subclasses name the family and the loss."""

    family: ClassVar[str]  # "ae", "svdd" or "classifier"
    uses_positives: ClassVar[bool] = True  # False: trains on the unlabeled images only
    objective: ClassVar[Callable[..., torch.Tensor]]  # a loss of `baselines.losses`: (s, is_positive, *options)
    options: ClassVar[tuple[str, ...]] = ()  # settings passed to `objective` after (s, is_positive)
    extra_parameters = (BF16,)
    model_attribute = "network_"

    @classmethod
    def from_config(cls, config: Config) -> "DeepBaseline":
        detector = super().from_config(config)
        detector.bf16 = uses_bf16(config.baseline_precision, config.device)
        return detector

    def loss(self, s: torch.Tensor, is_positive: torch.Tensor) -> torch.Tensor:
        """This method's `objective` with its `options` taken from the settings."""
        return self.objective(s, is_positive, *(getattr(self.settings_, name) for name in self.options))

    def _network(self) -> nn.Module:
        """The untrained network whose output is `s` (the SVDD centre is set after pre-training)."""
        size = self.settings_.image_size
        if self.family == "ae":
            return ReconstructionError(size)
        if self.family == "classifier":
            return Classifier(size)
        return CentreDistance(ConvEncoder(size, svdd=True), torch.zeros(CODE_DIM))

    def _fit(self, settings: BaselineSettings, parts: PUParts, monitor: FitMonitor) -> None:
        """Train on the training part; the validation part picks the best epoch; `monitor` hears of every epoch."""
        started = time.time()
        self.settings_ = settings
        device = resolve_device(settings.device)
        if notice := emulated_bf16_notice("bf16" if settings.bf16 else "fp32", device, key="baseline_precision"):
            monitor.notice(notice)
        train = self._training_part(parts.train_images, parts.train_is_positive, device)
        val = self._training_part(parts.val_images, parts.val_is_positive, device)
        optimisation = Optimisation(settings.epochs, settings.lr, settings.weight_decay, settings.batch_size,
                                    settings.bf16)
        generator = torch.Generator().manual_seed(settings.seed)
        with torch.random.fork_rng(devices=[]):  # seeded initialisation without touching the caller's RNG
            torch.manual_seed(settings.seed)
            autoencoder = _placed(ReconstructionError(settings.image_size, svdd=True), device)
            network = _placed(self._network(), device)
        self.history_: list[dict[str, Any]] = []
        epochs = settings.epochs * (2 if self.family == "svdd" else 1)  # the SVDD family pre-trains as long first

        def epoch_done(record: dict[str, Any]) -> None:
            self.history_.append(record)
            monitor.after_epoch(Progress(len(self.history_), 0, epochs, 1), self.history_, None)

        monitor.begin(Progress(0, 0, epochs, 1), "epoch")
        if self.family == "svdd":
            train_best_epoch(autoencoder, losses.reconstruction_loss, train, val, optimisation, generator, "pretrain",
                             epoch_done)
            network.encoder.load_state_dict(autoencoder.encoder.state_dict())
            network.centre.copy_(svdd_centre(network.encoder, train.images[~train.is_positive], settings.bf16))
        train_best_epoch(network, self.loss, train, val, optimisation, generator, "train", epoch_done)
        self.network_ = network
        self._train_seconds = time.time() - started

    def result_fields(self) -> dict[str, Any]:
        return {"best_epoch": {record["stage"]: record["best_epoch"] for record in self.history_},
                "epochs": self.settings_.epochs, "precision": "bf16" if self.settings_.bf16 else "fp32",
                "train_seconds": round(self._train_seconds, 1)}

    def _training_part(self, images: torch.Tensor, is_positive: torch.Tensor, device: torch.device) -> LabeledImages:
        """Network-ready images on the device; unsupervised methods keep the unlabeled ones only."""
        keep = torch.ones_like(is_positive) if self.uses_positives else ~is_positive
        return LabeledImages(model_input(images[keep], self.settings_.image_size, device), is_positive[keep].to(device))

    def _score_images(self, images: torch.Tensor) -> np.ndarray:
        """Anomaly scores: 1 − e^{−s} (autoencoder and SVDD families) or σ(logit) (classifier)."""
        device = next(self.network_.parameters()).device
        s = outputs(self.network_, model_input(images, self.settings_.image_size, device), self.settings_.bf16)
        s = s.double().cpu()
        return (torch.sigmoid(s) if self.family == "classifier" else -torch.expm1(-s)).numpy()

    def _fitted_state(self) -> dict[str, Any]:
        return {"network": {k: v.detach().cpu() for k, v in self.network_.state_dict().items()}}

    @classmethod
    def _from_fitted_state(cls, config: dict[str, Any], state: dict[str, Any]) -> "DeepBaseline":
        detector = cls(**cls._parameters_of(config))
        detector.settings_ = detector._checked_settings()
        detector.history_ = []  # the training history stays in the run's metrics.jsonl
        network = detector._network()
        network.load_state_dict(state["network"])
        detector.network_ = _placed(network, torch.device("cpu")).eval()
        return detector


class AE(DeepBaseline):
    method, family, uses_positives, objective = "ae", "ae", False, staticmethod(losses.reconstruction_loss)


class DeepSVDD(DeepBaseline):
    method, family, uses_positives, objective = "deepsvdd", "svdd", False, staticmethod(losses.deepsvdd_loss)


class DeepSAD(DeepBaseline):
    method, family, objective, options = "deepsad", "svdd", staticmethod(losses.deepsad_loss), ("deepsad_eta",)


class ABC(DeepBaseline):
    method, family, objective = "abc", "ae", staticmethod(losses.abc_loss)


class LOE(DeepBaseline):
    method, family, uses_positives = "loe", "svdd", False
    objective, options = staticmethod(losses.loe_loss), ("alpha", "loe_mode")


class SOEL(DeepBaseline):
    method, family, objective, options = "soel", "svdd", staticmethod(losses.soel_loss), ("alpha", "loe_mode")


class NNPU(DeepBaseline):
    needs_positives = True  # a classifier of P against U
    method, family, objective, options = "pu", "classifier", staticmethod(losses.nnpu_loss), ("alpha",)


class PUAE(DeepBaseline):
    method, family, objective, options = "puae", "ae", staticmethod(losses.puae_loss), ("alpha",)


class PUSVDD(DeepBaseline):
    method, family, objective, options = "pusvdd", "svdd", staticmethod(losses.pusvdd_loss), ("alpha",)
