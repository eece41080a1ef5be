"""`angular-dino train`: data -> training with per-epoch identification -> test evaluation -> run files.

Reads top to bottom: prepare the run directory, the data and the trainer; resume if a checkpoint
exists; train epoch by epoch (identifying prototypes and scoring the validation part with PU labels
after each); evaluate on the test split once, at the end; write model, result and summary.
"""
from __future__ import annotations

import platform
import signal
import sys
import time
from typing import Any

import numpy as np
import sklearn
import torch
from tqdm import tqdm

from angular_dino import __version__
from angular_dino.config import Config
from angular_dino.data.prepare import PUData, prepare_pu_data
from angular_dino.data.pu_split import kind_counts
from angular_dino.detection.metrics import detection_metrics, metrics_table
from angular_dino.errors import UserError
from angular_dino.method.detector import AngularDINO
from angular_dino.method.history import epoch_record
from angular_dino.method.trainer import CHECKPOINT_FORMAT, Trainer
from angular_dino.method.views import views_for
from angular_dino.runs.report_inputs import write_run_report
from angular_dino.runs.run_dir import RunDirectory, RunState
from angular_dino.runtime.compute import resolve_device
from angular_dino.runtime.distributed import init_distributed, local_device
from angular_dino.runtime.interrupts import TrainingStopped, stop_signals
from angular_dino.storage import load_torch, save_torch


def versions() -> dict[str, str]:
    return {"angular_dino": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "scikit-learn": sklearn.__version__}


def run_fields(config: Config, data: PUData, train_seconds: float, started: float,
               device: torch.device) -> dict[str, Any]:
    """The result.json fields every method shares: what ran, on which split sizes, how long, where."""
    return {"seed": config.seed, "dataset": config.dataset, "normal_class": config.normal_class,
            "unseen_anomaly_class": config.unseen_anomaly_class,
            "n_train": {"unlabeled": int((~data.train_is_positive).sum()), "positive": int(data.train_is_positive.sum())},
            "n_test": kind_counts(data.test_kind),
            "train_seconds": round(train_seconds, 1), "wall_seconds": round(time.time() - started, 1),
            "device": str(device), "versions": versions()}


def summary_table(result: dict[str, Any]) -> str:
    timing = f"train {result['train_seconds']:.0f} s, total {result['wall_seconds']:.0f} s"
    if "prototypes" in result:  # baselines have none
        timing += (f"; normal prototypes {result['prototypes']['normal']}, "
                   f"anomaly prototypes {result['prototypes']['anomaly']}")
    return "\n".join([metrics_table(result), timing])


def _checkpoint_mismatch(path: Any, problem: Exception) -> UserError:
    lines = [line.strip() for line in str(problem).splitlines() if line.strip()]
    detail = " ".join(lines[:2])[:300] or type(problem).__name__  # load_state_dict names the tensor on line 2
    return UserError(f"{path} does not fit this run ({detail}); it was written by another configuration or "
                     "version. Pass --restart to start the run afresh.")


def _read_checkpoint(run: RunDirectory) -> dict[str, Any]:
    """The run's last checkpoint, or a clear error that says how to continue."""
    try:
        return load_torch(run.checkpoint_path, CHECKPOINT_FORMAT)
    except UserError as exc:
        raise UserError(f"{exc}. Pass --restart to start the run afresh (it replaces the checkpoint).") from None


def _resume(trainer: Trainer, checkpoint: dict[str, Any], run: RunDirectory) -> list[dict[str, Any]]:
    """Put `trainer` where the checkpoint left off; returns the history of finished epochs."""
    try:
        trainer.load_state_dict(checkpoint["trainer"])
        return list(checkpoint["history"])
    except (KeyError, ValueError, RuntimeError, TypeError, IndexError) as exc:
        raise _checkpoint_mismatch(run.checkpoint_path, exc) from None


