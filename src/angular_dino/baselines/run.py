"""`angular-dino train --set method=NAME` for a baseline: same split, run directory and result fields.

`train.train` checks the run directory (a finished run is reported, a different one refused) and
then hands baselines to `train_baseline`. A baseline run has no mid-run checkpoint (it takes minutes,
not hours): an interrupted one starts again from the beginning.
"""
from __future__ import annotations

import sys
import time
from typing import Any

import torch
from tqdm import tqdm

from angular_dino.baselines.settings import BaselineSettings
from angular_dino.config import Config
from angular_dino.data.prepare import prepare_pu_data
from angular_dino.detection.base import REGISTRY, BaseDetector
from angular_dino.detection.metrics import detection_metrics, pu_auroc
from angular_dino.runs.run_dir import RunDirectory
from angular_dino.runtime.compute import resolve_device


def build_baseline(config: Config) -> BaseDetector:
    """The unfitted detector of `config.method` with the config's baseline settings (this package's
    `__init__` has registered every baseline class by the time this module runs)."""
    return REGISTRY[config.method](**BaselineSettings.from_config(config).to_dict())


def epochs_to_run(config: Config, detector: BaseDetector) -> int:
    """Epoch records fit will report: none for IsolationForest, twice the epochs for the SVDD family."""
    family = getattr(detector, "family", None)
    return 0 if family is None else config.baseline_epochs * (2 if family == "svdd" else 1)


def train_baseline(config: Config, run: RunDirectory, *, started: float, quiet: bool = False) -> dict[str, Any]:
    """Fit `config.method` on the PU split, evaluate on the test split once, write the run files."""
    from angular_dino.runs.training_run import run_fields, summary_table  # train imports this module lazily

    detector = build_baseline(config)  # validates the baseline settings before any file is written
    device = resolve_device(config.device)
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    data = prepare_pu_data(config)
    run.start(config)
    history: list[dict[str, Any]] = []
    bar = tqdm(total=epochs_to_run(config, detector), disable=quiet, unit="epoch", dynamic_ncols=True,
               file=sys.stderr, desc=config.method)

    def on_epoch(record: dict[str, Any]) -> None:
        history.append(record)
        run.write_metrics(history)
        bar.set_postfix(stage=record["stage"], loss=f"{record['loss']:.4g}", val=f"{record['val_loss']:.4g}",
                        refresh=False)
        bar.update()

    fit_started = time.time()
    detector.fit(data.train_images, data.train_is_positive, validation=(data.val_images, data.val_is_positive),
                 on_epoch=on_epoch)
    train_seconds = time.time() - fit_started
    bar.close()
    run.write_metrics(history)

    metrics = detection_metrics(torch.from_numpy(detector.decision_function(data.test_images)), data.test_kind)
    detector.save(run.model_path)
    best_epochs = {record["stage"]: record["best_epoch"] for record in history}
    result = {**metrics, "method": config.method, "threshold": detector.threshold_,
              "threshold_rule": config.threshold_rule,
              "val_pu_auroc": pu_auroc(torch.from_numpy(detector.decision_function(data.val_images)),
                                       data.val_is_positive),
              "best_epoch": best_epochs, "epochs": config.baseline_epochs if history else None,
              "precision": ("bf16" if detector.settings.bf16 else "fp32") if history else None,  # `auto` resolved
              **run_fields(config, data, train_seconds, started, device)}
    run.write_result(result)
    if not quiet:
        print(summary_table(result))
    return result
