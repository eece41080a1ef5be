"""Images as the package holds them (uint8 N×C×H×W tensors, C = 1 or 3): conversion from what users pass, PU
labels, resizing, channel conversion and per-channel statistics."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse
import torch
import torch.nn.functional as F
from sklearn.utils import check_array

from angular_dino.errors import InputError

# ITU-R BT.601 luma weights, held in float32 (every grayscale conversion of the package uses this one copy).
GRAY_WEIGHTS = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float32)


def as_images(X: Any, value_range: tuple[float, float] | None = None,
              image_shape: tuple[int, ...] | None = None) -> torch.Tensor:
    """Images as uint8 N×C×H×W. Accepts N×H×W, N×C×H×W or N×H×W×C (C = 1 or 3), or flat N×D rows: D = H·W or
    C·H·W given as `image_shape` ((H, W) or (C, H, W)), else a perfect square D = S·S (grayscale S×S).

    uint8 is read as bytes. Other numbers are mapped from `value_range` (low, high) to 0..255; without one the
    scale is detected (`detected_range`), and values on neither the [0, 1] nor the [0, 255] scale are an error.
    """
    if scipy.sparse.issparse(X):
        raise InputError("sparse matrices are not supported as images; pass a dense array (X.toarray())")
    if not isinstance(X, torch.Tensor):
        X = np.asarray(X)
        if X.ndim == 2:
            X = _checked_rows(X)
        if not X.flags.writeable or min(X.strides, default=0) < 0:  # a read-only memory map, X[::-1]: torch would
            X = X.copy()  # share (and warn about) the one and refuse the other
    try:
        images = torch.as_tensor(X).detach().cpu()
    except (TypeError, ValueError, RuntimeError) as exc:
        raise InputError(f"images must be an array or tensor of numbers: {exc}") from None
    if images.ndim == 2 or image_shape is not None:
        images = _unflattened(images, image_shape)
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4 or len(images) == 0:
        raise InputError(f"images must have shape N×H×W, N×C×H×W or N×D (flat) with N ≥ 1, got {tuple(images.shape)}")
    if images.shape[1] not in (1, 3) and images.shape[-1] in (1, 3):
        images = images.permute(0, 3, 1, 2)
    if images.shape[1] not in (1, 3):
        raise InputError(f"images must have 1 (grayscale) or 3 (colour) channels, got shape {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        return images.contiguous()
    if images.dtype == torch.bool or images.is_complex():
        raise InputError(f"images must hold real numbers, got {images.dtype}")
    images = images.double()
    if not torch.isfinite(images).all():
        raise InputError("images contain NaN or infinite values")
    low, high = value_range if value_range is not None else detected_range(images)
    if not low < high:
        raise InputError(f"value_range must be (low, high) with low < high, got {tuple(value_range or ())}")
    found = float(images.min()), float(images.max())
    if found[0] < low or found[1] > high:
        raise InputError(f"image values lie in [{found[0]:g}, {found[1]:g}], outside value_range ({low:g}, {high:g})")
    return ((images - low) * (255.0 / (high - low))).round().to(torch.uint8).contiguous()


def detected_range(images: torch.Tensor) -> tuple[float, float]:
    """(0, 1) when every value lies in [0, 1]; (0, 255) when they lie in [0, 255] and reach above 127 somewhere (a
    set of images on the byte scale with nothing brighter than half is too rare to assume); else a `InputError`.
    So scikit-learn's digits (0..16) are not silently read as nearly black bytes."""
    low, high = float(images.min()), float(images.max())
    if low < 0:
        raise InputError(f"Negative values in data passed as images (they lie in [{low:g}, {high:g}]); pass "
                         "value_range=(low, high) with the scale of your data, or images in [0, 1] or [0, 255]")
    if high <= 1:
        return 0.0, 1.0
    if 127 < high <= 255:
        return 0.0, 255.0
    raise InputError(f"image values lie in [{low:g}, {high:g}], on neither the [0, 1] nor the [0, 255] scale; "
                     f"pass value_range=(low, high) with the scale of your data (e.g. (0, 16) for scikit-learn's "
                     f"digits), or uint8 images")


def _checked_rows(X: np.ndarray) -> np.ndarray:
    """Flat rows checked as scikit-learn checks a feature matrix (numbers, finite, not empty), with its messages:
    a Pipeline's earlier steps hand over such matrices."""
    try:
        return check_array(X, dtype="numeric")
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _unflattened(images: torch.Tensor, image_shape: tuple[int, ...] | None) -> torch.Tensor:
    """Rows of D values (or images of any layout, with `image_shape`) as N×H×W or N×C×H×W images; with no
    `image_shape`, D must be a perfect square."""
    n, width = images.shape[0], int(np.prod(images.shape[1:]))
    if image_shape is None:
        side = math.isqrt(width)
        if side * side != width:
            raise InputError(f"flat images of {width} values per row are not square; pass image_shape=(H, W) or "
                             "(C, H, W), or give N×H×W arrays")
        image_shape = (side, side)
    if len(image_shape) not in (2, 3) or int(np.prod(image_shape)) != width:
        raise InputError(f"image_shape {tuple(image_shape)} does not hold the {width} values of each image "
                         f"(shape {tuple(images.shape)})")
    return images.reshape(n, *image_shape)


def as_pu_labels(y: Any, n: int) -> torch.Tensor:
    """PU labels as a bool tensor (True = labeled anomaly); `y = None` means every image is unlabeled."""
    if y is None:
        return torch.zeros(n, dtype=torch.bool)
    labels = torch.as_tensor(np.asarray(y)).reshape(-1)
    if labels.dtype == torch.bool:  # torch.isin has no bool kernel
        labels = labels.long()
    if len(labels) != n:
        raise InputError(f"y has {len(labels)} labels for {n} images")
    if not torch.isin(labels, torch.tensor([0, 1], dtype=labels.dtype)).all():
        raise InputError("y must hold 1 for labeled anomalies and 0 for unlabeled images, nothing else")
    return labels.bool()


def grayscale(images: torch.Tensor) -> torch.Tensor:
    """The luma channel (N×1×H×W) of float N×3×H×W images; grayscale images are returned as they are."""
    if images.shape[1] == 1:
        return images
    return (images * GRAY_WEIGHTS.to(images).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)


def with_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """uint8 images with `channels` channels: grayscale repeated to colour, or colour reduced to its (rounded) luma."""
    if images.shape[1] == channels:
        return images
    if channels == 3:
        return images.expand(-1, 3, -1, -1)
    return grayscale(images.double()).round().to(torch.uint8)


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
