"""Atomic writes and safe reads of run files.

Writes go to a temporary file in the same directory, are fsync'ed, then renamed over the target, so a
crash or a full disk never leaves a half-written file under the real name. Reads use
`torch.load(weights_only=True)`, which refuses pickles that would run code.
"""
from __future__ import annotations

import json
import os
import pickle
import struct
import tempfile
from pathlib import Path
from typing import Any, Callable, IO

import torch

from angular_dino.errors import UserError


def _atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp_name, path)
    except BaseException as exc:
        Path(temp_name).unlink(missing_ok=True)
        if isinstance(exc, OSError):  # full disk, quota, permissions: the user's to fix, not a crash
            raise UserError(f"could not write {path}: {exc.strerror or exc}. The previous {path.name}, if any, "
                            "is unchanged; free disk space (or choose another output_dir) and run the same "
                            "command again.") from None
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def save_torch(obj: Any, path: Path) -> None:
    _atomic_write(path, lambda out: torch.save(obj, out))


def save_bytes(data: bytes, path: Path) -> None:
    _atomic_write(path, lambda out: out.write(data))


def save_text(text: str, path: Path) -> None:
    _atomic_write(path, lambda out: out.write(text.encode()))


def save_json(obj: Any, path: Path) -> None:
    save_text(json.dumps(obj, indent=2) + "\n", path)


def load_torch(path: Path, expected_format: str) -> dict[str, Any]:
    """Load a file we wrote, refusing anything else with a clear message (never running its code)."""
    if not path.is_file():
        raise UserError(f"{path} does not exist")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, AttributeError,
            struct.error) as exc:  # struct.error: a short non-zip file
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path} is not a readable AngularDINO file (corrupt, truncated, or it holds "
                        f"objects other than tensors and plain values): {first_line[:200]}") from None
    if not isinstance(obj, dict) or obj.get("format") != expected_format:
        found = obj.get("format") if isinstance(obj, dict) else type(obj).__name__
        raise UserError(f"{path} is not an AngularDINO {expected_format} file (found {found!r})")
    return obj
