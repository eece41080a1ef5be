"""Training-step throughput of each backbone on this machine: memory layout and bf16 autocast.

    .venv/bin/python benchmarks/backbone_speed.py [--archs resnet_tiny resnet_cpu] [--steps 5]

It times real `Trainer` epochs (multi-crop views, student on all crops, teacher on the global ones,
both losses, backward, AdamW, EMA, then prototype identification) of `--steps` batches of 128
28×28 images with 2 local crops: contiguous and channels-last in fp32 (the trainer uses channels-last;
this is why), and channels-last under bf16 autocast (`precision: bf16`, for CPUs with AMX or
AVX-512-BF16).
"""
from __future__ import annotations

import argparse
import time

import torch

from angular_dino.method.trainer import Trainer
from angular_dino.method.views import ViewSettings
from angular_dino.runs.resolve import resolve_config
from record import header, write_section


def images_per_second(arch: str, channels_last: bool, steps: int, precision: str = "fp32") -> float:
    config = resolve_config({"arch": arch, "local_crops_number": 2, "epochs": 2, "use_weight": False,
                           "precision": precision})[0]
    generator = torch.Generator().manual_seed(0)
    n = config.batch_size * steps  # one epoch = `steps` iterations
    images = torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=generator)
    is_positive = torch.arange(n) % 2 == 0
    views = ViewSettings("clothing", 28, 12, 2, (0.7, 1.0), (0.2, 0.5), (0.29,), (0.35,))
    trainer = Trainer(config, images, is_positive, views, torch.device("cpu"))
    if not channels_last:
        trainer.student.to(memory_format=torch.contiguous_format)
        trainer.teacher.to(memory_format=torch.contiguous_format)
    trainer.train_epoch()  # warm-up
    start = time.perf_counter()
    trainer.epoch = 0
    trainer.train_epoch()
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", nargs="+", default=["resnet_tiny", "resnet_cpu"])
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    lines = header("Backbone training throughput (CPU, batch 128, 28×28, 2 global + 2 local crops)") + [
        "| backbone | images/s, contiguous | images/s, channels-last | speed-up | images/s, channels-last bf16 "
        "| bf16 speed-up |", "|---|---|---|---|---|---|"]
    for arch in args.archs:
        plain = images_per_second(arch, False, args.steps)
        last = images_per_second(arch, True, args.steps)
        bf16 = images_per_second(arch, True, args.steps, "bf16")
        print(f"{arch}: {plain:.0f} img/s contiguous, {last:.0f} img/s channels-last, {bf16:.0f} img/s bf16",
              flush=True)
        lines.append(f"| `{arch}` | {plain:.0f} | {last:.0f} | {last / plain:.2f}x | {bf16:.0f} | {bf16 / last:.2f}x |")
    write_section("backbone_speed", lines)


if __name__ == "__main__":
    main()
