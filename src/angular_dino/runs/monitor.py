"""The run directory's `FitMonitor`: one progress bar, metrics.jsonl (and the `logger`'s copy) after every epoch,
checkpoints, stop signals.

Checkpoints (of a detector that hands out snapshots: AngularDINO) are written atomically to
checkpoints/last.pt, with metrics.jsonl, at the end of an epoch once `checkpoint_every_seconds` have passed
since the last write (and at the last epoch), and every `checkpoint_every_iters` steps. On SIGINT/SIGTERM
at any rank, every rank writes the checkpoint at the same step and the fit stops with `TrainingStopped`,
whose message says how to resume; a detector without snapshots (a baseline) stops at the end of an epoch
and trains again from the start next time. Only rank 0 writes files and draws the bar.
"""
from __future__ import annotations

import signal
import sys
import time
from typing import Any, Callable

import numpy as np
import torch
from tqdm import tqdm

from angular_dino.config import Config
from angular_dino.detection.metrics import detection_metrics
from angular_dino.detection.monitor import FitMonitor, Progress, Scores, Snapshot
from angular_dino.errors import UserError
from angular_dino.runs.loggers import ExperimentLogger, open_logger
from angular_dino.runs.run_dir import RunDirectory, RunState
from angular_dino.runtime.console import VERBOSE, is_terminal, verbosity
from angular_dino.runtime.distributed import Distributed
from angular_dino.runtime.interrupts import StopRequest, TrainingStopped
from angular_dino.storage import load_torch, save_torch


def epoch_line(progress: Progress, record: dict[str, Any]) -> str:
    """One plain line for a finished epoch: its number and its record's figures, e.g.
    `epoch 2/40: loss 3.12, val_pu_auroc 0.91, seconds 12.3`."""
    figures = ", ".join(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"
                        for key, value in record.items() if key != "epoch" and isinstance(value, (int, float, str)))
    return f"epoch {progress.epoch}/{progress.epochs}: {figures}"


