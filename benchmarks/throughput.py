"""Training images/s of the full AngularDINO step, against a per-image PIL pipeline, and against the machine's peak.

    .venv/bin/python benchmarks/throughput.py [--profiles cpu readme reference] [--steps 6] [--workers 2]
                                              [--device cpu|cuda] [--precision auto] [--compile] [--phases]

For each profile (`cpu`: the defaults; `readme`: configs/fashion_mnist.yml, the README run's stride-2 stem;
`reference`: configs/reference.yml, ResNet-18 with 8 local crops) it times
`--steps` real `Trainer` steps on 28×28 images (multi-crop views, student on every crop, teacher on the global
ones, both losses, backward, AdamW, EMA), in one process, three ways:
- ours: the batched tensor augmentation of method/views.py, inside the step;
- per-image PIL: the same crops, scales and photometric recipe done image by image on PIL images, as the
  original's kind of pipeline does, in a DataLoader with `--workers` worker processes, feeding the same model;
- the step's arithmetic: its FLOPs (torch's FlopCounterMode: convolutions and matrix products, forward and
  backward) over its time, against the measured peak of the same arithmetic in the same process (a large
  matrix product and a large convolution, in the step's precision).
Figures go to BENCHMARKS.md (section `throughput_<device>`, or `--section`: one per kind of machine).

`--phases` profiles the same steps instead (torch.profiler): the time of each phase the trainer labels (views,
teacher forward, student forward, losses, backward, optimizer, teacher EMA with the centres) and the operators
with the most self time, so that what dominates a step is measured, not guessed (section `step_phases_<device>`).
"""
from __future__ import annotations

import argparse
import math
import random
import time
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageEnhance
from torch.utils.data import DataLoader, Dataset, RandomSampler
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from angular_dino.config import Config
from angular_dino.method.trainer import Trainer
from angular_dino.method.views import ViewSettings, views_for
from angular_dino.runs.resolve import load_config
from record import ROOT, header, write_section

PROFILES = {"cpu": None, "readme": ROOT / "configs" / "fashion_mnist.yml",
            "reference": ROOT / "configs" / "reference.yml"}
MEAN, STD = (0.29,), (0.35,)


def profile_config(profile: str, device: str, precision: str, compile_model: bool) -> Config:
    overrides = [f"device={device}", f"precision={precision}", f"compile={str(compile_model).lower()}",
                 "epochs=1", "dataset=fashion_mnist", "image_size=28", "augmentation=clothing"]
    return load_config(PROFILES[profile], overrides)[0]


def random_images(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=generator)
    return images, torch.arange(n) % 8 == 0


class PerImageViews(Dataset):
    """The multi-crop views of one image at a time on PIL images: random resized crop (area in scale, aspect
    3/4..4/3), the clothing recipe's brightness and contrast jitter (p 0.8, strength 0.4), to tensor, normalise."""

    def __init__(self, images: torch.Tensor, settings: ViewSettings) -> None:
        self.images = images[:, 0].numpy()
        self.settings = settings

    def __len__(self) -> int:
        return len(self.images)

    @staticmethod
    def _crop(image: Image.Image, scale: tuple[float, float], size: int) -> Image.Image:
        width, height = image.size
        area = random.uniform(*scale) * width * height
        aspect = math.exp(random.uniform(math.log(3 / 4), math.log(4 / 3)))
        w = min(width, round(math.sqrt(area * aspect)))
        h = min(height, round(math.sqrt(area / aspect)))
        left, top = random.randint(0, width - w), random.randint(0, height - h)
        return image.resize((size, size), Image.BILINEAR, box=(left, top, left + w, top + h))

    def _view(self, image: Image.Image, scale: tuple[float, float], size: int) -> torch.Tensor:
        crop = self._crop(image, scale, size)
        if random.random() < 0.8:
            crop = ImageEnhance.Brightness(crop).enhance(random.uniform(0.6, 1.4))
            crop = ImageEnhance.Contrast(crop).enhance(random.uniform(0.6, 1.4))
        array = np.asarray(crop, dtype=np.float32)[None] / 255
        return torch.from_numpy((array - MEAN[0]) / STD[0])

    def __getitem__(self, index: int) -> list[torch.Tensor]:
        s, image = self.settings, Image.fromarray(self.images[index])
        return [*(self._view(image, s.global_scale, s.global_size) for _ in range(2)),
                *(self._view(image, s.local_scale, s.local_size) for _ in range(s.n_local))]


def warm_up(trainer: Trainer, sync: Callable[[], None]) -> int:
    """Identify prototypes and take one step (the first compiles and allocates) in the second half of the one-epoch
    schedule, where the angular margins are on; returns the index of the next step."""
    trainer.identify()
    first = trainer.iters_per_epoch // 2
    trainer._step(torch.arange(trainer.config.batch_size, device=trainer.device), first)
    sync()
    return first + 1


