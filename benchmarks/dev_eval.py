"""Tune without touching the test split: train on the PU split, evaluate on a *development* set.

The development set (`angular_dino.data.development`) is drawn from train-pool images that the PU split
did not use, with the test protocol's sizes, so profile choices are made without ever reading official
test labels. Prints per-epoch validation and dev AUROC.

    python benchmarks/dev_eval.py --config configs/fashion_mnist.yml --set seed=1 [--set key=value ...]
"""
from __future__ import annotations

import argparse
import json
import time

from angular_dino.data.development import development_set
from angular_dino.data.prepare import prepare_pu_data
from angular_dino.data.sources import load_dataset
from angular_dino.detection.metrics import detection_metrics, pu_auroc
from angular_dino.method.trainer import Trainer
from angular_dino.method.training_length import with_training_length
from angular_dino.method.views import views_for
from angular_dino.runs.resolve import load_config
from angular_dino.runtime.compute import resolve_device


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--set", action="append", default=[])
    args = parser.parse_args()
    config, _ = load_config(args.config, args.set)
    data = prepare_pu_data(config)
    config = with_training_length(config, len(data.train_images), 1, print)  # `steps` to epochs, as fit does
    pool = load_dataset(config.dataset, config.data_root, config.download, config.image_size)
    dev_images, dev_kind, _ = development_set(config, data.split, pool)
    trainer = Trainer(config, data.train_images, data.train_is_positive, views_for(config, *data.normalisation()),
                      resolve_device(config.device))
    start = time.time()
    while trainer.epoch < config.epochs:
        losses = trainer.train_epoch()
        dev = detection_metrics(trainer.scores(dev_images), dev_kind)["auroc"]
        val = pu_auroc(trainer.scores(data.val_images), data.val_is_positive)
        print(json.dumps({"epoch": trainer.epoch, "t": round(time.time() - start), "loss": round(losses["loss"], 3),
                          "l_ang": round(losses["loss_ang"], 3), "val_pu": round(val, 4),
                          "dev": {k: round(v, 4) for k, v in dev.items()}}), flush=True)


if __name__ == "__main__":
    main()
