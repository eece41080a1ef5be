"""The AngularDINO training engine: student, EMA teacher, losses, schedules and prototype identification.

It knows nothing of files: it takes U and P images as tensors, trains epoch by epoch, and exposes
its full state for checkpoints. `epochs.EpochLoop` drives it for the detector's `fit`.
"""
from __future__ import annotations

import copy
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.profiler import record_function

from angular_dino.config import Config
from angular_dino.errors import TrainingDiverged, UserError
from angular_dino.method.losses import (TeacherCentre, additive_angular_margin, dino_cross_entropy, pu_sample_weights,
                                 subtractive_angular_margin)
from angular_dino.method.model.network import AngularDINONet
from angular_dino.method.prototypes import IdentifiedPrototypes, anomaly_score, identify_prototypes, margin_targets
from angular_dino.method.schedules import build_schedules
from angular_dino.method.teacher import teacher_outputs
from angular_dino.method.views import MultiCropViews, ViewSettings
from angular_dino.runtime.compute import MixedPrecision, resolve_precision, use_determinism
from angular_dino.runtime.distributed import Distributed, data_parallel, synchronise_batchnorm

CHECKPOINT_FORMAT = "angular_dino.checkpoint/2"


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
    """Student, teacher, optimiser and schedules, with a position (epoch, iteration) that checkpoints exactly.

    A checkpoint taken between any two iterations restores the run bit for bit (same device,
    deterministic mode): the sampler's state at the start of the current epoch (its batch order is
    drawn again from it), the augmentation generator, the epoch's running loss totals and all weights.
    """

    def __init__(self, config: Config, train_images: torch.Tensor, train_is_positive: torch.Tensor,
                 views: ViewSettings, device: torch.device, context: Distributed = Distributed()) -> None:
        global_batch = config.batch_size * context.world_size
        if len(train_images) < global_batch:
            raise UserError(f"batch_size {config.batch_size} x {context.world_size} process(es) exceeds the "
                            f"{len(train_images)} training images; lower batch_size")
        if train_is_positive.all():  # no P is training without labeled anomalies (prototypes.identify_prototypes)
            raise UserError("training needs unlabeled images")
        self.config = config
        self.device = device
        self.context = context
        self.deterministic = use_determinism(config.deterministic, device)
        self.amp = MixedPrecision(resolve_precision(config.precision, device), device)
        init_seed, sampler_seed, view_seed = seeds_for(config.seed, 3)
        torch.manual_seed(init_seed)
        self.images = train_images.to(device)
        self.is_positive = train_is_positive.to(device)
        self.sample_weights = pu_sample_weights(self.is_positive)
        self.epoch_sampler_state = torch.Generator().manual_seed(sampler_seed).get_state()
        self.views = MultiCropViews(views, torch.Generator().manual_seed(view_seed + context.rank))

        network = AngularDINONet(config.arch, train_images.shape[1], config.emb_dim, config.head_hidden_dim,
                                 config.out_dim, config.prototype_num, config.pretrained_weights)
        network = synchronise_batchnorm(network, context, device)
        memory_format = torch.channels_last if config.channels_last else torch.preserve_format
        self.student = network.to(device, memory_format=memory_format)
        self.teacher = copy.deepcopy(self.student).requires_grad_(False)
        if config.compile:
            self.student.backbone.compile()
            self.teacher.backbone.compile()
        self.student_views = data_parallel(self.student, context, device)
        self.optimizer = torch.optim.AdamW(parameter_groups(self.student))
        self.dino_centre = TeacherCentre(config.out_dim, config.center_momentum, device, reduce=context.mean)
        self.prototype_centre = TeacherCentre(config.prototype_num, config.center_momentum, device,
                                              reduce=context.mean)
        self.iters_per_epoch = len(train_images) // global_batch
        self.schedules = build_schedules(config, self.iters_per_epoch, context.world_size)
        self.epoch = 0
        self.iteration = 0  # iterations done in the current epoch
        self.epoch_totals = torch.zeros(3, dtype=torch.float64)  # summed losses of those iterations
        self.identified: IdentifiedPrototypes | None = None  # the normal and anomaly prototypes, after an epoch

    # --- one epoch -------------------------------------------------------------------------------
    def _epoch_batches(self) -> tuple[torch.Tensor, torch.Tensor]:
        """This rank's batch indices for the current epoch and the sampler state after drawing them.

        The global batches are drawn identically on every rank (weighted sampling with replacement,
        METHOD §6, or a shuffle) and split by rank: rank r takes the r-th slice of each global batch.
        """
        generator = torch.Generator()
        generator.set_state(self.epoch_sampler_state)
        world, size = self.context.world_size, self.config.batch_size
        count = self.iters_per_epoch * world * size
        if self.config.use_sampler:
            drawn = torch.multinomial(self.sample_weights.cpu(), count, replacement=True, generator=generator)
        else:
            drawn = torch.randperm(len(self.images), generator=generator)[:count]
        batches = drawn.view(self.iters_per_epoch, world, size)[:, self.context.rank]
        return batches.to(self.device), generator.get_state()

    def _losses(self, batch: torch.Tensor, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """L_DINO and L_ANG of one batch, plus the raw teacher outputs for the centre updates."""
        with record_function("views"):
            views = self.views(self.images[batch])
        with self.amp.autocast():
            with torch.no_grad(), record_function("teacher_forward"):
                teacher_logits, teacher_cos = self.teacher.forward_views(views[:2])
            with record_function("student_forward"):
                student_logits, student_cos = self.student_views(views)
        with record_function("losses"):
            return self._dino_and_angular_losses(batch, step, student_logits, student_cos, teacher_logits,
                                                 teacher_cos)

    def _dino_and_angular_losses(self, batch: torch.Tensor, step: int, student_logits: torch.Tensor,
                                 student_cos: torch.Tensor, teacher_logits: torch.Tensor, teacher_cos: torch.Tensor,
                                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """L_DINO and L_ANG from the two networks' outputs: centring, sharpening and the angular margins."""
        c, s = self.config, self.schedules
        teacher_cos, student_cos = teacher_cos.float(), student_cos.float()
        teacher_target_cos = teacher_cos
        margin = float(s.margin[step])
        if margin > 0 and self.identified is not None:
            target = margin_targets(self.is_positive[batch], self.identified, c.prototype_num)
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

    def _step(self, batch: torch.Tensor, step: int) -> torch.Tensor:
        """One optimisation step; returns (loss, L_DINO, L_ANG) averaged over ranks, on the CPU."""
        c = self.config
        self._set_schedule(step)
        loss_dino, loss_ang, teacher_logits, teacher_cos = self._losses(batch, step)
        loss = loss_dino + float(self.schedules.lambda_[step]) * loss_ang
        values = self.context.mean(torch.stack([loss, loss_dino, loss_ang]).detach().double()).cpu()  # one sync
        if not torch.isfinite(values).all():
            raise TrainingDiverged(f"the loss became {values[0].item()} at epoch {self.epoch + 1}, iteration "
                                   f"{self.iteration + 1}; the last checkpoint is kept. Lower lr or raise clip_grad.")
        self.optimizer.zero_grad(set_to_none=True)
        with record_function("backward"):
            self.amp.backward(loss)
        with record_function("optimizer"):
            if c.clip_grad > 0:
                self.amp.unscale(self.optimizer)
                nn.utils.clip_grad_norm_(self.student.parameters(), c.clip_grad)
            if step < self.schedules.freeze_iters:
                for param in self.student.frozen_early_parameters():
                    param.grad = None
            self.amp.step(self.optimizer)
        with record_function("teacher_ema"):
            self._update_teacher(float(self.schedules.momentum[step]))
            self.dino_centre.update(teacher_logits)
            self.prototype_centre.update(teacher_cos)
        return values

    def train_epoch(self, on_step: Callable[[float], None] | None = None) -> dict[str, float]:
        """The rest of the current epoch, then prototype identification; returns mean losses and schedules.

        `on_step(loss)` runs after every iteration, when the trainer's state is a valid checkpoint.
        """
        self.student.train()
        self.teacher.train()
        batches, sampler_state_after = self._epoch_batches()
        for iteration in range(self.iteration, self.iters_per_epoch):
            values = self._step(batches[iteration], self.epoch * self.iters_per_epoch + iteration)
            self.epoch_totals += values
            self.iteration = iteration + 1
            if on_step:
                on_step(values[0].item())
        means = (self.epoch_totals / self.iters_per_epoch).tolist()
        last = (self.epoch + 1) * self.iters_per_epoch - 1
        self.epoch, self.iteration = self.epoch + 1, 0
        self.epoch_totals.zero_()
        self.epoch_sampler_state = sampler_state_after
        self.identify()
        return {"loss": means[0], "loss_dino": means[1], "loss_ang": means[2], **self.schedules.at(last)}

    # --- prototypes and scores -------------------------------------------------------------------
    def cosines(self, images: torch.Tensor) -> torch.Tensor:
        """Teacher prototype cosines (N, K) of clean uint8 images, as the fitted detector computes them."""
        settings = self.views.settings
        return teacher_outputs(self.teacher, images, settings.mean, settings.std, self.amp.precision)[1]

    def identify(self) -> IdentifiedPrototypes:
        """Identify normal and anomaly prototypes from the clean training images (METHOD §7).

        Every rank scores with rank 0's teacher statistics and adopts rank 0's identification, so the
        margin targets agree across ranks.
        """
        self.context.broadcast_buffers(self.teacher)
        found = identify_prototypes(self.cosines(self.images), self.is_positive.cpu(),
                                    self.config.identify_top_k, self.config.pt_num)
        self.identified = self.context.from_main(found)
        return self.identified

    def scores(self, images: torch.Tensor) -> torch.Tensor:
        """Anomaly scores of clean uint8 images with the current teacher and identified prototypes."""
        if self.identified is None:
            raise RuntimeError("prototypes are identified after the first epoch")
        return anomaly_score(self.cosines(images), self.identified)

    # --- checkpoints -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The full training state; under DDP every rank must call it (it gathers the ranks' RNG states)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "epoch": self.epoch,
            "iteration": self.iteration,
            "epoch_totals": self.epoch_totals.clone(),
            "world_size": self.context.world_size,
            "student": self.student.state_dict(),
            "teacher": self.teacher.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "grad_scaler": self.amp.state_dict(),
            "dino_centre": self.dino_centre.value.clone(),
            "prototype_centre": self.prototype_centre.value.clone(),
            "epoch_sampler_rng": self.epoch_sampler_state.clone(),
            "view_rng": self.context.gather(self.views.generator.get_state()),
            "prototypes": None if self.identified is None else self.identified.to_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a `state_dict`; raises KeyError, ValueError or RuntimeError when it does not fit this run."""
        if state["world_size"] != self.context.world_size:
            raise ValueError(f"it was written by {state['world_size']} process(es) and this run has "
                             f"{self.context.world_size}; resume with the same number of processes")
        self.student.load_state_dict(state["student"])
        self.teacher.load_state_dict(state["teacher"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.amp.load_state_dict(state["grad_scaler"])
        self.dino_centre.value.copy_(state["dino_centre"])
        self.prototype_centre.value.copy_(state["prototype_centre"])
        self.epoch_sampler_state = state["epoch_sampler_rng"]
        self.views.generator.set_state(state["view_rng"][self.context.rank])
        self.epoch_totals = state["epoch_totals"].clone()
        self.epoch, self.iteration = state["epoch"], state["iteration"]
        found = state["prototypes"]
        self.identified = None if found is None else IdentifiedPrototypes(tuple(found["normal"]), tuple(found["anomaly"]))
