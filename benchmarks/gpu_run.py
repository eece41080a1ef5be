"""On a CUDA machine: throughput and AUROC of the reference profile (a few epochs) and the CPU profile (in full).

    .venv/bin/python benchmarks/gpu_run.py [--reference-epochs 3] [--set precision=bf16 --set compile=true ...]

Runs, one after the other, on `device: cuda`:
1. `configs/reference.yml` (ResNet-18, batch 128, 8 local crops) for `--reference-epochs` epochs: the
   schedules are compressed to that length, so its AUROC is only a sanity check, not the method's;
2. `configs/fashion_mnist.yml` (the CPU profile) in full.
Throughput is training images per second over the epochs (`n_train × epochs / train_seconds`, which
excludes start-up, identification is included). Extra `--set` values apply to both runs. Records
both rows in BENCHMARKS.md (section `gpu_run`). Stops at once when no CUDA GPU is visible.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from record import ROOT, header, write_section


def train(config: str, overrides: list[str], out: Path) -> dict:
    command = [sys.executable, "-m", "angular_dino.cli", "train", "--config", config, "--quiet",
               "--set", "device=cuda", "--set", f"output_dir={out}"]
    for override in overrides:
        command += ["--set", override]
    subprocess.run(command, cwd=ROOT, check=True)
    return json.loads((out / "result.json").read_text())


def row(name: str, result: dict) -> str:
    images = sum(result["n_train"].values()) * result["epochs"]
    auroc = result["auroc"]
    return (f"| {name} | {result['epochs']} | {images / result['train_seconds']:.0f} | {auroc['all']:.4f} | "
            f"{auroc['seen']:.4f} | {auroc['unseen']:.4f} | {result['train_seconds']:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-epochs", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("no CUDA GPU is visible; run this on a GPU machine")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        reference = train("configs/reference.yml", [f"epochs={args.reference_epochs}", *args.set],
                          Path(scratch) / "reference")
        rows.append(row("`configs/reference.yml` (schedule compressed)", reference))
        print(rows[-1], flush=True)
        cpu_profile = train("configs/fashion_mnist.yml", args.set, Path(scratch) / "cpu_profile")
        rows.append(row("`configs/fashion_mnist.yml` (full)", cpu_profile))
        print(rows[-1], flush=True)
    settings = ", ".join(f"`{s}`" for s in args.set) or "none"
    write_section("gpu_run", [
        *header(f"GPU: throughput and AUROC ({torch.cuda.get_device_name(0)})"),
        f"Device `cuda`, extra settings: {settings}; throughput = training images per second.", "",
        "| config | epochs | images/s | AUROC all | seen | unseen | train s |", "|---|---|---|---|---|---|---|",
        *rows])


if __name__ == "__main__":
    main()
