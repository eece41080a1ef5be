"""CIFAR-10 from its official python archive, read without ever running code from it.

The batches are Python 2 pickles of a dict: `data` (a uint8 numpy array, N×3072: 1024 red, 1024
green, 1024 blue values, each a 32×32 image in row order), `labels` (a list of N ints 0..9),
`batch_label` and `filenames` (strings). A plain `pickle.load` would run whatever a tampered file
names, so the unpickler here resolves only the three globals that rebuild a numpy array.
"""
from __future__ import annotations

import io
import pickle
import tarfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from angular_dino.data.download import DataFiles
from angular_dino.data.image_data import ImageData
from angular_dino.errors import UserError

ARCHIVE = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"  # what the archive unpacks to; accepted in data_root instead of the archive
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

CIFAR10_FILES = DataFiles("CIFAR-10", {ARCHIVE: "c58f30108f718f92721af3b95e74349a"},
                          ("https://www.cs.toronto.edu/~kriz/",), "cifar10", also_accepted={ARCHIVE: (FOLDER,)})

_RECONSTRUCT = np.ndarray(0).__reduce__()[0]  # numpy's array-rebuilding function, wherever this numpy keeps it
ALLOWED_GLOBALS = {  # the official batches name these, under NumPy 1 or NumPy 2 module names
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class BatchUnpickler(pickle.Unpickler):
    """Builds dicts, lists, strings, numbers and numpy arrays; refuses every other global."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which a CIFAR-10 batch never holds") from None


def parse_batch(raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N×3×32×32 uint8) and labels (N) of one pickled batch, checking its layout."""
    try:
        batch = BatchUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except Exception as exc:  # a damaged pickle can fail in many ways; each means the same to the user
        raise UserError(f"{where} is not a CIFAR-10 batch that can be read safely ({exc}). Delete it and "
                        f"use the official {ARCHIVE}.") from None
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()} if isinstance(batch, dict) else {}
    data, labels = batch.get("data"), batch.get("labels")
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3072
            and isinstance(labels, list) and len(labels) == len(data)
            and all(isinstance(y, int) and 0 <= y < 10 for y in labels)):
        raise UserError(f"{where} does not hold the CIFAR-10 layout (a dict with `data`: N×3072 uint8 and "
                        f"`labels`: N ints 0..9); use the official {ARCHIVE}")
    return data.reshape(-1, 3, 32, 32), np.asarray(labels, dtype=np.int64)


def _batch_bytes(path: Path) -> dict[str, bytes]:
    """The raw batches from the archive (read in memory, never unpacked to disk) or from its folder."""
    names = (*TRAIN_BATCHES, TEST_BATCH)
    if path.is_dir():
        missing = [n for n in names if not (path / n).is_file()]
        if missing:
            raise UserError(f"{path} lacks {', '.join(missing)}; it should hold the unpacked {ARCHIVE}")
        return {n: (path / n).read_bytes() for n in names}
    wanted = {f"{FOLDER}/{n}": n for n in names}
    found = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:  # one pass: seeking back in a gzip stream means decompressing again
                if member.isfile() and member.name in wanted:
                    found[wanted[member.name]] = archive.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise UserError(f"cannot read {path}: {exc}. Delete it so that it is fetched again.") from None
    missing = [f"{FOLDER}/{n}" for n in names if n not in found]
    if missing:
        raise UserError(f"{path} lacks {', '.join(missing)}; it is not the official {ARCHIVE}")
    return found


def read_cifar10(data_root: str | None, download: bool) -> ImageData:
    """The 50,000 training images as the train pool and the 10,000 test images as the test pool."""
    path = CIFAR10_FILES.locate(data_root, download)[ARCHIVE]
    raw = _batch_bytes(path)
    train = [parse_batch(raw[n], f"{path}: {n}") for n in TRAIN_BATCHES]
    test_images, test_labels = parse_batch(raw[TEST_BATCH], f"{path}: {TEST_BATCH}")
    return ImageData(torch.from_numpy(np.concatenate([x for x, _ in train])),
                     torch.from_numpy(np.concatenate([y for _, y in train])),
                     torch.from_numpy(test_images.copy()), torch.from_numpy(test_labels), CLASS_NAMES)
