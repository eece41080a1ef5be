"""How whoever calls `fit` follows and steers it: progress, per-epoch records, checkpoints, stop requests.

A detector's `fit` calls its monitor at fixed points; every default here does nothing, which is what the
Python API needs (`AngularDINO().fit(X, y)`). The command line passes a monitor that draws the progress
bar, rewrites metrics.jsonl, writes checkpoints and stops on signals (`runs.monitor.RunMonitor`). A
detector that can resume mid-run (AngularDINO) hands the monitor a `snapshot` function and a `restore`
one; a detector without checkpoints (the baselines) hands none.

`notice` may come at any time: a one-line message about a setting the fit changed to suit the data.
The calls, in order: `resume` once (before training), `begin` once, then `after_step` after every
optimisation step and `epoch_fields` + `after_epoch` after every epoch.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable

import torch

from angular_dino.runtime.distributed import Distributed

Snapshot = Callable[[], dict[str, Any]]  # the fit's whole state now; under DDP every process must call it
Scores = Callable[[torch.Tensor], torch.Tensor]  # uint8 images -> anomaly scores of the model as it is now


@dataclass(frozen=True)
class Progress:
    """Where a fit stands: `epoch` of `epochs` epochs done and `iteration` of `steps_per_epoch` steps into the next
    (a detector that reports only epochs has one step per epoch)."""

    epoch: int
    iteration: int
    epochs: int
    steps_per_epoch: int

    @property
    def step(self) -> int:
        return self.epoch * self.steps_per_epoch + self.iteration

    @property
    def total(self) -> int:
        return self.epochs * self.steps_per_epoch

    def __str__(self) -> str:
        """e.g. "epoch 2, iteration 3", or "the end of epoch 1" between epochs."""
        return f"epoch {self.epoch + 1}, iteration {self.iteration}" if self.iteration else f"the end of epoch {self.epoch}"


class FitMonitor:
    """Watches a fit and does nothing; the base of every monitor."""

    processes: Distributed = Distributed()  # the data-parallel processes the fit trains in (torchrun), if several

    def notice(self, message: str) -> None:
        """The fit adapted a setting to the data (e.g. a batch larger than the data); the API warns."""
        warnings.warn(message, UserWarning, stacklevel=3)

    def resume(self, snapshot_format: str, restore: Callable[[dict[str, Any]], str]) -> None:
        """Hand a saved snapshot (of `snapshot_format`) to `restore`, when there is one to continue from; `restore`
        puts the fit where the snapshot left off and says where that is."""

    def begin(self, progress: Progress, unit: str) -> None:
        """Training starts (or resumes) at `progress`; `unit` names one step ("it", "epoch")."""

    def after_step(self, progress: Progress, loss: float, snapshot: Snapshot) -> None:
        """An optimisation step ended with `loss`; the fit is now a valid checkpoint (`snapshot`)."""

    def epoch_fields(self, scores: Scores) -> dict[str, Any]:
        """Fields of the caller's own to add to the epoch's record; `scores` scores images with the model as it is."""
        return {}

    def after_epoch(self, progress: Progress, history: list[dict[str, Any]], snapshot: Snapshot | None) -> None:
        """An epoch ended; `history` holds its record last. `snapshot` is None for a fit that keeps no checkpoint."""


class PrintMonitor(FitMonitor):
    """`verbose`: one line per epoch on standard output, as PyOD's detectors print."""

    FIELDS = ("stage", "loss", "val_loss", "val_pu_auroc", "seconds")

    def after_epoch(self, progress: Progress, history: list[dict[str, Any]], snapshot: Snapshot | None) -> None:
        record = history[-1]
        shown = [f"{key} {record[key]:.4g}" if isinstance(record[key], float) else f"{key} {record[key]}"
                 for key in self.FIELDS if record.get(key) is not None]
        print(f"epoch {progress.epoch}/{progress.epochs}: " + ", ".join(shown), flush=True)
