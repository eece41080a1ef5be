"""What a null data-dependent setting means, and the checks that need the dataset catalogue.

One rule fills `image_size`, `augmentation` and `local_crop_size` wherever images come from: a catalogued
dataset (its native size and recipe), a folder (its first image's side, grayscale or colour) or the Python
API's arrays (their side and channels).
"""
from __future__ import annotations

import dataclasses
import math

from angular_dino.config import FOLDER, Config, format_output_dir
from angular_dino.data.folder import folder_image_shape
from angular_dino.data.sources import DATASETS


def default_augmentation(channels: int) -> str:
    """The recipe of images whose source names none: `natural` for colour images, `clothing` for grayscale."""
    return "natural" if channels == 3 else "clothing"


def with_image_defaults(config: Config, image_size: int, augmentation: str) -> Config:
    """`config` with a null `image_size` or `augmentation` set to the source's, and a null `local_crop_size` to 3/7
    of the image side."""
    size = config.image_size or image_size
    return dataclasses.replace(config, image_size=size, augmentation=config.augmentation or augmentation,
                               local_crop_size=config.local_crop_size or max(4, round(size * 3 / 7)))


def data_errors(config: Config) -> list[str]:
    """Problems of the data settings that the catalogue tells: an unknown source, a class it does not have."""
    if config.dataset == FOLDER and config.data_dir is None:
        errors = ["data_dir: dataset folder needs data_dir, the folder holding unlabeled/ and positive/"]
    elif config.dataset not in DATASETS and config.dataset != FOLDER:
        return [f"dataset: unknown source {config.dataset!r}; choose one of {', '.join([*DATASETS, FOLDER])}"]
    else:
        errors = []
    n_classes = math.inf if config.dataset == FOLDER else DATASETS[config.dataset].num_classes  # a folder has none
    for key in ("normal_class", "unseen_anomaly_class"):
        value = getattr(config, key)
        if value is not None and value >= n_classes:
            errors.append(f"{key}: {config.dataset} has classes 0..{n_classes - 1}, got {value}")
    return errors


def with_data_defaults(config: Config) -> Config:
    """Replace `None` on data-dependent keys by the source's defaults, so config.yaml says what ran; then fill the
    `{key}` placeholders of output_dir. A folder's defaults are read from image headers only."""
    if config.dataset == FOLDER:
        side, channels = folder_image_shape(config.data_dir)  # no split sizes: the folder's files fix U and P
        config = with_image_defaults(config, max(side, 8), default_augmentation(channels))  # 8: image_size's least
    else:
        spec = DATASETS[config.dataset]
        sizes = {k: v for k, v in spec.default_sizes.items() if getattr(config, k) is None}
        config = with_image_defaults(dataclasses.replace(config, **sizes), spec.image_size, spec.augmentation)
    return dataclasses.replace(config, output_dir=format_output_dir(config))
