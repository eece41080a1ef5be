"""The `folder` data source: a user's own image files, read with Pillow into uint8 tensors.

Layout of `data_dir` (each class folder searched recursively, files in sorted path order):

    unlabeled/            training images, mostly normal (U)
    positive/             training images labeled anomalous (P)
    test/normal/          optional test images: normal
    test/anomaly/         optional test images: anomalous
    test/unseen.txt       optional: names (relative to test/anomaly/) of anomalies of kinds absent from P

Every file that is not hidden (name starting with ".") must be an image Pillow reads (PNG, JPEG, BMP,
TIFF, ...). A folder is colour (3 channels) if any of its images is stored in colour, otherwise
grayscale; every image is resized (bilinear) to image_size × image_size, non-square ones stretched.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from angular_dino.data.pu_split import NORMAL, SEEN, UNSEEN
from angular_dino.errors import UserError

GRAY_MODES = ("1", "L", "LA", "I", "F", "I;16", "I;16L", "I;16B", "I;16N")
UNSEEN_LIST = "unseen.txt"


def list_images(directory: Path, what: str) -> list[Path]:
    """Every non-hidden file below `directory`, sorted; a missing or empty folder is an error."""
    if not directory.is_dir():
        raise UserError(f"{what} folder {directory} does not exist; create it and put images in it")
    files = sorted(p for p in directory.rglob("*")
                   if p.is_file() and not any(part.startswith(".") for part in p.relative_to(directory).parts))
    if not files:
        raise UserError(f"{what} folder {directory} holds no image files")
    return files


def _channels_of(path: Path) -> int | None:
    """1 or 3 from the file header only (no decoding); None when Pillow cannot open it."""
    try:
        with Image.open(path) as image:
            return 1 if image.mode in GRAY_MODES else 3
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def folder_channels(paths: list[Path]) -> int:
    """3 if any image is stored in colour, else 1."""
    return 3 if any(_channels_of(p) == 3 for p in paths) else 1


def _decode(path: Path, size: int, channels: int) -> np.ndarray:
    """One image as uint8 H×W×C at size×size."""
    with Image.open(path) as image:
        if image.mode.startswith("I;16") and channels == 1:  # 16-bit: scale to 8 bits, not clip
            image = Image.fromarray((np.asarray(image, dtype=np.float64) / 257).round().astype(np.uint8))
        image = image.convert("L" if channels == 1 else "RGB")
        if image.size != (size, size):
            image = image.resize((size, size), Image.BILINEAR)
        return np.asarray(image).reshape(size, size, channels)


def read_images(paths: list[Path], size: int, channels: int, skip_unreadable: bool = False) -> tuple[torch.Tensor, list[Path]]:
    """uint8 N×C×size×size of the readable `paths`, and those paths.

    An unreadable or non-image file stops with an error naming it, or, with `skip_unreadable`, is left
    out with a warning on stderr.
    """
    arrays, kept = [], []
    for path in paths:
        try:
            arrays.append(_decode(path, size, channels))
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if not skip_unreadable:
                raise UserError(f"{path} is not a readable image ({reason}); remove it, or set "
                                "skip_unreadable: true to skip such files with a warning") from None
            print(f"warning: skipped {path}: not a readable image ({reason})", file=sys.stderr)
            continue
        kept.append(path)
    if not arrays:
        return torch.zeros((0, channels, size, size), dtype=torch.uint8), kept
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous(), kept


@dataclass(frozen=True)
class FolderLayout:
    """The image files of a folder data set, found and checked before any is decoded."""

    unlabeled: list[Path]
    positive: list[Path]
    test_normal: list[Path] = field(default_factory=list)
    test_anomaly: list[Path] = field(default_factory=list)
    unseen: frozenset[Path] = frozenset()  # the test anomalies of unseen kinds

    @property
    def all_paths(self) -> list[Path]:
        return self.unlabeled + self.positive + self.test_normal + self.test_anomaly


def _unseen_list(anomaly_dir: Path, anomalies: list[Path]) -> frozenset[Path]:
    listing = anomaly_dir.parent / UNSEEN_LIST
    if not listing.is_file():
        return frozenset()
    names = [line.strip() for line in listing.read_text().splitlines() if line.strip() and not line.startswith("#")]
    known = set(anomalies)
    unknown = [n for n in names if anomaly_dir / n not in known]
    if unknown:
        raise UserError(f"{listing} names files that are not in {anomaly_dir}: {', '.join(unknown[:5])}; "
                        "list paths relative to test/anomaly/, one per line")
    return frozenset(anomaly_dir / n for n in names)


def find_test_part(test_dir: Path) -> tuple[list[Path], list[Path], frozenset[Path]]:
    """(normal, anomaly, unseen anomalies) of a `normal/` + `anomaly/` (+ `unseen.txt`) test folder."""
    parts = [test_dir / "normal", test_dir / "anomaly"]
    if not all(p.is_dir() for p in parts):
        missing = " and ".join(p.name + "/" for p in parts if not p.is_dir())
        raise UserError(f"test folder {test_dir} lacks {missing}; a test folder needs both normal/ and anomaly/")
    normal = list_images(parts[0], "test normal")
    anomaly = list_images(parts[1], "test anomaly")
    return normal, anomaly, _unseen_list(parts[1], anomaly)


def find_layout(data_dir: str | Path) -> FolderLayout:
    root = Path(data_dir)
    if not root.is_dir():
        raise UserError(f"data_dir {root} does not exist or is not a folder; it must hold unlabeled/ and positive/")
    unlabeled = list_images(root / "unlabeled", "unlabeled")
    positive = list_images(root / "positive", "positive")
    if not (root / "test").exists():
        return FolderLayout(unlabeled, positive)
    return FolderLayout(unlabeled, positive, *find_test_part(root / "test"))


def test_image_kinds(normal: list[Path], anomaly: list[Path], unseen: frozenset[Path]) -> torch.Tensor:
    """NORMAL for normal images, then SEEN or UNSEEN for each anomaly (UNSEEN when listed in unseen.txt)."""
    return torch.tensor([NORMAL] * len(normal) + [UNSEEN if p in unseen else SEEN for p in anomaly],
                        dtype=torch.long)


def read_unlabeled_sample(data_dir: str | Path, size: int, limit: int, skip_unreadable: bool) -> torch.Tensor:
    """Grayscale uint8 images of at most `limit` of the unlabeled files, evenly spaced in path order (all of them
    when there are fewer), at size × size: enough to tell what kind of images a folder holds."""
    paths = find_layout(data_dir).unlabeled
    positions = np.unique(np.linspace(0, len(paths) - 1, min(len(paths), limit)).round().astype(int))
    return read_images([paths[i] for i in positions], size, 1, skip_unreadable)[0]


def folder_image_shape(data_dir: str | Path) -> tuple[int, int]:
    """(the larger side of the first readable unlabeled image, the folder's channels), from image headers only."""
    layout = find_layout(data_dir)
    for path in layout.unlabeled:
        try:
            with Image.open(path) as image:
                side = max(image.size)
            break
        except (OSError, ValueError, Image.DecompressionBombError):
            continue
    else:
        raise UserError(f"no readable image in {Path(data_dir) / 'unlabeled'}")
    return side, folder_channels(layout.all_paths)
