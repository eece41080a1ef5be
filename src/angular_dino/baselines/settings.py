"""The baselines' settings, as the config names and defaults them, the arithmetic they resolve to, and the base
class of every baseline detector, which holds them."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from angular_dino.baselines.losses import LOE_MODES
from angular_dino.config import FIELDS, Config
from angular_dino.detection.base import BaseDetector
from angular_dino.errors import UserError
from angular_dino.runtime.compute import resolve_device, resolve_precision

# BaselineSettings field -> its config key (prefixed `baseline_` there where the name alone would be ambiguous)
CONFIG_KEYS = {"epochs": "baseline_epochs", "lr": "baseline_lr", "weight_decay": "baseline_weight_decay",
               "batch_size": "baseline_batch_size", "image_size": "baseline_image_size", "alpha": "alpha",
               "deepsad_eta": "deepsad_eta", "loe_mode": "loe_mode", "iforest_trees": "iforest_trees",
               "iforest_max_samples": "iforest_max_samples", "threshold_rule": "threshold_rule",
               "contamination": "contamination", "val_fraction": "val_fraction", "seed": "seed", "device": "device"}


def _default(name: str) -> Any:
    """The config's default of a setting: the published Deep PU setup, kept in one place (config/schema.py)."""
    return FIELDS[CONFIG_KEYS[name]].default


@dataclass(frozen=True)
class BaselineSettings:
    """Hyper-parameters of the baselines (the Python API's keyword arguments); defaults as the config's."""

    epochs: int = _default("epochs")
    lr: float = _default("lr")
    weight_decay: float = _default("weight_decay")
    batch_size: int = _default("batch_size")
    image_size: int = _default("image_size")
    alpha: float = _default("alpha")
    deepsad_eta: float = _default("deepsad_eta")
    loe_mode: str = _default("loe_mode")
    iforest_trees: int = _default("iforest_trees")
    iforest_max_samples: int = _default("iforest_max_samples")
    threshold_rule: str = _default("threshold_rule")
    contamination: float = _default("contamination")
    val_fraction: float = _default("val_fraction")
    seed: int = _default("seed")
    device: str = _default("device")
    bf16: bool = False  # the Python API's default; the command line resolves `baseline_precision`

    def __post_init__(self) -> None:
        if self.image_size % 8 or self.image_size < 8:
            raise UserError(f"baseline_image_size must be a multiple of 8 (the encoder halves it three times), "
                            f"got {self.image_size}")
        if self.loe_mode not in LOE_MODES:
            raise UserError(f"loe_mode must be one of {', '.join(LOE_MODES)}, got {self.loe_mode!r}")

    @classmethod
    def from_config(cls, config: Config) -> "BaselineSettings":
        """The baseline settings of a resolved config."""
        return cls(**{name: getattr(config, key) for name, key in CONFIG_KEYS.items()},
                   bf16=uses_bf16(config.baseline_precision, config.device))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def uses_bf16(baseline_precision: str, device: str) -> bool:
    """`auto` resolves as AngularDINO's `precision: auto` does (bf16 where the hardware multiplies it natively):
    there the baselines keep the published accuracy (BENCHMARKS.md, baseline fidelity) at 2-3x the speed."""
    return resolve_precision(baseline_precision, resolve_device(device)) == "bf16"


class BaselineDetector(BaseDetector):
    """A baseline: built from keyword arguments (the Python API) or from a config (the command line), saved with
    its settings."""

    def __init__(self, **settings: Any) -> None:
        self.settings = BaselineSettings(**settings)

    @classmethod
    def from_config(cls, config: Config) -> "BaselineDetector":
        return cls(**BaselineSettings.from_config(config).to_dict())

    def _config_dict(self) -> dict[str, Any]:
        return self.settings.to_dict()
