"""BENCHMARKS.md's comparison table: `angular-dino bench merge` over the committed cell files.

    .venv/bin/python benchmarks/bench_table.py [--config configs/bench_fashion_mnist.yml]

The cells themselves are trained by `angular-dino bench --config configs/bench_fashion_mnist.yml`
(hours of CPU, resumable; their JSON files are committed under benchmarks/results/), so this script
trains nothing: it builds the table from whatever cells exist, missing ones shown as missing.
"""
from __future__ import annotations

import argparse
import os

from angular_dino.runs.bench import load_bench, merge
from angular_dino.runs.bench.cells import read_cells
from record import ROOT, header, write_section


def machines(plan) -> list[str]:
    """The distinct devices and thread counts the done cells ran with (their times compare only within one)."""
    seen = set()
    for record in read_cells(plan).values():
        result = record.get("result") or {}
        seen.add(f"{result.get('device', '?')}, num_threads {record['config'].get('num_threads') or 'all cores'}")
    return sorted(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/bench_fashion_mnist.yml")
    args = parser.parse_args()
    os.chdir(ROOT)  # the bench's folders are relative to the directory it runs from: the repository root
    plan = load_bench(args.config)
    markdown = merge(plan)
    body = markdown.split("\n", 2)[2]  # without the table file's own title
    lines = header(f"Comparison table: `{args.config}`") + [
        f"Cells trained by `angular-dino bench --config {args.config}` (one at a time, on the machine above "
        f"unless noted); their files are in `{plan.cells_dir}/`. "
        f"Cells ran on: {'; '.join(machines(plan)) or 'none yet'}.", "", body.rstrip("\n")]
    write_section(f"bench_{plan.name}", lines)


if __name__ == "__main__":
    main()
