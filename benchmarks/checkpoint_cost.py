"""What epoch-end checkpoints cost a small-data run: wall time with a write after every epoch against the default.

    .venv/bin/python benchmarks/checkpoint_cost.py [--dataset digits] [--repeats 2]

Small data has many short epochs (digits: 117 training images, so 700 steps are 700 epochs), and each epoch
end used to write checkpoints/last.pt and metrics.jsonl with an fsync. The runs alternate between
`checkpoint_every_seconds: 0` (the old behaviour) and the default, on the same seed, so that the machine's
drift falls on both; same results either way (the key is resume-neutral), which the script checks.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from core_run import measure, train_command
from record import header, write_section

SETTINGS = {"every epoch (0)": 0, "default (30 s)": None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    walls: dict[str, list[float]] = {name: [] for name in SETTINGS}
    aurocs: dict[str, set[float]] = {name: set() for name in SETTINGS}
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(args.repeats):
            for name, seconds in SETTINGS.items():
                out = Path(scratch) / f"{repeat}_{seconds}"
                extra = {} if seconds is None else {"checkpoint_every_seconds": seconds}
                wall, _ = measure(train_command(out, {"dataset": args.dataset, **extra}))
                walls[name].append(wall)
                aurocs[name].add(json.loads((out / "result.json").read_text())["auroc"]["all"])
                print(f"{name}: {wall:.1f} s", flush=True)
    base = np.mean(walls["every epoch (0)"])
    rows = [f"| {name} | {np.mean(w):.1f} | {', '.join(f'{x:.1f}' for x in w)} | {base / np.mean(w):.2f}x | "
            f"{', '.join(f'{a:.4f}' for a in sorted(aurocs[name]))} |" for name, w in walls.items()]
    lines = header("Epoch-end checkpoint cost on small data") + [
        f"`angular-dino train --set dataset={args.dataset}` (the defaults: 700 steps, one step an epoch), runs "
        f"alternating, {args.repeats} of each; wall seconds of the whole command.", "",
        "| checkpoint_every_seconds | mean wall s | runs | speed-up | test AUROC (all) |", "|---|---|---|---|---|",
        *rows]
    print("\n".join(lines[len(header("")):]))
    write_section("checkpoint_cost", lines)


if __name__ == "__main__":
    main()
