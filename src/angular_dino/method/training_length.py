"""How long a fit trains, decided once the training images are known: the batch and the number of epochs.

A run is sized in optimiser steps (`steps`) so that 700 images train as long as 5,000: counted in epochs, a
small dataset would get a few hundred updates, far too few (the robust-detection issue measured AUROC 0.78
on 700 images with 200 updates, and 0.99 with 1,000). An explicit `epochs` overrides `steps`. A batch larger than the data is lowered
to the data, with a notice, rather than refused.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

from angular_dino.config import Config
from angular_dino.errors import UserError


def with_training_length(config: Config, n_train: int, world_size: int, notify: Callable[[str], None]) -> Config:
    """`config` with `batch_size` at most the images each process gets and `epochs` set (from `steps` when null)."""
    if n_train < 2 * world_size:
        raise UserError(f"training needs at least {2 * world_size} images ({world_size} process(es) x batches of 2), "
                        f"got {n_train}; add images or lower val_fraction")
    batch_size = config.batch_size
    if batch_size * world_size > n_train:
        batch_size = n_train // world_size
        notify(f"note: batch_size {config.batch_size} x {world_size} process(es) is more than the {n_train} training "
               f"images; training with batch_size {batch_size}")
    steps_per_epoch = n_train // (batch_size * world_size)
    epochs = config.epochs or math.ceil(config.steps / steps_per_epoch)
    return dataclasses.replace(config, batch_size=batch_size, epochs=epochs)