def run_steps(trainer: Trainer, first: int, steps: int, sync: Callable[[], None]) -> None:
    batch = torch.arange(trainer.config.batch_size, device=trainer.device)
    for step in range(first, first + steps):
        trainer._step(batch, step)
    sync()


def timed_steps(trainer: Trainer, steps: int, sync: Callable[[], None]) -> float:
    """Seconds of `steps` optimisation steps after the warm-up."""
    first = warm_up(trainer, sync)
    start = time.perf_counter()
    run_steps(trainer, first, steps, sync)
    return time.perf_counter() - start


PHASES = ("views", "teacher_forward", "student_forward", "losses", "backward", "optimizer", "teacher_ema")


def phase_split(trainer: Trainer, steps: int, sync: Callable[[], None], top: int = 8,
                ) -> tuple[float, dict[str, float], list[tuple[str, float]]]:
    """Profiled milliseconds per step: the whole step, each labelled phase, and the `top` operators by self time.

    Times are the host thread's (CPU time of the calling thread, which waits for its intra-op threads); on a GPU
    they are launch times, not kernel times."""
    first = warm_up(trainer, sync)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if trainer.device.type == "cuda" else [])
    with profile(activities=activities) as profiler:
        start = time.perf_counter()
        run_steps(trainer, first, steps, sync)
        step_ms = (time.perf_counter() - start) * 1e3 / steps
    events = profiler.key_averages()
    phases = {e.key: e.cpu_time_total / 1e3 / steps for e in events if e.key in PHASES}
    operators = sorted((e for e in events if e.key not in PHASES), key=lambda e: e.self_cpu_time_total, reverse=True)
    return step_ms, phases, [(e.key, e.self_cpu_time_total / 1e3 / steps) for e in operators[:top]]


def phase_lines(profile_name: str, config: Config, precision: str, step_ms: float, phases: dict[str, float],
                operators: list[tuple[str, float]]) -> list[str]:
    lines = [f"`{profile_name}` (`{config.arch}`, {config.local_crops_number} local crops, batch "
             f"{config.batch_size}, {precision}): {step_ms:.1f} ms per step under the profiler.", "",
             "| phase | ms per step | share of the step |", "|---|---|---|"]
    lines += [f"| {name} | {phases.get(name, 0.0):.1f} | {phases.get(name, 0.0) / step_ms:.0%} |" for name in PHASES]
    lines += ["", "| operator (self time) | ms per step | share of the step |", "|---|---|---|"]
    lines += [f"| `{name}` | {ms:.1f} | {ms / step_ms:.0%} |" for name, ms in operators]
    return [*lines, ""]


def record_phases(args: argparse.Namespace, device: torch.device, sync: Callable[[], None]) -> None:
    lines = []
    for profile_name in args.profiles:
        config = profile_config(profile_name, args.device, args.precision, args.compile)
        images, is_positive = random_images(config.batch_size * 2 * (args.steps + 2))
        trainer = Trainer(config, images, is_positive, views_for(config, MEAN, STD), device)
        measured = phase_split(trainer, args.steps, sync)
        profile_lines = phase_lines(profile_name, config, trainer.amp.precision, *measured)
        print("\n".join(profile_lines), flush=True)
        lines += profile_lines
    title = f"Where a training step's time goes ({args.device}{', compiled' if args.compile else ''})"
    write_section(args.section or f"step_phases_{device.type}{'_compiled' if args.compile else ''}", header(title) + [
        f"{args.steps} profiled steps (torch.profiler, CPU activity) after one warm-up, 28×28 images, one process. "
        "Phases are the trainer's `record_function` labels (inclusive time); the operators are the ones with the "
        "most self time over the same steps, backward operators included. Shares are of the profiled step's wall "
        "time; the profiler itself adds some.", "", *lines])


class LoaderViews:
    """Stands in for the trainer's batched views: each call returns the next batch of a per-image DataLoader."""

    def __init__(self, loader: DataLoader, settings: ViewSettings, device: torch.device) -> None:
        self.batches, self.settings, self.device = iter(loader), settings, device

    def __call__(self, _images: torch.Tensor) -> list[torch.Tensor]:
        return [view.to(self.device, non_blocking=True) for view in next(self.batches)]


def use_per_image_pipeline(trainer: Trainer, images: torch.Tensor, workers: int) -> None:
    """Feed `trainer` from a per-image PIL DataLoader (`workers` processes) instead of its batched views."""
    settings = trainer.views.settings
    loader = DataLoader(PerImageViews(images, settings), batch_size=trainer.config.batch_size,
                        sampler=RandomSampler(images, replacement=True, num_samples=10 ** 9), num_workers=workers,
                        persistent_workers=workers > 0, pin_memory=trainer.device.type == "cuda")
    trainer.views = LoaderViews(loader, settings, trainer.device)


