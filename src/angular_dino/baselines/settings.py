"""What every baseline shares: its settings, the Deep PU input format, the validation hold-out, the threshold."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from angular_dino.baselines.losses import LOE_MODES
from angular_dino.data.images import as_images, as_pu_labels
from angular_dino.data.pu_split import holdout_pu
from angular_dino.detection.threshold import choose_threshold
from angular_dino.errors import UserError
from angular_dino.runtime.compute import resolve_device, resolve_precision


@dataclass(frozen=True)
class BaselineSettings:
    """Hyper-parameters of the baselines; the defaults are the published Deep PU setup."""

    epochs: int = 100
    lr: float = 1e-4
    weight_decay: float = 1e-3
    batch_size: int = 128
    image_size: int = 32
    alpha: float = 0.1
    deepsad_eta: float = 1.0
    loe_mode: str = "soft"
    iforest_trees: int = 100
    iforest_max_samples: int = 256
    threshold_rule: str = "val_f1"
    contamination: float = 0.05
    val_fraction: float = 0.1
    seed: int = 0
    device: str = "auto"
    bf16: bool = False

    def __post_init__(self) -> None:
        if self.image_size % 8 or self.image_size < 8:
            raise UserError(f"baseline_image_size must be a multiple of 8 (the encoder halves it three times), "
                            f"got {self.image_size}")
        if self.loe_mode not in LOE_MODES:
            raise UserError(f"loe_mode must be one of {', '.join(LOE_MODES)}, got {self.loe_mode!r}")

    @classmethod
    def from_config(cls, config: Any) -> "BaselineSettings":
        """The baseline keys of a `Config` (prefixed `baseline_` there where the name alone would be ambiguous)."""
        return cls(epochs=config.baseline_epochs, lr=config.baseline_lr, weight_decay=config.baseline_weight_decay,
                   batch_size=config.baseline_batch_size, image_size=config.baseline_image_size,
                   alpha=config.alpha, deepsad_eta=config.deepsad_eta, loe_mode=config.loe_mode,
                   iforest_trees=config.iforest_trees, iforest_max_samples=config.iforest_max_samples,
                   threshold_rule=config.threshold_rule, contamination=config.contamination,
                   val_fraction=config.val_fraction, seed=config.seed, device=config.device,
                   bf16=uses_bf16(config.baseline_precision, config.device))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def uses_bf16(baseline_precision: str, device: str) -> bool:
    """`auto` resolves as AngularDINO's `precision: auto` does (bf16 where the hardware multiplies it natively):
    there the baselines keep the published accuracy (BENCHMARKS.md, baseline fidelity) at 2-3x the speed."""
    return resolve_precision(baseline_precision, resolve_device(device)) == "bf16"


def model_input(X: Any, image_size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """The Deep PU input: size×size (bilinear, as torchvision's Resize), 3 channels, values in [0, 1], no
    normalisation; channels-last, the layout the networks run in."""
    images = as_images(X)
    out = torch.empty((len(images), 3, image_size, image_size), dtype=torch.float32, device=device,
                      memory_format=torch.channels_last)
    for start in range(0, len(images), 4096):
        chunk = images[start:start + 4096].to(device).float().div_(255)
        if chunk.shape[-2:] != (image_size, image_size):
            chunk = F.interpolate(chunk, size=(image_size, image_size), mode="bilinear", antialias=True,
                                  align_corners=False).clamp_(0, 1)
        out[start:start + 4096] = chunk.expand(-1, 3, -1, -1)
    return out


def holdout(is_positive: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Train and validation indices, `fraction` of U and of P held out: the same draw as the command line's
    and AngularDINO.fit's (`holdout_pu`), so every method holds out the same images for a seed."""
    flags = is_positive.numpy()
    train_u, val_u, train_p, val_p = holdout_pu(np.flatnonzero(~flags), np.flatnonzero(flags), fraction, seed)
    return (torch.from_numpy(np.sort(np.concatenate([train_u, train_p]))),
            torch.from_numpy(np.sort(np.concatenate([val_u, val_p]))))


def split_for_fit(X: Any, y: Any, validation: tuple[Any, Any] | None,
                  settings: BaselineSettings) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(train images, train PU labels, validation images, validation PU labels) as uint8 / bool tensors.

    The validation part is `validation` when given (the CLI passes the protocol's), else held out of X.
    """
    images = as_images(X)
    is_positive = as_pu_labels(y, len(images))
    if validation is not None:
        val_images = as_images(validation[0])
        return images, is_positive, val_images, as_pu_labels(validation[1], len(val_images))
    train_index, val_index = holdout(is_positive, settings.val_fraction, settings.seed)
    return images[train_index], is_positive[train_index], images[val_index], is_positive[val_index]


def fitted_threshold(score: Callable[[torch.Tensor], np.ndarray], settings: BaselineSettings,
                     train_images: torch.Tensor, train_is_positive: torch.Tensor,
                     val_images: torch.Tensor, val_is_positive: torch.Tensor) -> float:
    """The threshold of `settings.threshold_rule`, from training data only."""
    if settings.threshold_rule == "val_f1":
        return choose_threshold("val_f1", val_scores=score(val_images), val_is_positive=val_is_positive.numpy(),
                                unlabeled_scores=np.zeros(0), contamination=settings.contamination)
    return choose_threshold(settings.threshold_rule, val_scores=np.zeros(0), val_is_positive=np.zeros(0, bool),
                            unlabeled_scores=score(train_images[~train_is_positive]),
                            contamination=settings.contamination)
