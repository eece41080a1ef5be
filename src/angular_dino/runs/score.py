"""`angular-dino score`: anomaly scores and 0/1 labels of new images, from model.pt alone, as CSV.

Inputs are image files, folders (searched recursively) and `.npy` / `.npz` arrays (one row per item,
written `file.npy[i]` and `file.npz:key[i]`). Images are read and scored in batches, so memory stays
bounded whatever the number of inputs.
"""
from __future__ import annotations

import csv
import io
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from PIL import Image

from angular_dino.data.folder import folder_channels, list_images, read_images
from angular_dino.detection.base import BaseDetector
from angular_dino.errors import UserError
from angular_dino.runs.registry import load_detector
from angular_dino.storage import save_text

ARRAY_SUFFIXES = (".npy", ".npz")
BATCH = 2048  # images read and scored at a time


@dataclass(frozen=True)
class ImageShape:
    channels: int
    size: int


def input_shape(detector: BaseDetector, sample_paths: Sequence[Path]) -> ImageShape:
    """The images the detector takes: its `input_shape_` (C, H, W) when it has one, else the first image's."""
    shape = getattr(detector, "input_shape_", None)
    if shape is not None:
        return ImageShape(shape[0], shape[1])
    try:
        with Image.open(sample_paths[0]) as image:
            return ImageShape(folder_channels(list(sample_paths)), max(image.size))
    except (OSError, ValueError) as exc:
        raise UserError(f"{sample_paths[0]} is not a readable image ({exc})") from None


def read_for_detector(detector: BaseDetector, paths: Sequence[Path],
                      skip_unreadable: bool = False) -> tuple[torch.Tensor, list[Path]]:
    """uint8 images in the detector's channels and size, and the paths that were read."""
    shape = input_shape(detector, paths)
    return read_images(list(paths), shape.size, shape.channels, skip_unreadable)


def _arrays_of(path: Path) -> Iterator[tuple[str, np.ndarray]]:
    """(row-name prefix, array) of a .npy file (memory-mapped), or of each array in a .npz file."""
    try:
        if path.suffix.lower() == ".npy":
            yield str(path), np.load(path, mmap_mode="r", allow_pickle=False)
            return
        with np.load(path, allow_pickle=False) as archive:
            for key in archive.files:
                yield f"{path}:{key}", archive[key]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path} is not a readable {path.suffix} array file ({exc})") from None


def _sources(inputs: Sequence[str]) -> list[Path | list[Path]]:
    """Array files as they are; runs of image files (folders expanded, sorted) as lists, in input order."""
    sources: list[Path | list[Path]] = []
    for text in inputs:
        path = Path(text)
        if not path.exists():
            raise UserError(f"input {path} does not exist")
        if path.is_file() and path.suffix.lower() in ARRAY_SUFFIXES:
            sources.append(path)
            continue
        images = list_images(path, "input") if path.is_dir() else [path]
        if sources and isinstance(sources[-1], list):
            sources[-1].extend(images)
        else:
            sources.append(images)
    return sources


def _labelled(detector: BaseDetector, names: list[str], images: torch.Tensor | np.ndarray) -> list[tuple[str, float, int]]:
    scores = detector.decision_function(images)
    return [(name, float(score), int(score >= detector.threshold_)) for name, score in zip(names, scores)]


def score_rows(detector: BaseDetector, inputs: Sequence[str], skip_unreadable: bool = False) -> list[tuple[str, float, int]]:
    """(path, score, label) for every input image or array item, in input order, scored in batches."""
    rows: list[tuple[str, float, int]] = []
    for source in _sources(inputs):
        if isinstance(source, list):
            for start in range(0, len(source), BATCH):
                images, kept = read_for_detector(detector, source[start:start + BATCH], skip_unreadable)
                if len(kept):
                    rows += _labelled(detector, [str(p) for p in kept], images)
            continue
        for prefix, array in _arrays_of(source):
            if array.ndim < 3:
                raise UserError(f"{prefix}: expected N images (N×H×W or N×C×H×W), got shape {array.shape}")
            for start in range(0, len(array), BATCH):
                names = [f"{prefix}[{i}]" for i in range(start, min(start + BATCH, len(array)))]
                try:
                    rows += _labelled(detector, names, np.array(array[start:start + BATCH]))  # a writable copy
                except UserError as exc:
                    raise UserError(f"{prefix}: {exc}") from None
    return rows


def write_csv(rows: list[tuple[str, float, int]], out: Path | None) -> None:
    """CSV `path,score,label` (scores at full precision), written atomically to `out`, or to stdout when None."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(("path", "score", "label"))
    writer.writerows((name, repr(score), label) for name, score, label in rows)
    if out is None:
        sys.stdout.write(text.getvalue())
        sys.stdout.flush()
    else:
        save_text(text.getvalue(), out)


def score_run(run_dir: str | Path, inputs: Sequence[str], out: str | Path | None,
              skip_unreadable: bool = False) -> int:
    """Score `inputs` with the run's model.pt into the CSV `out` (stdout when None); returns the number of rows."""
    model = Path(run_dir) / "model.pt"
    if not model.is_file():
        raise UserError(f"{model} does not exist; --run must be a finished run directory (train writes model.pt)")
    rows = score_rows(load_detector(model), inputs, skip_unreadable)
    write_csv(rows, None if out is None else Path(out))
    return len(rows)
