"""`angular-dino train`: data -> training with per-epoch identification -> test evaluation -> run files.

Reads top to bottom: prepare the run directory, the data and the trainer; resume if a checkpoint
exists; train epoch by epoch (identifying prototypes and scoring the validation part with PU labels
after each); evaluate on the test split once, at the end; write model, result and summary.
"""
from __future__ import annotations

import platform
import sys
import time
from typing import Any

import numpy as np
import sklearn
import torch
from tqdm import tqdm

from angular_dino import __version__
from angular_dino.api import AngularDINO
from angular_dino.checkpoint import load_torch, save_torch
from angular_dino.config import Config
from angular_dino.data.prepare import PUData, prepare_pu_data, view_settings
from angular_dino.metrics import detection_metrics, metrics_table, pu_auroc
from angular_dino.run_dir import RunDirectory, RunState
from angular_dino.run_report import write_run_report
from angular_dino.trainer import CHECKPOINT_FORMAT, Trainer, resolve_device


def versions() -> dict[str, str]:
    return {"angular_dino": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "scikit-learn": sklearn.__version__}


def _epoch_record(trainer: Trainer, data: PUData, losses: dict[str, float], seconds: float,
                  diagnostic: bool) -> dict[str, Any]:
    """One metrics.jsonl line: losses, schedules, prototypes and validation figures (PU labels only)."""
    prototypes = trainer.prototypes
    record: dict[str, Any] = {"epoch": trainer.epoch, **losses, "seconds": round(seconds, 2),
                              "normal_prototypes": list(prototypes.normal),
                              "anomaly_prototypes": list(prototypes.anomaly),
                              "val_pu_auroc": pu_auroc(trainer.scores(data.val_images), data.val_is_positive)}
    if diagnostic:  # never used for any choice; labelled so in the file
        test = detection_metrics(trainer.scores(data.test_images), data.test_kind)
        record["diagnostic_test_auroc"] = test["auroc"]
    return record


def summary_table(result: dict[str, Any]) -> str:
    return "\n".join([metrics_table(result),
                      f"train {result['train_seconds']:.0f} s, total {result['wall_seconds']:.0f} s; "
                      f"normal prototypes {result['prototypes']['normal']}, "
                      f"anomaly prototypes {result['prototypes']['anomaly']}"])


def train(config: Config, *, restart: bool = False, quiet: bool = False) -> dict[str, Any]:
    """Train and evaluate one run described by `config`; returns result.json's content."""
    started = time.time()
    run = RunDirectory(config.output_dir)
    state = run.state_for(config, restart)
    if state is RunState.FINISHED:
        result = run.read_result()
        print(f"{run.path} already holds this finished run (pass --restart to train it again):\n"
              f"{summary_table(result)}")
        return result

    # --- setup ----------------------------------------------------------------------------------
    device = resolve_device(config.device)
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    data = prepare_pu_data(config)
    trainer = Trainer(config, data.train_images, data.train_is_positive, view_settings(config, data), device)
    history: list[dict[str, Any]] = []
    if state is RunState.RESUMABLE:
        checkpoint = load_torch(run.checkpoint_path, CHECKPOINT_FORMAT)
        trainer.load_state_dict(checkpoint["trainer"])
        history = checkpoint["history"]
        print(f"resuming {run.path} after epoch {trainer.epoch}", file=sys.stderr)
    else:
        run.start(config)

    # --- training ---------------------------------------------------------------------------------
    total_iters = config.epochs * trainer.iters_per_epoch
    bar = tqdm(total=total_iters, initial=trainer.epoch * trainer.iters_per_epoch, disable=quiet,
               unit="it", dynamic_ncols=True, file=sys.stderr)
    running: list[float] = []

    def on_step(loss: float) -> None:
        running.append(loss)
        bar.set_postfix(loss=f"{np.mean(running[-20:]):.3f}", refresh=False)
        bar.update()

    train_seconds = sum(record["seconds"] for record in history)
    while trainer.epoch < config.epochs:
        bar.set_description(f"epoch {trainer.epoch + 1}/{config.epochs}")
        epoch_start = time.time()
        losses = trainer.train_epoch(on_step)
        record = _epoch_record(trainer, data, losses, time.time() - epoch_start, config.diagnostic_test_metrics)
        history.append(record)
        train_seconds += record["seconds"]
        save_torch({"format": CHECKPOINT_FORMAT, "trainer": trainer.state_dict(), "history": history},
                   run.checkpoint_path)
        run.write_metrics(history)
    bar.close()

    # --- evaluation on the test split, once; the model file; the report ---------------------------
    detector = AngularDINO.from_trainer(trainer, data.mean, data.std, history)
    detector.choose_threshold(data)  # from training data only
    test_scores = detector.decision_function(data.test_images) if len(data.test_images) else np.zeros(0)
    metrics = detection_metrics(torch.from_numpy(test_scores), data.test_kind)
    detector.save(run.model_path)
    result = {**metrics, "threshold": detector.threshold_, "threshold_rule": config.threshold_rule,
              "val_pu_auroc": history[-1]["val_pu_auroc"], "prototypes": trainer.prototypes.to_dict(),
              "seed": config.seed, "dataset": config.dataset, "normal_class": config.normal_class,
              "unseen_anomaly_class": config.unseen_anomaly_class, "epochs": config.epochs,
              "n_train": {"unlabeled": int((~data.train_is_positive).sum()), "positive": int(data.train_is_positive.sum())},
              "n_test": {"normal": int((data.test_kind == 0).sum()), "seen": int((data.test_kind == 1).sum()),
                         "unseen": int((data.test_kind == 2).sum())},
              "train_seconds": round(train_seconds, 1), "wall_seconds": round(time.time() - started, 1),
              "device": str(device), "versions": versions()}
    run.write_result(result)
    write_run_report(run.path, detector, config, result, history, data, test_scores)
    if not quiet:
        print(summary_table(result))
    return result
