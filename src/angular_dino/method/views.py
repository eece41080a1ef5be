"""Batched multi-crop augmentation on tensors (METHOD §4): 2 global crops + `n_local` local crops.

Every operation acts on a whole batch at once (one `grid_sample` for all crops of a kind, per-sample
random parameters as tensors); no per-image Python work. Random numbers come from one
`torch.Generator` so a run is reproducible and its state can be checkpointed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from angular_dino.config import Config
from angular_dino.data.images import grayscale


@dataclass(frozen=True)
class ViewSettings:
    recipe: str  # "digits", "clothing" or "natural"
    global_size: int
    local_size: int
    n_local: int
    global_scale: tuple[float, float]
    local_scale: tuple[float, float]
    mean: tuple[float, ...]
    std: tuple[float, ...]


def views_for(config: Config, mean: tuple[float, ...], std: tuple[float, ...]) -> ViewSettings:
    """The multi-crop settings of `config` with the given normalisation statistics."""
    return ViewSettings(recipe=config.augmentation, global_size=config.image_size,
                        local_size=config.local_crop_size, n_local=config.local_crops_number,
                        global_scale=config.global_crops_scale, local_scale=config.local_crops_scale,
                        mean=mean, std=std)


def normalise(images: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """Float images in [0, 1] standardised per channel (the views, and the teacher's clean images)."""
    return (images - images.new_tensor(mean).view(1, -1, 1, 1)) / images.new_tensor(std).view(1, -1, 1, 1)


def _uniform(generator: torch.Generator, n: int, low: float, high: float) -> torch.Tensor:
    return torch.rand(n, generator=generator) * (high - low) + low


def _chance(generator: torch.Generator, n: int, p: float) -> torch.Tensor:
    return torch.rand(n, generator=generator) < p


def crop_matrices(generator: torch.Generator, n: int, scale: tuple[float, float], max_rotation_deg: float,
                  flip: bool) -> torch.Tensor:
    """Affine matrices (n×2×3) of random resized crops: area in `scale`, aspect 3/4..4/3, rotation, flip."""
    area = _uniform(generator, n, *scale)
    log_ratio = _uniform(generator, n, math.log(3 / 4), math.log(4 / 3))
    width = (area * log_ratio.exp()).sqrt().clamp(max=1.0)
    height = (area / log_ratio.exp()).sqrt().clamp(max=1.0)
    centre_x = _uniform(generator, n, -1.0, 1.0) * (1 - width)
    centre_y = _uniform(generator, n, -1.0, 1.0) * (1 - height)
    angle = _uniform(generator, n, -1.0, 1.0) * math.radians(max_rotation_deg)
    mirror = torch.where(_chance(generator, n, 0.5), -1.0, 1.0) if flip else torch.ones(n)
    cos, sin = angle.cos(), angle.sin()
    return torch.stack([
        torch.stack([width * cos * mirror, -height * sin, centre_x], dim=1),
        torch.stack([width * sin * mirror, height * cos, centre_y], dim=1),
    ], dim=1)


def apply_crops(images: torch.Tensor, matrices: torch.Tensor, size: int) -> torch.Tensor:
    """Sample every image through its affine matrix into a size×size crop (zeros outside)."""
    grid = F.affine_grid(matrices.to(images.device, images.dtype), [images.shape[0], images.shape[1], size, size],
                         align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _per_sample(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return values.to(like.device, like.dtype).view(-1, 1, 1, 1)


def jitter(images: torch.Tensor, generator: torch.Generator, p: float, brightness: float, contrast: float,
           saturation: float = 0.0) -> torch.Tensor:
    """Brightness, contrast (and saturation for colour) jitter applied to a random `p` share of the batch."""
    n = images.shape[0]
    apply = _per_sample(_chance(generator, n, p).float(), images)

    def factor(strength: float) -> torch.Tensor:
        return _per_sample(_uniform(generator, n, 1 - strength, 1 + strength), images)

    out = images * factor(brightness)
    mean = grayscale(out).mean(dim=(1, 2, 3), keepdim=True)
    out = (out - mean) * factor(contrast) + mean
    if saturation and images.shape[1] == 3:
        gray = grayscale(out)
        out = (out - gray) * factor(saturation) + gray
    return (apply * out + (1 - apply) * images).clamp(0, 1)


def random_grayscale(images: torch.Tensor, generator: torch.Generator, p: float) -> torch.Tensor:
    apply = _per_sample(_chance(generator, images.shape[0], p).float(), images)
    return apply * grayscale(images).expand_as(images) + (1 - apply) * images


def dilate(images: torch.Tensor, generator: torch.Generator, p: float) -> torch.Tensor:
    """Thicken strokes (3×3 max filter) on a random `p` share of the batch."""
    apply = _per_sample(_chance(generator, images.shape[0], p).float(), images)
    return apply * F.max_pool2d(images, 3, stride=1, padding=1) + (1 - apply) * images


def gaussian_blur(images: torch.Tensor, generator: torch.Generator, p: float, sigma: tuple[float, float]) -> torch.Tensor:
    """Separable Gaussian blur with a random sigma per image, on a random `p` share of the batch."""
    n, c, h, w = images.shape
    radius = max(1, math.ceil(2 * sigma[1]))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    sigmas = _uniform(generator, n, *sigma)
    apply = _chance(generator, n, p)
    kernel = torch.exp(-offsets[None] ** 2 / (2 * sigmas[:, None] ** 2))
    kernel = kernel / kernel.sum(dim=1, keepdim=True)
    identity = (offsets == 0).float().expand(n, -1)
    kernel = torch.where(apply[:, None], kernel, identity).repeat_interleave(c, dim=0).to(images)
    flat = images.reshape(1, n * c, h, w)
    flat = F.conv2d(F.pad(flat, (radius, radius, 0, 0), mode="reflect"), kernel.view(n * c, 1, 1, -1), groups=n * c)
    flat = F.conv2d(F.pad(flat, (0, 0, radius, radius), mode="reflect"), kernel.view(n * c, 1, -1, 1), groups=n * c)
    return flat.view(n, c, h, w)


def solarize(images: torch.Tensor, generator: torch.Generator, p: float) -> torch.Tensor:
    apply = _per_sample(_chance(generator, images.shape[0], p).float(), images)
    return apply * torch.where(images < 0.5, images, 1 - images) + (1 - apply) * images


class MultiCropViews:
    """Turns a uint8 batch into the normalised global and local crops of METHOD §4."""

    def __init__(self, settings: ViewSettings, generator: torch.Generator) -> None:
        self.settings = settings
        self.generator = generator

    def _crops(self, images: torch.Tensor, copies: int, scale: tuple[float, float], size: int) -> torch.Tensor:
        s = self.settings
        batch = images.repeat(copies, 1, 1, 1)
        rotation = 15.0 if s.recipe == "digits" else 0.0
        matrices = crop_matrices(self.generator, batch.shape[0], scale, rotation, flip=s.recipe == "natural")
        return apply_crops(batch, matrices, size)

    def _photometric(self, crops: torch.Tensor, blur_p: float, solarize_p: float) -> torch.Tensor:
        g, recipe = self.generator, self.settings.recipe
        if recipe == "digits":
            return dilate(crops, g, p=0.2)
        if recipe == "clothing":
            return jitter(crops, g, p=0.8, brightness=0.4, contrast=0.4)
        crops = jitter(crops, g, p=0.8, brightness=0.4, contrast=0.4, saturation=0.2)
        crops = random_grayscale(crops, g, p=0.2)
        crops = gaussian_blur(crops, g, p=blur_p, sigma=(0.1, 1.0))
        return solarize(crops, g, p=solarize_p)

    def __call__(self, images: torch.Tensor) -> list[torch.Tensor]:
        """[global_1, global_2, local_1, ..., local_n], each B×C×size×size, normalised."""
        s = self.settings
        n = images.shape[0]
        floats = images.float() / 255
        globals_ = self._crops(floats, 2, s.global_scale, s.global_size)
        # DINO's asymmetric recipe: the first global crop is always blurred, the second sometimes + solarised
        first = self._photometric(globals_[:n], blur_p=1.0, solarize_p=0.0)
        second = self._photometric(globals_[n:], blur_p=0.1, solarize_p=0.2)
        views = [normalise(first, s.mean, s.std), normalise(second, s.mean, s.std)]
        if s.n_local:
            locals_ = self._photometric(self._crops(floats, s.n_local, s.local_scale, s.local_size),
                                        blur_p=0.5, solarize_p=0.0)
            views.extend(normalise(locals_, s.mean, s.std).chunk(s.n_local))
        return views
