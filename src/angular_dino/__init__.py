"""AngularDINO: semi-supervised (positive-unlabeled) image anomaly detection with DINO and dual angular margins."""
from __future__ import annotations

from typing import Any

from angular_dino.version import __version__
__all__ = ["AngularDINO", "load_detector", "__version__"]


def __getattr__(name: str) -> Any:
    """`angular_dino.AngularDINO` and `angular_dino.load_detector`, imported on first use so that
    `import angular_dino` (and the command line's argument parsing) does not load torch."""
    if name == "AngularDINO":
        from angular_dino.method.detector import AngularDINO

        return AngularDINO
    if name == "load_detector":
        from angular_dino.runs.registry import load_detector

        return load_detector
    raise AttributeError(f"module 'angular_dino' has no attribute {name!r}")
