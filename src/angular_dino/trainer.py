"""The AngularDINO training engine: student, EMA teacher, losses, schedules and prototype identification.

It knows nothing of files: it takes U and P images as tensors, trains epoch by epoch, and exposes
its full state for checkpoints. `train.py` (command line) and the Python API drive it.
"""
from __future__ import annotations

import copy
from contextlib import nullcontext
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from angular_dino.config import Config
from angular_dino.data.views import MultiCropViews, ViewSettings
from angular_dino.errors import UserError
from angular_dino.losses import (TeacherCentre, additive_angular_margin, dino_cross_entropy, pu_sample_weights,
                                 subtractive_angular_margin)
from angular_dino.model.network import AngularDINONet
from angular_dino.prototypes import IdentifiedPrototypes, anomaly_score, identify_prototypes, margin_targets
from angular_dino.schedules import build_schedules

CHECKPOINT_FORMAT = "angular_dino.checkpoint/1"


class TrainingDiverged(UserError):
    """The loss became NaN or infinite."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device: cuda was requested but no CUDA GPU is available; use device: auto or cpu")
    return torch.device(name)


def seeds_for(seed: int, count: int) -> list[int]:
    """Independent seeds for the separate random streams of one run."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(count)]


def parameter_groups(model: nn.Module) -> list[dict[str, Any]]:
    """Weight decay on weights only; not on biases and normalisation parameters (as DINO)."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (no_decay if name.endswith(".bias") or param.ndim == 1 else decay).append(param)
    return [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}]


class Trainer:
    def __init__(self, config: Config, train_images: torch.Tensor, train_is_positive: torch.Tensor,
                 views: ViewSettings, device: torch.device) -> None:
        if len(train_images) < config.batch_size:
            raise UserError(f"batch_size {config.batch_size} exceeds the {len(train_images)} training images; "
                            "lower batch_size")
        if not train_is_positive.any() or train_is_positive.all():
            raise UserError("training needs both unlabeled and positive images")
        self.config = config
        self.device = device
        init_seed, sampler_seed, view_seed = seeds_for(config.seed, 3)
        torch.manual_seed(init_seed)
        self.images = train_images.to(device)
        self.is_positive = train_is_positive.to(device)
        self.sample_weights = pu_sample_weights(self.is_positive)
        self.sampler_generator = torch.Generator().manual_seed(sampler_seed)
        self.views = MultiCropViews(views, torch.Generator().manual_seed(view_seed))

        self.student = AngularDINONet(config.arch, train_images.shape[1], config.emb_dim, config.head_hidden_dim,
                                      config.out_dim, config.prototype_num).to(device, memory_format=torch.channels_last)
        self.teacher = copy.deepcopy(self.student).requires_grad_(False)
        self.optimizer = torch.optim.AdamW(parameter_groups(self.student))
        self.dino_centre = TeacherCentre(config.out_dim, config.center_momentum, device)
        self.prototype_centre = TeacherCentre(config.prototype_num, config.center_momentum, device)
        self.iters_per_epoch = len(train_images) // config.batch_size
        self.schedules = build_schedules(config, self.iters_per_epoch)
        self.epoch = 0
        self.prototypes: IdentifiedPrototypes | None = None

    # --- one epoch -------------------------------------------------------------------------------
    def _epoch_batches(self) -> torch.Tensor:
        """Indices of this epoch's batches: weighted sampling with replacement (METHOD §6) or a shuffle."""
        n, size = len(self.images), self.config.batch_size
        if self.config.use_sampler:
            drawn = torch.multinomial(self.sample_weights.cpu(), self.iters_per_epoch * size, replacement=True,
                                      generator=self.sampler_generator)
        else:
            drawn = torch.randperm(n, generator=self.sampler_generator)[: self.iters_per_epoch * size]
        return drawn.view(self.iters_per_epoch, size).to(self.device)

    def _autocast(self):
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    def _losses(self, batch: torch.Tensor, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """L_DINO and L_ANG of one batch, plus the raw teacher outputs for the centre updates."""
        c, s = self.config, self.schedules
        views = self.views(self.images[batch])
        with self._autocast():
            with torch.no_grad():
                teacher_logits, teacher_cos = self.teacher.forward_views(views[:2])
            student_logits, student_cos = self.student.forward_views(views)
        teacher_cos, student_cos = teacher_cos.float(), student_cos.float()
        teacher_target_cos = teacher_cos
        margin = float(s.margin[step])
        if margin > 0 and self.prototypes is not None:
            target = margin_targets(self.is_positive[batch], self.prototypes, c.prototype_num)
            if c.margin_type in ("teacher", "both"):
                teacher_target_cos = subtractive_angular_margin(teacher_cos, target, margin)
            if c.margin_type in ("student", "both"):
                student_cos = additive_angular_margin(student_cos, target, margin)
        weights = self.sample_weights[batch] if c.use_weight else None
        loss_dino = dino_cross_entropy(student_logits / c.student_temp,
                                       self.dino_centre.sharpen(teacher_logits, float(s.teacher_temp[step])), weights)
        loss_ang = dino_cross_entropy(student_cos / c.prototype_student_temp,
                                      self.prototype_centre.sharpen(teacher_target_cos, c.emb_teacher_temp), weights)
        return loss_dino, loss_ang, teacher_logits, teacher_cos

    def _set_schedule(self, step: int) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = float(self.schedules.lr[step])
            if group["weight_decay"] != 0.0:
                group["weight_decay"] = float(self.schedules.weight_decay[step])

    @torch.no_grad()
    def _update_teacher(self, momentum: float) -> None:
        student, teacher = list(self.student.parameters()), list(self.teacher.parameters())
        torch._foreach_mul_(teacher, momentum)
        torch._foreach_add_(teacher, student, alpha=1 - momentum)

    def train_epoch(self, on_step: Callable[[float], None] | None = None) -> dict[str, float]:
        """One epoch, then prototype identification; returns mean losses and the last schedule values."""
        c = self.config
        self.student.train()
        self.teacher.train()
        totals = torch.zeros(3, dtype=torch.float64)
        for iteration, batch in enumerate(self._epoch_batches()):
            step = self.epoch * self.iters_per_epoch + iteration
            self._set_schedule(step)
            loss_dino, loss_ang, teacher_logits, teacher_cos = self._losses(batch, step)
            loss = loss_dino + float(self.schedules.lambda_[step]) * loss_ang
            values = torch.stack([loss, loss_dino, loss_ang]).detach().double().cpu()  # one device sync
            if not torch.isfinite(values).all():
                raise TrainingDiverged(f"the loss became {values[0].item()} at epoch {self.epoch + 1}, iteration "
                                       f"{iteration + 1}; the last checkpoint is kept. Lower lr or raise clip_grad.")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if c.clip_grad > 0:
                nn.utils.clip_grad_norm_(self.student.parameters(), c.clip_grad)
            if step < self.schedules.freeze_iters:
                for param in self.student.frozen_early_parameters():
                    param.grad = None
            self.optimizer.step()
            self._update_teacher(float(self.schedules.momentum[step]))
            self.dino_centre.update(teacher_logits)
            self.prototype_centre.update(teacher_cos)
            totals += values
            if on_step:
                on_step(values[0].item())
        means = (totals / self.iters_per_epoch).tolist()
        last = (self.epoch + 1) * self.iters_per_epoch - 1
        self.epoch += 1
        self.identify()
        return {"loss": means[0], "loss_dino": means[1], "loss_ang": means[2], **self.schedules.at(last)}

    # --- prototypes and scores -------------------------------------------------------------------
    @torch.no_grad()
    def cosines(self, images: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
        """Teacher prototype cosines (N, K) of clean images, in evaluation mode."""
        self.teacher.eval()
        out = []
        for start in range(0, len(images), batch_size):
            clean = self.views.clean(images[start:start + batch_size].to(self.device))
            with self._autocast():
                out.append(self.teacher(clean)[1].float().cpu())
        self.teacher.train()
        return torch.cat(out) if out else torch.zeros(0, self.config.prototype_num)

    def identify(self) -> IdentifiedPrototypes:
        """Identify normal and anomaly prototypes from the clean training images (METHOD §7)."""
        self.prototypes = identify_prototypes(self.cosines(self.images), self.is_positive.cpu(),
                                              self.config.identify_top_k, self.config.pt_num)
        return self.prototypes

    def scores(self, images: torch.Tensor) -> torch.Tensor:
        if self.prototypes is None:
            raise RuntimeError("prototypes are identified after the first epoch")
        return anomaly_score(self.cosines(images), self.prototypes)

    # --- checkpoints -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "epoch": self.epoch,
            "student": self.student.state_dict(),
            "teacher": self.teacher.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "dino_centre": self.dino_centre.value,
            "prototype_centre": self.prototype_centre.value,
            "sampler_rng": self.sampler_generator.get_state(),
            "view_rng": self.views.generator.get_state(),
            "prototypes": None if self.prototypes is None else self.prototypes.to_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch = state["epoch"]
        self.student.load_state_dict(state["student"])
        self.teacher.load_state_dict(state["teacher"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.dino_centre.value = state["dino_centre"].to(self.device)
        self.prototype_centre.value = state["prototype_centre"].to(self.device)
        self.sampler_generator.set_state(state["sampler_rng"])
        self.views.generator.set_state(state["view_rng"])
        found = state["prototypes"]
        self.prototypes = None if found is None else IdentifiedPrototypes(tuple(found["normal"]), tuple(found["anomaly"]))
