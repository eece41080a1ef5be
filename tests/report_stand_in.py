"""A stand-in for `angular_dino.report`, used ONLY while that package is missing (it is built on
another branch). It holds the agreed `ReportInputs` contract, so wiring mistakes (a wrong field, a
wrong type) still fail, and it records every `write_report` call instead of drawing."""
from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class ReportInputs:
    title: str
    result: dict
    history: list
    test_scores: np.ndarray
    test_kind: np.ndarray
    test_labels: np.ndarray | None
    class_names: tuple | None
    threshold: float
    test_embeddings: np.ndarray | None = None
    prototype_vectors: np.ndarray | None = None
    normal_prototypes: tuple = ()
    anomaly_prototypes: tuple = ()
    gallery: dict | None = None


CALLS: list[tuple[Path, ReportInputs]] = []


def write_report(out_dir: Path, inputs: ReportInputs) -> list[Path]:
    assert isinstance(inputs, ReportInputs)
    CALLS.append((Path(out_dir), inputs))
    return []


def install() -> types.ModuleType:
    module = types.ModuleType("angular_dino.report")
    module.ReportInputs, module.write_report, module.CALLS = ReportInputs, write_report, CALLS
    sys.modules["angular_dino.report"] = module
    return module
