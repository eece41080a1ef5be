"""From a config to the tensors training needs: U and P training images, validation and test parts."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from angular_dino.config import DEVELOPMENT, FOLDER, Config
from angular_dino.data.folder import find_layout, folder_channels, read_images, test_image_kinds
from angular_dino.data.images import channel_stats, resize_images
from angular_dino.data.development import development_set
from angular_dino.data.pu_split import PUSizes, PUSplit, holdout_pu, make_pu_split
from angular_dino.data.sources import load_dataset


@dataclass(frozen=True)
class PUParts:
    """Training images with PU labels, as the part trained on and the validation part (each U then P)."""

    train_images: torch.Tensor  # uint8
    train_is_positive: torch.Tensor  # bool
    val_images: torch.Tensor
    val_is_positive: torch.Tensor

    def normalisation(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel mean and std from the U and P images (both parts) only, so that a folder holding the same U
        and P images normalises exactly alike, and no unseen-class or test image shapes the preprocessing."""
        return channel_stats(torch.cat([self.train_images, self.val_images]))

    def unlabeled_images(self) -> torch.Tensor:
        """The unlabeled images of both parts."""
        return torch.cat([self.train_images[~self.train_is_positive], self.val_images[~self.val_is_positive]])

    def resized(self, size: int) -> "PUParts":
        return dataclasses.replace(self, train_images=resize_images(self.train_images, size),
                                   val_images=resize_images(self.val_images, size))


@dataclass(frozen=True)
class PUData(PUParts):
    """The whole PU split of a run: its training parts, and the test part with its kinds and classes."""

    test_images: torch.Tensor
    test_kind: torch.Tensor  # NORMAL / SEEN / UNSEEN
    test_labels: torch.Tensor  # original class of every test image
    class_names: tuple[str, ...]
    split: PUSplit  # the indices into the dataset's pools (a development set is drawn from what they leave)
    train_pool_paths: tuple[Path, ...] = ()  # folder data: the files the training indices of `split` point into


def pu_sizes(config: Config) -> PUSizes:
    return PUSizes(config.n_unlabeled_normal, config.n_unlabeled_anomaly, config.n_positive,
                   config.n_test_normal, config.n_test_seen, config.n_test_unseen, config.val_fraction)


def _stack_pu(images: torch.Tensor, unlabeled: torch.Tensor, positive: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    flags = torch.cat([torch.zeros(len(unlabeled), dtype=torch.bool), torch.ones(len(positive), dtype=torch.bool)])
    return images[torch.cat([unlabeled, positive])], flags


def prepare_pu_data(config: Config) -> PUData:
    """Load the dataset, draw the PU split of METHOD §2 and gather its images. With `evaluate_on: development`
    the test part is the development set instead: the official test split is never read."""
    if config.dataset == FOLDER:
        return prepare_folder_data(config)
    data = load_dataset(config.dataset, config.data_root, config.download, config.image_size)
    split = make_pu_split(data.train_labels, data.test_labels, config.normal_class, config.unseen_anomaly_class,
                          pu_sizes(config), config.seed)
    parts = _parts_at(data.train_images, [split.train_unlabeled, split.train_positive, split.val_unlabeled,
                                          split.val_positive])
    if config.evaluate_on == DEVELOPMENT:
        return _with_test(parts, *development_set(config, split, data), data.class_names, split)
    return _with_test(parts, data.test_images[split.test], split.test_kind, data.test_labels[split.test],
                      data.class_names, split)


def prepare_folder_data(config: Config) -> PUData:
    """U = unlabeled/, P = positive/ (validation held out as for the built-in sources), test = test/."""
    layout = find_layout(config.data_dir)
    channels = folder_channels(layout.all_paths)

    def read(paths: list[Path]) -> tuple[torch.Tensor, list[Path]]:
        return read_images(paths, config.image_size, channels, config.skip_unreadable)

    unlabeled, kept_unlabeled = read(layout.unlabeled)
    positive, kept_positive = read(layout.positive)
    normal, kept_normal = read(layout.test_normal)
    anomaly, kept_anomaly = read(layout.test_anomaly)
    is_positive = torch.cat([torch.zeros(len(unlabeled), dtype=torch.bool), torch.ones(len(positive), dtype=torch.bool)])
    positions = _holdout_positions(is_positive, config.val_fraction, config.seed)
    parts = _parts_at(torch.cat([unlabeled, positive]), positions)
    test_kind = test_image_kinds(kept_normal, kept_anomaly, layout.unseen)
    return _with_test(parts, torch.cat([normal, anomaly]), test_kind, test_kind.clone(), (),
                      PUSplit(*positions, test=torch.arange(len(test_kind)), test_kind=test_kind),
                      tuple(kept_unlabeled + kept_positive))


def hold_out_validation(images: torch.Tensor, is_positive: torch.Tensor, fraction: float, seed: int) -> PUParts:
    """PU parts of images with PU labels (a folder, or the Python API's X and y), without classes.

    The validation part is held out exactly as for the built-in sources (`holdout_pu`), on the image
    order given, so a folder listing a built-in split's images in order reproduces that split.
    """
    return _parts_at(images, _holdout_positions(is_positive, fraction, seed))


def _holdout_positions(is_positive: torch.Tensor, fraction: float, seed: int) -> list[torch.Tensor]:
    """Positions of (train U, train P, validation U, validation P) among the images."""
    flags = is_positive.numpy()
    train_u, val_u, train_p, val_p = holdout_pu(np.flatnonzero(~flags), np.flatnonzero(flags), fraction, seed)
    return [torch.from_numpy(part) for part in (train_u, train_p, val_u, val_p)]


def _parts_at(images: torch.Tensor, positions: list[torch.Tensor]) -> PUParts:
    train_images, train_is_positive = _stack_pu(images, positions[0], positions[1])
    val_images, val_is_positive = _stack_pu(images, positions[2], positions[3])
    return PUParts(train_images, train_is_positive, val_images, val_is_positive)


def _with_test(parts: PUParts, test_images: torch.Tensor, test_kind: torch.Tensor, test_labels: torch.Tensor,
               class_names: tuple[str, ...], split: PUSplit, train_pool_paths: tuple[Path, ...] = ()) -> PUData:
    return PUData(parts.train_images, parts.train_is_positive, parts.val_images, parts.val_is_positive, test_images,
                  test_kind, test_labels, class_names, split, train_pool_paths)
