"""From a config to the tensors training needs: U and P training images, validation and test parts."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from angular_dino.config import FOLDER, Config
from angular_dino.data.folder import find_layout, folder_channels, read_images, test_image_kinds
from angular_dino.data.pu_split import PUSizes, PUSplit, holdout_pu, make_pu_split
from angular_dino.data.sources import channel_stats, load_dataset
from angular_dino.method.views import ViewSettings


@dataclass(frozen=True)
class PUData:
    train_images: torch.Tensor  # uint8, U then P
    train_is_positive: torch.Tensor  # bool
    val_images: torch.Tensor
    val_is_positive: torch.Tensor
    test_images: torch.Tensor
    test_kind: torch.Tensor  # NORMAL / SEEN / UNSEEN
    test_labels: torch.Tensor  # original class of every test image
    mean: tuple[float, ...]
    std: tuple[float, ...]
    class_names: tuple[str, ...]
    split: PUSplit

    @property
    def in_channels(self) -> int:
        return self.train_images.shape[1]


def pu_sizes(config: Config) -> PUSizes:
    return PUSizes(config.n_unlabeled_normal, config.n_unlabeled_anomaly, config.n_positive,
                   config.n_test_normal, config.n_test_seen, config.n_test_unseen, config.val_fraction)


def _stack_pu(images: torch.Tensor, unlabeled: torch.Tensor, positive: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    flags = torch.cat([torch.zeros(len(unlabeled), dtype=torch.bool), torch.ones(len(positive), dtype=torch.bool)])
    return images[torch.cat([unlabeled, positive])], flags


def prepare_pu_data(config: Config) -> PUData:
    """Load the dataset, draw the PU split of METHOD §2 and gather its images.

    Normalisation statistics come from the U and P images (training and validation parts) only, so
    that a folder holding the same U and P images normalises exactly alike, and no unseen-class or
    test image shapes the preprocessing.
    """
    if config.dataset == FOLDER:
        return prepare_folder_data(config)
    data = load_dataset(config.dataset, config.data_root, config.download, config.image_size)
    split = make_pu_split(data.train_labels, data.test_labels, config.normal_class, config.unseen_anomaly_class,
                          pu_sizes(config), config.seed)
    train_images, train_is_positive = _stack_pu(data.train_images, split.train_unlabeled, split.train_positive)
    val_images, val_is_positive = _stack_pu(data.train_images, split.val_unlabeled, split.val_positive)
    mean, std = channel_stats(torch.cat([train_images, val_images]))
    return PUData(train_images, train_is_positive, val_images, val_is_positive, data.test_images[split.test],
                  split.test_kind, data.test_labels[split.test], mean, std, data.class_names, split)


def view_settings(config: Config, data: PUData) -> ViewSettings:
    return views_for(config, data.mean, data.std)


def views_for(config: Config, mean: tuple[float, ...], std: tuple[float, ...]) -> ViewSettings:
    """The multi-crop settings of `config` with the given normalisation statistics."""
    return ViewSettings(recipe=config.augmentation, global_size=config.image_size,
                        local_size=config.local_crop_size, n_local=config.local_crops_number,
                        global_scale=config.global_crops_scale, local_scale=config.local_crops_scale,
                        mean=mean, std=std)

def prepare_folder_data(config: Config) -> PUData:
    """U = unlabeled/, P = positive/ (validation held out as for the built-in sources), test = test/."""
    layout = find_layout(config.data_dir)
    channels = folder_channels(layout.all_paths)

    def read(paths: list[Path]) -> tuple[torch.Tensor, list[Path]]:
        return read_images(paths, config.image_size, channels, config.skip_unreadable)

    unlabeled, _ = read(layout.unlabeled)
    positive, _ = read(layout.positive)
    normal, kept_normal = read(layout.test_normal)
    anomaly, kept_anomaly = read(layout.test_anomaly)
    is_positive = torch.cat([torch.zeros(len(unlabeled), dtype=torch.bool), torch.ones(len(positive), dtype=torch.bool)])
    return pu_data_from_arrays(torch.cat([unlabeled, positive]), is_positive, config.val_fraction, config.seed,
                               torch.cat([normal, anomaly]), test_image_kinds(kept_normal, kept_anomaly, layout.unseen))


def pu_data_from_arrays(images: torch.Tensor, is_positive: torch.Tensor, val_fraction: float, seed: int,
                        test_images: torch.Tensor | None = None, test_kind: torch.Tensor | None = None) -> PUData:
    """PU data from images with PU labels (a folder, or the Python API's X and y), without classes.

    The validation part is held out exactly as for the built-in sources (`holdout_pu`), on the image
    order given, so a folder listing a built-in split's images in order reproduces that split.
    """
    flags = is_positive.numpy()
    train_u, val_u, train_p, val_p = holdout_pu(np.flatnonzero(~flags), np.flatnonzero(flags), val_fraction, seed)
    parts = [torch.from_numpy(part) for part in (train_u, train_p, val_u, val_p)]
    train_images, train_is_positive = _stack_pu(images, parts[0], parts[1])
    val_images, val_is_positive = _stack_pu(images, parts[2], parts[3])
    if test_images is None or test_kind is None:
        test_images, test_kind = images[:0], torch.zeros(0, dtype=torch.long)
    split = PUSplit(*parts, test=torch.arange(len(test_kind)), test_kind=test_kind)
    mean, std = channel_stats(torch.cat([train_images, val_images]))  # the same order as the built-in sources
    return PUData(train_images, train_is_positive, val_images, val_is_positive, test_images, test_kind,
                  test_kind.clone(), mean, std, (), split)