def train(config: Config, *, restart: bool = False, quiet: bool = False) -> dict[str, Any] | None:
    """Train and evaluate one run described by `config`; returns result.json's content.

    Under torchrun every process calls this; rank 0 evaluates, writes the files and returns the
    result, the other ranks return None once training is done.
    """
    started = time.time()
    device = resolve_device(config.device)
    context = init_distributed(device)
    if config.method != "angular_dino" and context.enabled:  # every rank would train and write the same files
        raise UserError(f"method: {config.method} trains in one process (the baselines are not data-parallel); "
                        "run it without torchrun")
    device = local_device(device, context)
    run = RunDirectory(config.output_dir)
    state = context.from_main(run.state_for(config, restart) if context.is_main else None)
    if state is RunState.FINISHED:
        if not context.is_main:
            return None
        result = run.read_result()
        print(f"{run.path} already holds this finished run (pass --restart to train it again):\n"
              f"{summary_table(result)}")
        return result
    if config.method != "angular_dino":
        from angular_dino.baselines.run import train_baseline

        return train_baseline(config, run, started=started, quiet=quiet)

    # --- setup ----------------------------------------------------------------------------------
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    with context.main_first():
        data = prepare_pu_data(config)
    mean, std = data.normalisation()
    trainer = Trainer(config, data.train_images, data.train_is_positive, views_for(config, mean, std), device,
                      context)
    history: list[dict[str, Any]] = []
    seconds_into_epoch = 0.0
    if state is RunState.RESUMABLE:
        checkpoint = context.from_main(_read_checkpoint(run) if context.is_main else None)
        history = _resume(trainer, checkpoint, run)
        seconds_into_epoch = checkpoint.get("seconds_into_epoch", 0.0)
        if context.is_main:
            print(f"resuming {run.path} at epoch {trainer.epoch + 1}, iteration {trainer.iteration}", file=sys.stderr)
    elif context.is_main:
        run.start(config)

    # --- training ---------------------------------------------------------------------------------
    iters = trainer.iters_per_epoch
    bar = tqdm(total=config.epochs * iters, initial=trainer.epoch * iters + trainer.iteration,
               disable=quiet or not context.is_main, unit="it", dynamic_ncols=True, file=sys.stderr)
    running: list[float] = []
    epoch_start = time.time() - seconds_into_epoch

    def save_checkpoint() -> None:
        trainer_state = trainer.state_dict()  # every rank takes part (it gathers RNG states)
        if context.is_main:
            save_torch({"format": CHECKPOINT_FORMAT, "trainer": trainer_state, "history": history,
                        "seconds_into_epoch": time.time() - epoch_start if trainer.iteration else 0.0},
                       run.checkpoint_path)

    def checkpoint(due: bool) -> None:
        """Save when due; on SIGINT/SIGTERM at any rank, every rank saves and stops at this same point."""
        stopping = context.any(stop.requested, device)
        if due or stopping:
            save_checkpoint()
        if stopping:
            signum = stop.signum or signal.SIGTERM
            where = (f"epoch {trainer.epoch + 1}, iteration {trainer.iteration}" if trainer.iteration
                     else f"the end of epoch {trainer.epoch}")
            raise TrainingStopped(signum, f"stopped by {signal.Signals(signum).name} at {where}; "
                                          f"{run.checkpoint_path} holds this point. Run the same command again "
                                          "to resume.")

    def on_step(loss: float) -> None:
        running.append(loss)
        bar.set_postfix(loss=f"{np.mean(running[-20:]):.3f}", refresh=False)
        bar.update()
        every = config.checkpoint_every_iters
        step = trainer.epoch * iters + trainer.iteration
        checkpoint(due=bool(every) and step % every == 0 and trainer.iteration < iters)

    train_seconds = sum(record["seconds"] for record in history)
    with stop_signals() as stop:
        while trainer.epoch < config.epochs:
            bar.set_description(f"epoch {trainer.epoch + 1}/{config.epochs}")
            losses = trainer.train_epoch(on_step)
            record = epoch_record(trainer, data, losses, time.time() - epoch_start, config.diagnostic_test_metrics)
            history.append(record)
            train_seconds += record["seconds"]
            checkpoint(due=True)
            if context.is_main:
                run.write_metrics(history)
            epoch_start = time.time()
    bar.close()
    if not context.is_main:
        return None

    # --- evaluation on the test split, once; the model file; the report ---------------------------
    detector = AngularDINO.from_trainer(trainer, mean, std, history)
    detector.choose_threshold(data)  # from training data only
    test_scores = detector.decision_function(data.test_images) if len(data.test_images) else np.zeros(0)
    metrics = detection_metrics(torch.from_numpy(test_scores), data.test_kind)
    detector.save(run.model_path)
    result = {**metrics, "threshold": detector.threshold_, "threshold_rule": config.threshold_rule,
              "val_pu_auroc": history[-1]["val_pu_auroc"], "prototypes": trainer.identified.to_dict(),
              "epochs": config.epochs, "precision": trainer.amp.precision,  # `auto` resolved
              **run_fields(config, data, train_seconds, started, device)}
    run.write_result(result)
    write_run_report(run.path, detector, config, result, history, data, test_scores)
    if not quiet:
        print(summary_table(result))
    return result
