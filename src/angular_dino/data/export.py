"""Write a built-in source's PU split as a `folder` data set (to check the folder source, or to start
from a benchmark's layout with one's own images).

U and P files are named by their index in the train pool, so they sort in pool order and the folder
source reproduces the split's training images, validation part and normalisation exactly; the test
part names the unseen-class anomalies in `test/unseen.txt`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from angular_dino.config import Config
from angular_dino.data.folder import UNSEEN_LIST
from angular_dino.data.prepare import pu_sizes
from angular_dino.data.pu_split import NORMAL, UNSEEN, make_pu_split
from angular_dino.data.sources import load_dataset


def write_image(path: Path, image: torch.Tensor | np.ndarray) -> Path:
    """Write one uint8 C×H×W (C = 1 or 3) or H×W image; the format follows the file suffix."""
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 3:
        array = array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def write_split_as_folder(config: Config, root: str | Path) -> Path:
    """`root`/unlabeled, positive, test/normal, test/anomaly and test/unseen.txt of `config`'s PU split (PNG)."""
    root = Path(root)
    pool = load_dataset(config.dataset, config.data_root, config.download, config.image_size)
    split = make_pu_split(pool.train_labels, pool.test_labels, config.normal_class, config.unseen_anomaly_class,
                          pu_sizes(config), config.seed)
    for part, indices in (("unlabeled", torch.cat([split.train_unlabeled, split.val_unlabeled])),
                          ("positive", torch.cat([split.train_positive, split.val_positive]))):
        for index in indices.tolist():
            write_image(root / part / f"{index:05d}.png", pool.train_images[index])
    unseen = []
    for index, kind in zip(split.test.tolist(), split.test_kind.tolist()):
        name = f"{index:05d}.png"
        write_image(root / "test" / ("normal" if kind == NORMAL else "anomaly") / name, pool.test_images[index])
        if kind == UNSEEN:
            unseen.append(name)
    (root / "test" / UNSEEN_LIST).write_text("".join(f"{name}\n" for name in unseen))
    return root
