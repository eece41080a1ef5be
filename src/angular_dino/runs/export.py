"""`angular-dino export`: a run's model.pt as a self-contained TorchScript or ONNX scorer file.

The file needs neither this package nor the run: uint8 images in (TorchScript: N×H×W or N×C×H×W; ONNX: N×C×H×W,
any N), float32 anomaly scores out, as `decision_function` gives them (see `method.scorer`). ONNX needs the `onnx`
extra (the exporter's onnx and onnxscript; onnxruntime to run the file).
"""
from __future__ import annotations

import importlib.util
import io
import logging
import warnings
from pathlib import Path

import torch

from angular_dino.errors import UserError
from angular_dino.method.detector import AngularDINO
from angular_dino.method.scorer import Scorer
from angular_dino.runs.registry import load_detector
from angular_dino.runs.run_dir import RunDirectory
from angular_dino.storage import save_bytes

FORMATS = {"torchscript": "scorer.pt", "onnx": "scorer.onnx"}  # format -> default file name in the run directory


def export_run(run_dir: str | Path, format: str, out: str | Path | None = None) -> Path:
    """Write the scorer of the AngularDINO model in `run_dir` as `format` to `out` (default: in the run directory);
    returns the path written."""
    run = RunDirectory(run_dir)
    if not run.model_path.is_file():
        raise UserError(f"{run.model_path} does not exist; export needs a finished run (train it first)")
    detector = load_detector(run.model_path)
    if not isinstance(detector, AngularDINO):
        raise UserError(f"{run.model_path} holds a {detector.method} model; export writes AngularDINO scorers only")
    path = Path(out) if out else run.path / FORMATS[format]
    scorer = detector.scorer()
    example = torch.zeros((2, *detector.input_shape_), dtype=torch.uint8)
    save_bytes((_onnx if format == "onnx" else _torchscript)(scorer, example), path)
    return path


def _torchscript(scorer: Scorer, example: torch.Tensor) -> bytes:
    """The scripted scorer's file content (scripted, not traced: it keeps the choice between N×H×W and N×C×H×W)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.* is deprecated")
        torch.jit.save(torch.jit.script(scorer), buffer)
    return buffer.getvalue()


def _onnx(scorer: Scorer, example: torch.Tensor) -> bytes:
    """The ONNX file content: the graph of `example`'s rank, channels and size, with any batch size."""
    missing = [name for name in ("onnx", "onnxscript") if importlib.util.find_spec(name) is None]
    if missing:
        raise UserError(f"--format onnx needs {' and '.join(missing)}, not installed; "
                        "pip install 'angular-dino[onnx]'")
    batch = torch.export.Dim("batch")
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)  # it warns of every torchvision operator it cannot find
    try:
        program = torch.onnx.export(scorer, (example,), input_names=["images"], output_names=["scores"],
                                    dynamic_shapes=({0: batch},), verbose=False)
    finally:
        exporter_log.setLevel(level)
    return program.model_proto.SerializeToString()
