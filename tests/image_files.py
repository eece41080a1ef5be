"""Fixture image files for the folder, score and evaluate tests, written with Pillow."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from angular_dino.config import Config
from angular_dino.data.prepare import pu_sizes
from angular_dino.data.pu_split import UNSEEN, make_pu_split
from angular_dino.data.sources import load_dataset


def write_image(path: Path, image: np.ndarray | torch.Tensor) -> Path:
    """Write one C×H×W (C = 1 or 3) or H×W uint8 image; the format follows the suffix."""
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 3:
        array = array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def write_images(directory: Path, images: torch.Tensor, names: list[str] | None = None) -> list[Path]:
    names = names or [f"{i:05d}.png" for i in range(len(images))]
    return [write_image(directory / name, image) for name, image in zip(names, images)]


def write_builtin_split_as_folder(config: Config, root: Path) -> Path:
    """The images of a built-in source's PU split as a folder data set: U and P in pool order (file names
    are pool indices), the test part with unseen.txt naming the unseen-class anomalies."""
    pool = load_dataset(config.dataset, config.data_root, False, config.image_size)
    split = make_pu_split(pool.train_labels, pool.test_labels, config.normal_class, config.unseen_anomaly_class,
                          pu_sizes(config), config.seed)
    for part, indices in (("unlabeled", torch.cat([split.train_unlabeled, split.val_unlabeled])),
                          ("positive", torch.cat([split.train_positive, split.val_positive]))):
        for index in indices.tolist():
            write_image(root / part / f"{index:05d}.png", pool.train_images[index])
    unseen = []
    for index, kind in zip(split.test.tolist(), split.test_kind.tolist()):
        name = f"{index:05d}.png"
        write_image(root / "test" / ("normal" if kind == 0 else "anomaly") / name, pool.test_images[index])
        if kind == UNSEEN:
            unseen.append(name)
    (root / "test" / "unseen.txt").write_text("\n".join(unseen) + "\n")
    return root
