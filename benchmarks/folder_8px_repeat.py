"""Issue 13's check: N runs of the 8x8 PNG folder case (minimal config, 2 epochs, bf16) through the real CLI.

Writes a folder from scikit-learn's digits (normal: 0; positive and contamination: 1-9; a test part), runs
`angular-dino train` on it N times as subprocesses with the same seed, and records how many finished, how many
showed a traceback, the exit statuses and how many distinct AUROCs the runs gave (1 = repeatable).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
import torch
from sklearn.datasets import load_digits

from angular_dino.runtime.compute import has_fast_bf16

from record import ROOT, header, write_section


def write_folder(root: Path) -> None:
    digits = load_digits()
    images = np.clip(digits.images * 16, 0, 255).astype(np.uint8)
    rng = np.random.default_rng(0)
    normal = rng.permutation(np.flatnonzero(digits.target == 0))
    anomaly = rng.permutation(np.flatnonzero(digits.target != 0))
    parts = {"unlabeled": np.r_[normal[:120], anomaly[:10]], "positive": anomaly[10:40],
             "test/normal": normal[120:170], "test/anomaly": anomaly[40:90]}
    for name, indices in parts.items():
        (root / name).mkdir(parents=True)
        for i in indices:
            Image.fromarray(images[i], mode="L").save(root / name / f"{i:05d}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--precision", default="bf16")
    parser.add_argument("--no-record", action="store_true", help="print only (smoke tests)")
    args = parser.parse_args()
    cli = Path(sys.executable).with_name("angular-dino")
    statuses, tracebacks, aurocs = collections.Counter(), 0, collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder, config = Path(tmp) / "images", Path(tmp) / "config.yml"
        write_folder(folder)
        config.write_text(f"dataset: folder\ndata_dir: {folder}\nepochs: 2\noutput_dir: {Path(tmp) / 'run'}\n")
        for _ in range(args.runs):
            done = subprocess.run([str(cli), "train", "--config", str(config), "--set", f"precision={args.precision}",
                                   "--restart", "--quiet"], capture_output=True, text=True, cwd=ROOT)
            statuses[done.returncode] += 1
            tracebacks += "Traceback" in done.stderr
            result = Path(tmp) / "run" / "result.json"
            if done.returncode == 0:
                aurocs[round(json.loads(result.read_text())["auroc"]["all"], 4)] += 1
                result.unlink()
    lines = header(f"8x8 PNG folder, {args.runs} runs under {args.precision} (issue 13)")
    lines += [f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
              f"CPU bf16 native (AMX/AVX-512-BF16): {has_fast_bf16(torch.device('cpu'))}", "",
              f"- finished (exit 0): {statuses[0]} of {args.runs}", f"- runs showing a traceback: {tracebacks}",
              f"- exit statuses: {dict(sorted(statuses.items()))}",
              f"- distinct test AUROCs (all) of the finished runs: {dict(aurocs)}", ""]
    print("\n".join(lines))
    if not args.no_record:
        write_section("folder_8px_repeat", lines)


if __name__ == "__main__":
    main()
