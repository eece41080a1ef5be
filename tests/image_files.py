"""Fixture image files for the folder, score and evaluate tests, written with Pillow."""
from __future__ import annotations

from pathlib import Path

import torch

from angular_dino.data.export import write_image


def write_images(directory: Path, images: torch.Tensor, names: list[str] | None = None) -> list[Path]:
    names = names or [f"{i:05d}.png" for i in range(len(images))]
    return [write_image(directory / name, image) for name, image in zip(names, images)]