class RunMonitor(FitMonitor):
    """Follows the fit of `config`'s run in `run`, which `state` says is new or resumable."""

    def __init__(self, config: Config, run: RunDirectory, state: RunState, processes: Distributed,
                 device: torch.device, stop: StopRequest, quiet: bool,
                 test: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
        self.config, self.run, self.state = config, run, state
        self.processes, self.device, self.stop = processes, device, stop
        self.test = test  # (images, kinds) for the diagnostic test AUROC, when asked for
        self.quiet = quiet
        self.resumed = False
        self.bar: tqdm | None = None
        self.logger: ExperimentLogger | None = None  # `logger`'s, from `begin` on (rank 0 only)
        self.finished = False
        self.epoch_lines = False  # set by begin
        self.losses: list[float] = []
        # time.monotonic() of the last checkpoint and metrics.jsonl; None: nothing written yet, so the first epoch
        # writes (monotonic time counts from boot, so a 0 here failed on a machine up for less than the interval)
        self.last_write: float | None = None

    def notice(self, message: str) -> None:
        if self.processes.is_main:
            print(message, file=sys.stderr)

    # --- resuming ---------------------------------------------------------------------------------
    def resume(self, snapshot_format: str, restore: Callable[[dict[str, Any]], str]) -> None:
        if self.state is not RunState.RESUMABLE:
            return
        snapshot = self.processes.from_main(self._read_checkpoint(snapshot_format) if self.processes.is_main else None)
        try:
            position = restore(snapshot)
        except (KeyError, ValueError, RuntimeError, TypeError, IndexError) as exc:
            raise self._mismatch(exc) from None
        self.resumed = True
        if self.processes.is_main:
            print(f"resuming {self.run.path} at {position}", file=sys.stderr)

    def _read_checkpoint(self, snapshot_format: str) -> dict[str, Any]:
        """The run's last checkpoint, or a clear error that says how to continue."""
        try:
            return load_torch(self.run.checkpoint_path, snapshot_format)
        except UserError as exc:
            raise UserError(f"{exc}. Pass --restart to start the run afresh (it replaces the checkpoint).") from None

    def _mismatch(self, problem: Exception) -> UserError:
        lines = [line.strip() for line in str(problem).splitlines() if line.strip()]
        detail = " ".join(lines[:2])[:300] or type(problem).__name__  # load_state_dict names the tensor on line 2
        return UserError(f"{self.run.checkpoint_path} does not fit this run ({detail}); it was written by another "
                         "configuration or version. Pass --restart to start the run afresh.")

    # --- progress ---------------------------------------------------------------------------------
    def begin(self, progress: Progress, unit: str) -> None:
        if not self.resumed and self.processes.is_main:
            self.run.start(self.config)  # only now: a fit that fails on its input leaves no files behind
        if self.processes.is_main:
            self.logger = open_logger(self.config, self.run.path)
        shown = not self.quiet and self.processes.is_main
        # a log file (stderr not a terminal) gets one plain line per epoch instead of a bar that redraws with \r
        self.epoch_lines = shown and (verbosity() >= VERBOSE or not is_terminal(sys.stderr))
        self.bar = tqdm(total=progress.total, initial=progress.step, unit=unit, dynamic_ncols=True, file=sys.stderr,
                        disable=not shown or not is_terminal(sys.stderr))
        self._describe(progress)

    def _describe(self, progress: Progress) -> None:
        epoch = min(progress.epoch + 1, progress.epochs)
        self.bar.set_description(f"epoch {epoch}/{progress.epochs}" if progress.epochs else self.config.method)

    def _advance(self, progress: Progress) -> None:
        self.bar.update(progress.step - self.bar.n)

    def after_step(self, progress: Progress, loss: float, snapshot: Snapshot) -> None:
        self.losses.append(loss)
        self.bar.set_postfix(loss=f"{np.mean(self.losses[-20:]):.3f}", refresh=False)
        self._advance(progress)
        every = self.config.checkpoint_every_iters
        due = bool(every) and progress.step % every == 0 and progress.iteration < progress.steps_per_epoch
        stopping = self._stop_requested()
        if due or stopping:
            self._save(snapshot)
        if stopping:
            raise self._stopped(progress, kept=True)

    def epoch_fields(self, scores: Scores) -> dict[str, Any]:
        if not (self.config.diagnostic_test_metrics and self.test is not None):
            return {}
        images, kinds = self.test  # never used for any choice; labelled so in the file
        return {"diagnostic_test_auroc": detection_metrics(scores(images), kinds)["auroc"]}

    def after_epoch(self, progress: Progress, history: list[dict[str, Any]], snapshot: Snapshot | None) -> None:
        record = history[-1]
        shown = {key: record[key] for key in ("stage", "loss", "val_loss") if key in record}
        self.bar.set_postfix({k: v if isinstance(v, str) else f"{v:.4g}" for k, v in shown.items()}, refresh=False)
        self._advance(progress)
        if self.epoch_lines:
            self.bar.write(epoch_line(progress, record), file=sys.stderr)
        stopping, write_due = self._stop_and_write_due()
        self.finished = progress.epoch >= progress.epochs
        if stopping or self.finished or write_due:
            if snapshot is not None:
                self._save(snapshot)
            if self.processes.is_main:
                self.run.write_metrics(history)
            self.last_write = time.monotonic()
        if self.processes.is_main:
            self.logger.log(history)
        if stopping:
            raise self._stopped(progress, kept=snapshot is not None)
        self._describe(progress)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.logger is not None:
            self.logger.close(self.finished)

    # --- checkpoints and stops --------------------------------------------------------------------
    def _stop_and_write_due(self) -> tuple[bool, bool]:
        """Whether a stop was requested and whether `checkpoint_every_seconds` have passed since the last write, the
        same answers on every rank (one all-reduce)."""
        due = self.last_write is None or time.monotonic() - self.last_write >= self.config.checkpoint_every_seconds
        return self.processes.any_each((self.stop.requested, due), self.device)

    def _stop_requested(self) -> bool:
        """True on every rank when SIGINT/SIGTERM reached any (so that all ranks stop at the same step)."""
        return self.processes.any(self.stop.requested, self.device)

    def _save(self, snapshot: Snapshot) -> None:
        state = snapshot()  # every rank takes part
        if self.processes.is_main:
            save_torch(state, self.run.checkpoint_path)

    def _stopped(self, progress: Progress, kept: bool) -> TrainingStopped:
        signum = self.stop.signum or signal.SIGTERM
        then = (f"{self.run.checkpoint_path} holds this point. Run the same command again to resume." if kept else
                f"{self.config.method} keeps no checkpoint: the same command trains it again from the start.")
        return TrainingStopped(signum, f"stopped by {signal.Signals(signum).name} at {progress}; {then}")
