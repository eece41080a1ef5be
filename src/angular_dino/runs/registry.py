"""Every detector class by its method name: build the one a config names, or read any saved one."""
from __future__ import annotations

from pathlib import Path

from angular_dino.baselines import ABC, AE, LOE, NNPU, PUAE, PUSVDD, SOEL, DeepSAD, DeepSVDD, IForest
from angular_dino.config import Config
from angular_dino.detection.base import BaseDetector, read_saved
from angular_dino.errors import UserError
from angular_dino.method.detector import AngularDINO

DETECTORS: dict[str, type[BaseDetector]] = {
    cls.method: cls for cls in (AngularDINO, IForest, AE, DeepSVDD, DeepSAD, ABC, LOE, SOEL, NNPU, PUAE, PUSVDD)}


def build_detector(config: Config) -> BaseDetector:
    """The unfitted detector of `config.method`, with the config's settings (checked here)."""
    return DETECTORS[config.method].from_config(config)


def load_detector(path: str | Path) -> BaseDetector:
    """Any saved detector, whatever its method."""
    content = read_saved(path)
    method = content.get("method")
    if method not in DETECTORS:
        raise UserError(f"{path} holds a model of unknown method {method!r}; known: {', '.join(sorted(DETECTORS))}")
    return DETECTORS[method].from_saved(content)
