"""The in-memory form every dataset reader returns (its own module so that readers need not import the catalogue)."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ImageData:
    """A labelled train pool and test pool; the PU split picks from them."""

    train_images: torch.Tensor  # uint8, N×C×H×W
    train_labels: torch.Tensor  # int64, N
    test_images: torch.Tensor
    test_labels: torch.Tensor
    class_names: tuple[str, ...]
