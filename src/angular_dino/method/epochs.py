"""AngularDINO's epochs under a `FitMonitor`: each epoch's record, its timing, and the resumable snapshot.

A snapshot taken between any two iterations holds the trainer's whole state, the records of the finished
epochs and the time already spent in the current one, so a fit resumed from it ends bit for bit where the
uninterrupted fit would (same device, deterministic mode).
"""
from __future__ import annotations

import time
from typing import Any

from angular_dino.data.prepare import PUParts
from angular_dino.detection.monitor import FitMonitor, Progress
from angular_dino.method.history import epoch_record
from angular_dino.method.trainer import CHECKPOINT_FORMAT, Trainer


class EpochLoop:
    """Trains `trainer` to its last epoch, telling `monitor` after every step and every epoch."""

    def __init__(self, trainer: Trainer, parts: PUParts, monitor: FitMonitor) -> None:
        self.trainer = trainer
        self.parts = parts
        self.monitor = monitor
        self.history: list[dict[str, Any]] = []
        self.seconds_into_epoch = 0.0
        self.epoch_start = time.time()

    def progress(self) -> Progress:
        t = self.trainer
        return Progress(t.epoch, t.iteration, t.config.epochs, t.iters_per_epoch)

    def snapshot(self) -> dict[str, Any]:
        """Everything a resumed fit needs; every process takes part (the trainer gathers the RNG states)."""
        trainer_state = self.trainer.state_dict()
        return {"format": CHECKPOINT_FORMAT, "trainer": trainer_state, "history": self.history,
                "seconds_into_epoch": time.time() - self.epoch_start if self.trainer.iteration else 0.0}

    def restore(self, snapshot: dict[str, Any]) -> str:
        """Continue from `snapshot`; raises KeyError, ValueError or RuntimeError when it does not fit this run."""
        self.trainer.load_state_dict(snapshot["trainer"])
        self.history = list(snapshot["history"])
        self.seconds_into_epoch = snapshot.get("seconds_into_epoch", 0.0)
        return f"epoch {self.trainer.epoch + 1}, iteration {self.trainer.iteration}"

    def run(self) -> list[dict[str, Any]]:
        """Resume if the monitor holds a snapshot, train the remaining epochs; returns one record per epoch."""
        trainer, monitor = self.trainer, self.monitor
        monitor.resume(CHECKPOINT_FORMAT, self.restore)
        monitor.begin(self.progress(), "it")
        self.epoch_start = time.time() - self.seconds_into_epoch
        while trainer.epoch < trainer.config.epochs:
            losses = trainer.train_epoch(lambda loss: monitor.after_step(self.progress(), loss, self.snapshot))
            record = epoch_record(trainer, self.parts.val_images, self.parts.val_is_positive, losses,
                                  time.time() - self.epoch_start)
            self.history.append({**record, **monitor.epoch_fields(trainer.scores)})
            monitor.after_epoch(self.progress(), self.history, self.snapshot)
            self.epoch_start = time.time()
        return self.history
