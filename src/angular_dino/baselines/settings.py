"""The baselines' settings, as the config names and defaults them, the arithmetic they resolve to, and the base
class of every baseline detector, which holds them."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from angular_dino.config.checks import check_range, check_type
from angular_dino.config.schema import FIELDS, HINTS
from angular_dino.detection.base import BaseDetector
from angular_dino.detection.parameters import INPUT_PARAMETERS, Parameter, config_parameter
from angular_dino.errors import UserError
from angular_dino.runtime.compute import resolve_device, resolve_precision

# BaselineSettings field -> its config key (prefixed `baseline_` there where the name alone would be ambiguous)
CONFIG_KEYS = {"epochs": "baseline_epochs", "lr": "baseline_lr", "weight_decay": "baseline_weight_decay",
               "batch_size": "baseline_batch_size", "image_size": "baseline_image_size", "alpha": "alpha",
               "deepsad_eta": "deepsad_eta", "loe_mode": "loe_mode", "iforest_trees": "iforest_trees",
               "iforest_max_samples": "iforest_max_samples", "threshold_rule": "threshold_rule",
               "contamination": "contamination", "val_fraction": "val_fraction", "seed": "seed", "device": "device",
               "num_threads": "num_threads"}
BF16 = Parameter("bf16", bool, False, "bfloat16 autocast for the network (the command line resolves "
                                      "`baseline_precision` to this); scores and losses stay float32.")


def _default(name: str) -> Any:
    """The config's default of a setting: the published Deep PU setup, kept in one place (config/schema.py)."""
    return FIELDS[CONFIG_KEYS[name]].default


@dataclass(frozen=True)
class BaselineSettings:
    """Hyper-parameters of the baselines, checked; defaults as the config's. A baseline's parameters are those of
    its fields that its method reads (`BaselineDetector.parameters`)."""

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
    num_threads: int | None = _default("num_threads")
    bf16: bool = False  # the Python API's default; the command line resolves `baseline_precision`

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def checked_settings(values: dict[str, Any]) -> BaselineSettings:
    """`BaselineSettings` of a baseline's parameters, each checked as its config key is (type, range, choices), and
    the image size a multiple of 8; one `UserError` names every bad value."""
    errors = []
    for name, value in values.items():
        if name not in CONFIG_KEYS:
            continue
        key = CONFIG_KEYS[name]
        try:
            check_range(key, check_type(name, value, HINTS[key]))
        except ValueError as exc:
            errors.append(str(exc) if key == name else str(exc).replace(key, f"{name} (config key {key})", 1))
    if not isinstance(values.get("bf16", False), bool):
        errors.append(f"bf16: expected True or False, got {values['bf16']!r}")
    if not errors and values.get("image_size", 8) % 8:
        errors.append(f"image_size (config key baseline_image_size): must be a multiple of 8 (the encoder halves it three times), "
                      f"got {values['image_size']}")
    if errors:
        raise UserError("invalid baseline settings:\n  " + "\n  ".join(errors))
    return BaselineSettings(**values)


def uses_bf16(baseline_precision: str, device: str) -> bool:
    """`auto` resolves as AngularDINO's `precision: auto` does (bf16 where the hardware multiplies it natively):
    there the baselines keep the published accuracy (BENCHMARKS.md, baseline fidelity) at 2-3x the speed."""
    return resolve_precision(baseline_precision, resolve_device(device)) == "bf16"


class BaselineDetector(BaseDetector):
    """A baseline: built from keyword arguments (the Python API) or from a config (the command line), saved with
    its settings."""

    @classmethod
    def parameters(cls) -> tuple[Parameter, ...]:
        own = (config_parameter(key, name) for name, key in CONFIG_KEYS.items()
               if cls.method in FIELDS[key].metadata["methods"])
        return (*own, *cls.extra_parameters, *INPUT_PARAMETERS)

    extra_parameters: tuple[Parameter, ...] = ()  # parameters of no config key (the deep baselines' `bf16`)

    def _checked_settings(self) -> BaselineSettings:
        return checked_settings({p.name: getattr(self, p.name) for p in self.parameters()
                                 if p.name in BaselineSettings.__dataclass_fields__})

    def _config_dict(self) -> dict[str, Any]:
        return {**self.settings_.to_dict(), **{p.name: getattr(self, p.name) for p in INPUT_PARAMETERS}}
