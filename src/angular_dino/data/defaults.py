"""What a null data-dependent setting means, and the checks that need the dataset catalogue.

One rule fills `image_size`, `augmentation` and `local_crop_size` wherever images come from: a catalogued
dataset (its native size and recipe), a folder (its first image's side, grayscale or colour, and for a
grayscale folder the pixels of its unlabeled images) or the Python API's arrays (their side, channels and
pixels).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

import torch

from angular_dino.config import DEVELOPMENT, FOLDER, Config, format_output_dir
from angular_dino.data.folder import folder_image_shape, read_unlabeled_sample
from angular_dino.data.sources import DATASETS

# The stroke-recipe rule (DEVELOPERS.md, fixed on 2026-12-03 before its cells ran, adopted on the dev suite's
# mnist_small group): grayscale images are strokes on a dark ground when at least STROKES_DARK_SHARE of their
# pixels are at or below DARK_LEVEL (10 % of full scale). Set from the train pools' pixels: Fashion-MNIST's
# classes lie at 0.39-0.75, MNIST's at 0.77-0.90, scikit-learn's digits at 16 px at 0.36-0.49.
DARK_LEVEL = 25
STROKES_DARK_SHARE = 0.78
RECIPE_SAMPLE = 1000  # a folder's recipe is read from at most this many unlabeled images (decoding all twice is slow)


def dark_share(images: torch.Tensor) -> float:
    """The share of the pixels of uint8 images that are at or below 10 % of full scale."""
    return float((images <= DARK_LEVEL).float().mean()) if images.numel() else 0.0


def default_augmentation(channels: int, unlabeled: Callable[[], torch.Tensor]) -> str:
    """The recipe of images whose source names none: `natural` for colour; for grayscale, `digits` when the
    unlabeled images (`unlabeled()`, called for grayscale only, uint8) are strokes on a dark ground (the
    stroke-recipe rule), else `clothing`."""
    if channels == 3:
        return "natural"
    return "digits" if dark_share(unlabeled()) >= STROKES_DARK_SHARE else "clothing"


def default_image_size(config: Config, native_size: int) -> int:
    """A null `image_size` means the images' own side, but at most `max_image_size`: a 1024-px photo would
    otherwise train at 1024² on a CPU."""
    if config.image_size:
        return config.image_size
    return min(native_size, config.max_image_size) if config.max_image_size else native_size


def downscale_notice(config: Config, native_size: int) -> str | None:
    """The one-line notice for images that `max_image_size` downscales, or None."""
    size = default_image_size(config, native_size)
    if config.image_size or size >= native_size:
        return None
    return (f"note: images of side {native_size} are downscaled to {size} (max_image_size); set image_size to train "
            "at another size")


def with_image_defaults(config: Config, image_size: int, augmentation: str) -> Config:
    """`config` with a null `image_size` set from the source's side (`default_image_size`), a null `augmentation` to
    the source's, and a null `local_crop_size` to 3/7 of the image side."""
    size = default_image_size(config, image_size)
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
    if config.dataset == FOLDER and config.evaluate_on == DEVELOPMENT:
        errors.append("evaluate_on: a folder has no train pool of labeled classes to draw a development set from; "
                      "use evaluate_on: test with a test/ folder")
    n_classes = math.inf if config.dataset == FOLDER else DATASETS[config.dataset].num_classes  # a folder has none
    for key in ("normal_class", "unseen_anomaly_class"):
        value = getattr(config, key)
        if value is not None and value >= n_classes:
            errors.append(f"{key}: {config.dataset} has classes 0..{n_classes - 1}, got {value}")
    return errors


def with_data_defaults(config: Config) -> tuple[Config, list[str]]:
    """Replace `None` on data-dependent keys by the source's defaults, so config.yaml says what ran; then fill the
    `{key}` placeholders of output_dir. A folder's defaults are read from image headers, and a grayscale folder's
    recipe from (a sample of) its unlabeled images at the training size. Also returns the notices of what the
    defaults changed (a downscale)."""
    if config.dataset == FOLDER:
        side, channels = folder_image_shape(config.data_dir)  # no split sizes: the folder's files fix U and P
        native = max(side, 8)  # 8: image_size's least
        size = default_image_size(config, native)
        augmentation = config.augmentation or default_augmentation(
            channels, lambda: read_unlabeled_sample(config.data_dir, size, RECIPE_SAMPLE, config.skip_unreadable))
    else:
        spec = DATASETS[config.dataset]
        config = dataclasses.replace(config, **{k: v for k, v in spec.default_sizes.items() if getattr(config, k) is None})
        native, augmentation = spec.image_size, spec.augmentation
    notice = downscale_notice(config, native)
    config = with_image_defaults(config, native, augmentation)
    return dataclasses.replace(config, output_dir=format_output_dir(config)), [notice] if notice else []
