"""Images as the package holds them (uint8 N×C×H×W tensors, C = 1 or 3): conversion from what users pass, PU
labels, resizing, channel conversion and per-channel statistics."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from angular_dino.errors import UserError

# ITU-R BT.601 luma weights, held in float32 (every grayscale conversion of the package uses this one copy).
GRAY_WEIGHTS = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float32)


def as_images(X: Any) -> torch.Tensor:
    """Images as uint8 N×C×H×W. Accepts N×H×W, N×C×H×W or N×H×W×C (C = 1 or 3), uint8 or float.

    Floats with a maximum of at most 1 are read as [0, 1] intensities, others as [0, 255].
    """
    try:
        images = torch.as_tensor(np.asarray(X) if not isinstance(X, torch.Tensor) else X).detach().cpu()
    except (TypeError, ValueError, RuntimeError) as exc:
        raise UserError(f"images must be an array or tensor of numbers: {exc}") from None
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4 or len(images) == 0:
        raise UserError(f"images must have shape N×H×W or N×C×H×W with N ≥ 1, got {tuple(images.shape)}")
    if images.shape[1] not in (1, 3) and images.shape[-1] in (1, 3):
        images = images.permute(0, 3, 1, 2)
    if images.shape[1] not in (1, 3):
        raise UserError(f"images must have 1 (grayscale) or 3 (colour) channels, got shape {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        return images.contiguous()
    if images.dtype == torch.bool or images.is_complex():
        raise UserError(f"images must hold real numbers, got {images.dtype}")
    images = images.double()
    if not torch.isfinite(images).all():
        raise UserError("images contain NaN or infinite values")
    low, high = float(images.min()), float(images.max())
    if low < 0 or high > 255:
        raise UserError(f"image values must lie in [0, 1] or [0, 255], found [{low:g}, {high:g}]")
    scale = 255.0 if high <= 1.0 else 1.0
    return (images * scale).round().to(torch.uint8).contiguous()


def as_pu_labels(y: Any, n: int, *, both_kinds: bool = True) -> torch.Tensor:
    """PU labels as a bool tensor (True = labeled anomaly); with `both_kinds`, each kind must be present."""
    labels = torch.as_tensor(np.asarray(y)).reshape(-1)
    if labels.dtype == torch.bool:  # torch.isin has no bool kernel
        labels = labels.long()
    if len(labels) != n:
        raise UserError(f"y has {len(labels)} labels for {n} images")
    if not torch.isin(labels, torch.tensor([0, 1], dtype=labels.dtype)).all():
        raise UserError("y must hold 1 for labeled anomalies and 0 for unlabeled images, nothing else")
    is_positive = labels.bool()
    if both_kinds and (not is_positive.any() or is_positive.all()):
        raise UserError("y needs both unlabeled (0) and labeled anomalous (1) images")
    return is_positive


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