def step_flops(trainer: Trainer) -> int:
    batch = torch.arange(trainer.config.batch_size, device=trainer.device)
    with FlopCounterMode(display=False) as counter:
        trainer._step(batch, trainer.iters_per_epoch - 1)
    return counter.get_total_flops()


def peak_flops(device: torch.device, precision: str, sync: Callable[[], None]) -> dict[str, float]:
    """FLOP/s of a large matrix product and of a large 3×3 convolution (channels-last), in `precision`."""
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32)
    n = 4096 if device.type == "cuda" else 1024
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    x = torch.randn(64, 128, 28, 28, device=device, dtype=dtype).to(memory_format=torch.channels_last)
    w = torch.randn(128, 128, 3, 3, device=device, dtype=dtype).to(memory_format=torch.channels_last)
    conv_flops = 2 * 64 * 128 * 28 * 28 * 128 * 9

    def rate(work: Callable[[], torch.Tensor], flops: float, repeats: int = 10, trials: int = 3) -> float:
        """The best of `trials` timings: a peak is what the machine can do, not what a busy moment allowed."""
        work()
        sync()
        best = math.inf
        for _ in range(trials):
            start = time.perf_counter()
            for _ in range(repeats):
                work()
            sync()
            best = min(best, time.perf_counter() - start)
        return flops * repeats / best

    return {"matmul": rate(lambda: a @ b, 2 * n ** 3), "conv": rate(lambda: F.conv2d(x, w, padding=1), conv_flops)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", nargs="+", choices=list(PROFILES), default=list(PROFILES))
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers of the per-image pipeline")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--compile", action="store_true", help="torch.compile the backbones (config `compile`)")
    parser.add_argument("--phases", action="store_true", help="profile where a step's time goes instead")
    parser.add_argument("--section", help="BENCHMARKS.md section (default: throughput_<device>[_compiled], "
                                          "step_phases_<device>[_compiled] with --phases)")
    args = parser.parse_args()
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    if args.phases:
        record_phases(args, device, sync)
        return
    rows = []
    for profile in args.profiles:
        config = profile_config(profile, args.device, args.precision, args.compile)
        n = config.batch_size * 2 * (args.steps + 2)  # one epoch whose second half holds the timed steps
        images, is_positive = random_images(n)
        trainer = Trainer(config, images, is_positive, views_for(config, MEAN, STD), device)
        ours = config.batch_size * args.steps / timed_steps(trainer, args.steps, sync)
        flops = step_flops(trainer)
        peak = peak_flops(device, trainer.amp.precision, sync)
        per_image_trainer = Trainer(config, images, is_positive, views_for(config, MEAN, STD), device)
        use_per_image_pipeline(per_image_trainer, images, args.workers)
        per_image = config.batch_size * args.steps / timed_steps(per_image_trainer, args.steps, sync)
        del per_image_trainer  # stops its workers
        achieved = flops * ours / config.batch_size
        row = (f"| {profile} (`{config.arch}`, {config.local_crops_number} local crops, batch {config.batch_size}) "
               f"| {trainer.amp.precision} | {ours:.0f} | {per_image:.0f} | {ours / per_image:.2f}x "
               f"| {flops / 1e9:.1f} | {achieved / 1e9:.1f} | {peak['conv'] / 1e9:.1f} | {peak['matmul'] / 1e9:.1f} "
               f"| {achieved / peak['conv']:.0%} |")
        print(row, flush=True)
        rows.append(row)
    title = f"Training throughput of the full step ({args.device}{', compiled' if args.compile else ''})"
    lines = header(title) + [
        f"{args.steps} timed steps after one warm-up, 28×28 images, one process; the per-image pipeline is a PIL "
        f"DataLoader with {args.workers} workers feeding the same model. FLOPs: convolutions and matrix products "
        "of one step, forward and backward. Peaks: a 3×3 convolution (64×128×28×28, 128 filters) and a large "
        "matrix product, in the step's precision, measured in the same process.", "",
        "| profile | precision | images/s, ours | images/s, per-image PIL | ours / PIL | GFLOP per step "
        "| GFLOP/s achieved | peak conv GFLOP/s | peak matmul GFLOP/s | fraction of conv peak |",
        "|---|---|---|---|---|---|---|---|---|---|", *rows]
    write_section(args.section or f"throughput_{device.type}{'_compiled' if args.compile else ''}", lines)


if __name__ == "__main__":
    main()
