"""How much the command line prints, set once by it (`--quiet`, `--verbose`), and whether progress may redraw.

The Python API never sets it: a library prints its notices at the default level and draws no extra lines.
"""
from __future__ import annotations

import sys
from typing import TextIO

QUIET, NORMAL, VERBOSE = 0, 1, 2
_level = NORMAL


def set_verbosity(level: int) -> None:
    global _level
    _level = level


def verbosity() -> int:
    return _level


def notice(message: str) -> None:
    """A line for the user on stderr (ignored keys, a fitted batch size), unless --quiet."""
    if _level >= NORMAL:
        print(message, file=sys.stderr)


def is_terminal(stream: TextIO) -> bool:
    """Whether `stream` is an interactive terminal: only there may a progress bar redraw itself with `\\r`; a log
    file gets plain lines."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False
