"""From a config to the tensors training needs: U and P training images, validation and test parts."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from angular_dino.config import Config
from angular_dino.data.pu_split import PUSizes, PUSplit, make_pu_split
from angular_dino.data.sources import channel_stats, load_dataset
from angular_dino.data.views import ViewSettings


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
    """Load the dataset, draw the PU split of METHOD §2 and gather its images."""
    data = load_dataset(config.dataset, config.data_root, config.download, config.image_size)
    split = make_pu_split(data.train_labels, data.test_labels, config.normal_class, config.unseen_anomaly_class,
                          pu_sizes(config), config.seed)
    train_images, train_is_positive = _stack_pu(data.train_images, split.train_unlabeled, split.train_positive)
    val_images, val_is_positive = _stack_pu(data.train_images, split.val_unlabeled, split.val_positive)
    mean, std = channel_stats(data.train_images)
    return PUData(train_images, train_is_positive, val_images, val_is_positive, data.test_images[split.test],
                  split.test_kind, data.test_labels[split.test], mean, std, data.class_names, split)


def view_settings(config: Config, data: PUData) -> ViewSettings:
    return ViewSettings(recipe=config.augmentation, global_size=config.image_size,
                        local_size=config.local_crop_size, n_local=config.local_crops_number,
                        global_scale=config.global_crops_scale, local_scale=config.local_crops_scale,
                        mean=data.mean, std=data.std)
