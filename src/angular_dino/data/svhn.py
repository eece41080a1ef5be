"""SVHN (Street View House Numbers, cropped digits) from its official MATLAB files.

Each file holds `X`, 32×32×3×N uint8 (height, width, colour, image), and `y`, N×1 with labels
1..10, where 10 stands for the digit 0. The extra training set (`extra_32x32.mat`) is not used: the
PU protocol needs far fewer images than the 73,257 of the training set.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io
import torch

from angular_dino.data.download import DataFiles
from angular_dino.data.image_data import ImageData
from angular_dino.errors import UserError

TRAIN_FILE, TEST_FILE = "train_32x32.mat", "test_32x32.mat"
SVHN_FILES = DataFiles("SVHN", {TRAIN_FILE: "e26dedcc434d2e4c54c9b2d4a06d8373",
                                TEST_FILE: "eb5a983be6a315427106f1b164d9cef3"},
                       ("http://ufldl.stanford.edu/housenumbers/",), "svhn")


def read_mat(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N×3×32×32 uint8) and digit labels 0..9 of one SVHN file."""
    try:
        mat = scipy.io.loadmat(path, variable_names=("X", "y"))
    except Exception as exc:  # scipy fails in many ways on a damaged file; each means the same to the user
        raise UserError(f"cannot read {path} as a MATLAB file ({exc}). Delete it so that it is fetched "
                        "again.") from None
    images, labels = mat.get("X"), mat.get("y")
    if not (isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim == 4
            and images.shape[:3] == (32, 32, 3) and isinstance(labels, np.ndarray)
            and labels.size == images.shape[3] and np.isin(labels, np.arange(1, 11)).all()):
        raise UserError(f"{path} does not hold the SVHN layout (X: 32×32×3×N uint8, y: N×1 labels 1..10); "
                        f"use the official {path.name}")
    return (torch.from_numpy(np.ascontiguousarray(images.transpose(3, 2, 0, 1))),
            torch.from_numpy(labels.reshape(-1).astype(np.int64) % 10))


def read_svhn(data_root: str | None, download: bool) -> ImageData:
    """The 73,257 training images as the train pool and the 26,032 test images as the test pool."""
    paths = SVHN_FILES.locate(data_root, download)
    train_images, train_labels = read_mat(paths[TRAIN_FILE])
    test_images, test_labels = read_mat(paths[TEST_FILE])
    return ImageData(train_images, train_labels, test_images, test_labels, tuple(str(d) for d in range(10)))
