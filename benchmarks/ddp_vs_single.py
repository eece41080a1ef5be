"""DDP with torchrun against one process on the same digits split; records the AUROCs in BENCHMARKS.md.

    .venv/bin/python benchmarks/ddp_vs_single.py [--epochs 100] [--nproc 2] [--seeds 0 1 2]

Both runs see the same global batch (16 images: 16 in one process, 16 / nproc in each of nproc
processes), so they take the same number of steps with the same learning rate; what differs is
that BatchNorm statistics are per process on CPU and the random streams are split by rank. The
issue's target: |AUROC(DDP) - AUROC(single)| <= 0.02. Runs one thing at a time (timings are
otherwise disturbed), each process with one thread.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from record import ROOT, header, write_section

DIGITS = {"dataset": "digits", "arch": "resnet_tiny", "local_crops_number": 2, "lr": 0.002, "warmup_fraction": 0.1,
          "freeze_last_layer_fraction": 0.05, "use_weight": False, "normal_class": 0, "unseen_anomaly_class": 9,
          "num_threads": 1}
GLOBAL_BATCH = 16


def run(launcher: list[str], settings: dict, scratch: Path, name: str) -> tuple[dict, float]:
    config = scratch / f"{name}.yml"
    config.write_text(yaml.safe_dump({**settings, "output_dir": str(scratch / name)}))
    start = time.time()
    done = subprocess.run([*launcher, "-m", "angular_dino.cli", "train", "--config", str(config), "--quiet"],
                          cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")})
    if done.returncode != 0:
        sys.exit(f"{name} failed:\n{done.stderr[-3000:]}")
    return json.loads((scratch / name / "result.json").read_text()), time.time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--no-record", action="store_true", help="print only (for smoke tests)")
    args = parser.parse_args()
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={args.nproc}"]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for seed in args.seeds:
            base = {**DIGITS, "epochs": args.epochs, "seed": seed}
            single, single_s = run([sys.executable], {**base, "batch_size": GLOBAL_BATCH}, Path(scratch), f"single{seed}")
            ddp, ddp_s = run(torchrun, {**base, "batch_size": GLOBAL_BATCH // args.nproc}, Path(scratch), f"ddp{seed}")
            gap = abs(ddp["auroc"]["all"] - single["auroc"]["all"])
            rows.append(f"| {seed} | {single['auroc']['all']:.4f} | {ddp['auroc']['all']:.4f} | {gap:.4f} | "
                        f"{single_s:.0f} | {ddp_s:.0f} |")
            print(rows[-1], flush=True)
    table = ["| seed | AUROC 1 process | AUROC DDP | gap | seconds 1 process | seconds DDP |", "|---|---|---|---|---|---|",
             *rows]
    print("\n".join(table))
    if not args.no_record:
        write_section("ddp_vs_single", [
            *header(f"DDP ({args.nproc} CPU processes, gloo) against one process, digits"),
            f"Digits, normal 0, unseen 9, `resnet_tiny`, {args.epochs} epochs, global batch {GLOBAL_BATCH} in "
            "both; AUROC on all test images. Target: gap <= 0.02.", "", *table])


if __name__ == "__main__":
    main()
