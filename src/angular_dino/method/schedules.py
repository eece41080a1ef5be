"""Per-iteration schedules as arrays (as in DINO's utils): index them with the global iteration.

Schedule points are given as fractions of training, so a short run keeps the original shape.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from angular_dino.config import Config


def cosine_schedule(start: float, end: float, total: int, warmup: int = 0, warmup_start: float = 0.0) -> np.ndarray:
    """Linear warm-up from `warmup_start` to `start` over `warmup` steps, then cosine from `start` to `end`."""
    warmup = min(warmup, total)
    ramp = np.linspace(warmup_start, start, warmup, endpoint=False)
    steps = np.arange(total - warmup)
    decay = end + 0.5 * (start - end) * (1 + np.cos(np.pi * steps / max(len(steps), 1)))
    return np.concatenate([ramp, decay])


def cosine_ramp(end: float, total: int, reach: int) -> np.ndarray:
    """0 rising on a half cosine to `end` at step `reach`, then constant."""
    steps = np.arange(total)
    if reach <= 0:
        return np.full(total, end, dtype=float)
    return np.where(steps < reach, end * 0.5 * (1 - np.cos(np.pi * steps / reach)), end)


def warmup_then_constant(start: float, end: float, total: int, warmup: int) -> np.ndarray:
    """Linear from `start` to `end` over `warmup` steps, then `end`."""
    warmup = min(warmup, total)
    return np.concatenate([np.linspace(start, end, warmup, endpoint=False), np.full(total - warmup, end)])


def margin_start_epoch(config: Config) -> int:
    """First epoch with margins; never epoch 0, because margins need prototypes identified after an epoch."""
    return max(1, round(config.margin_start_fraction * config.epochs))


@dataclass(frozen=True)
class Schedules:
    lr: np.ndarray
    weight_decay: np.ndarray
    momentum: np.ndarray
    teacher_temp: np.ndarray
    lambda_: np.ndarray
    margin: np.ndarray
    freeze_iters: int

    def at(self, step: int) -> dict[str, float]:
        """Every scheduled value at one global iteration (for logging)."""
        return {"lr": float(self.lr[step]), "weight_decay": float(self.weight_decay[step]),
                "momentum": float(self.momentum[step]), "teacher_temp": float(self.teacher_temp[step]),
                "lambda": float(self.lambda_[step]), "margin": float(self.margin[step])}


def build_schedules(config: Config, iters_per_epoch: int, world_size: int = 1) -> Schedules:
    total = config.epochs * iters_per_epoch

    def at(fraction: float) -> int:
        return int(round(fraction * total))

    peak_lr = config.lr * config.batch_size * world_size / 256
    margin = np.where(np.arange(total) >= margin_start_epoch(config) * iters_per_epoch, config.margin, 0.0)
    return Schedules(
        lr=cosine_schedule(peak_lr, config.min_lr, total, warmup=at(config.warmup_fraction)),
        weight_decay=cosine_schedule(config.weight_decay, config.weight_decay_end, total),
        momentum=cosine_schedule(config.momentum_teacher, 1.0, total),
        teacher_temp=warmup_then_constant(config.warmup_teacher_temp, config.teacher_temp, total,
                                          at(config.teacher_temp_warmup_fraction)),
        lambda_=cosine_ramp(config.lambda_end, total, at(config.lambda_converge_fraction)),
        margin=margin,
        freeze_iters=at(config.freeze_last_layer_fraction),
    )
