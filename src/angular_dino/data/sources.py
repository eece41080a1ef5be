"""Dataset readers: each source becomes uint8 tensors (N×C×H×W) and int64 labels, held in memory.

The catalogue `DATASETS` also carries what the config needs before any file is read: number of
classes, native image size, augmentation recipe and the PU protocol sizes (METHOD §2).
"""
from __future__ import annotations

import gzip
import hashlib
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from angular_dino.errors import UserError

PROTOCOL_SIZES = {  # METHOD §2
    "n_unlabeled_normal": 4500, "n_unlabeled_anomaly": 250, "n_positive": 250,
    "n_test_normal": 1000, "n_test_seen": 500, "n_test_unseen": 500,
}


@dataclass(frozen=True)
class ImageData:
    """A labelled train pool and test pool; the PU split picks from them."""

    train_images: torch.Tensor  # uint8, N×C×H×W
    train_labels: torch.Tensor  # int64, N
    test_images: torch.Tensor
    test_labels: torch.Tensor
    class_names: tuple[str, ...]


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


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_verified(base_urls: Sequence[str], name: str, md5: str, target: Path) -> None:
    """Fetch `name` from the first base URL that answers, verify its MD5, then move it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    failures = []
    for base in base_urls:
        url = base.rstrip("/") + "/" + name
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as exc:
            failures.append(f"{url}: {exc}")
            continue
        actual = md5_of(partial)
        if actual == md5:
            partial.replace(target)
            return
        failures.append(f"{url}: checksum mismatch (MD5 {actual}, expected {md5})")
    partial.unlink(missing_ok=True)
    raise OSError("; ".join(failures))


@dataclass(frozen=True)
class IdxDataset:
    """Where an MNIST-format dataset may live, and how to fetch it."""

    title: str
    system_dir: str
    debian_package: str
    base_urls: tuple[str, ...]
    files: dict[str, str]  # file name (gzipped) -> official MD5
    class_names: tuple[str, ...]
    cache_name: str  # folder under ~/.cache/angular_dino for downloads

    def _present(self, directory: Path) -> dict[str, Path] | None:
        found = {}
        for name in self.files:
            for candidate in (directory / name, directory / name.removesuffix(".gz")):
                if candidate.is_file():
                    found[name] = candidate
                    break
            else:
                return None
        return found

    def locate(self, data_root: str | None, download: bool, cache_dir: Path) -> dict[str, Path]:
        """Configured root, else the Debian copy, else the cache (downloading into it if allowed)."""
        search = [Path(data_root)] if data_root else [Path(self.system_dir), cache_dir]
        for directory in search:
            found = self._present(directory)
            if found:
                return found
        target = search[0] if data_root else cache_dir
        reason = "download is off (download: false)"
        if download:
            try:
                for name, md5 in self.files.items():
                    if not (target / name).is_file():
                        download_verified(self.base_urls, name, md5, target / name)
                return {name: target / name for name in self.files}
            except OSError as exc:
                reason = f"the download failed ({exc})"
        looked = ", ".join(str(d) for d in search)
        raise UserError(
            f"{self.title} not found (looked in {looked}) and {reason}. Get it one of three ways:\n"
            f"  1. set data_root to a directory holding {', '.join(self.files)} (gzipped or not);\n"
            f"  2. install Debian's package: apt-get install {self.debian_package} (files in {self.system_dir});\n"
            f"  3. allow the download (download: true) on a machine that can reach {self.base_urls[0]}.")

    def read(self, data_root: str | None, download: bool) -> ImageData:
        paths = self.locate(data_root, download, Path.home() / ".cache" / "angular_dino" / self.cache_name)
        arrays = {name: torch.from_numpy(read_idx(path).copy()) for name, path in paths.items()}
        train_images, train_labels, test_images, test_labels = (arrays[n] for n in self.files)
        for images, labels, part in ((train_images, train_labels, "train"), (test_images, test_labels, "t10k")):
            if len(images) != len(labels) or images.ndim != 3:
                raise UserError(f"{self.title} {part} files disagree: {len(images)} images, {len(labels)} labels")
        return ImageData(train_images[:, None], train_labels.long(), test_images[:, None], test_labels.long(),
                         self.class_names)


FASHION_MNIST = IdxDataset(
    title="Fashion-MNIST",
    system_dir="/usr/share/datasets/fashion-mnist",
    debian_package="dataset-fashion-mnist",
    base_urls=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
               "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
    files={  # order: train images, train labels, test images, test labels
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    cache_name="fashion-mnist",
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


DATASETS: dict[str, DatasetSpec] = {
    "fashion_mnist": DatasetSpec(10, 28, "clothing", PROTOCOL_SIZES, FASHION_MNIST.read),
    "digits": DatasetSpec(10, 16, "digits", {
        "n_unlabeled_normal": 100, "n_unlabeled_anomaly": 10, "n_positive": 20,
        "n_test_normal": 60, "n_test_seen": 50, "n_test_unseen": 50,
    }, read_digits),
}


def resize_images(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize uint8 N×C×H×W images to size×size (antialiased bilinear), in chunks to bound memory."""
    if images.shape[-2:] == (size, size):
        return images
    out = torch.empty((images.shape[0], images.shape[1], size, size), dtype=torch.uint8)
    for start in range(0, len(images), 8192):
        chunk = images[start:start + 8192].float()
        out[start:start + 8192] = F.interpolate(chunk, size=(size, size), mode="bilinear",
                                                antialias=True, align_corners=False).round().clamp(0, 255)
    return out


def load_dataset(name: str, data_root: str | None, download: bool, image_size: int) -> ImageData:
    """Read a catalogued dataset and bring both pools to `image_size`."""
    data = DATASETS[name].read(data_root, download)
    return ImageData(resize_images(data.train_images, image_size), data.train_labels,
                     resize_images(data.test_images, image_size), data.test_labels, data.class_names)


def channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 images in [0, 1] units, accumulated in chunks."""
    total = torch.zeros(images.shape[1], dtype=torch.float64)
    total_sq = torch.zeros_like(total)
    for start in range(0, len(images), 8192):
        chunk = images[start:start + 8192].double().div_(255)
        total += chunk.sum(dim=(0, 2, 3))
        total_sq += chunk.pow(2).sum(dim=(0, 2, 3))
    count = images.shape[0] * images.shape[2] * images.shape[3]
    mean = total / count
    std = (total_sq / count - mean.pow(2)).clamp_min(1e-12).sqrt()
    return tuple(mean.tolist()), tuple(std.tolist())
