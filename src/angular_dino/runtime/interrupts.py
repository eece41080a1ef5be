"""SIGINT/SIGTERM during training: finish the current iteration, write a checkpoint, stop cleanly.

A signal only sets a flag; the training loop checks it at each iteration boundary, saves and raises
`TrainingStopped`, which the command line turns into exit status 128 + signal (130 for Ctrl-C, 143
for SIGTERM). A second Ctrl-C while the first is pending stops at once with KeyboardInterrupt (the
previous checkpoint is then the one kept).
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from types import FrameType
from typing import Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingStopped(Exception):
    """Training stopped on a signal after writing a checkpoint; the message says how to resume."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.signum = signum

    def __reduce__(self) -> tuple:
        """Picklable with both arguments, so it crosses from a `bench --jobs` worker to the parent intact."""
        return type(self), (self.signum, str(self))


class StopRequest:
    """Set by a stop signal; read by the training loop at iteration boundaries."""

    def __init__(self) -> None:
        self.signum: int | None = None

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum


@contextmanager
def stop_signals() -> Iterator[StopRequest]:
    """Catch SIGINT/SIGTERM as a `StopRequest` inside the block (main thread only; elsewhere a no-op)."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = {signum: signal.signal(signum, request._handle) for signum in STOP_SIGNALS}
    try:
        yield request
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
