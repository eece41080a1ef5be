"""Time to a good detector on Fashion-MNIST 0/9 (issue 15): test AUROC against training seconds, side by side.

    .venv/bin/python benchmarks/time_to_detector.py [--steps 700 1400]

AngularDINO: one run of `configs/fashion_mnist.yml` per step budget, with `diagnostic_test_metrics` on, so each
epoch logs the test AUROC beside its training seconds (a diagnostic: nothing is chosen from it; the schedules
follow each run's full length, so a point inside a run is not what a shorter run would reach). Its end point
is the run's reported AUROC. Baselines: the end points (training seconds, test AUROC) of the committed
comparison-table cells of the same split and seed (`benchmarks/results/fashion_mnist/cells`), each trained at
its published length with its own validation-based choice of epoch. Writes the plot to
`benchmarks/results/time_to_detector.png` and the figures to BENCHMARKS.md. Time it alone (2 cores).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

from matplotlib.figure import Figure

from core_run import train_command
from record import ROOT, header, write_section

CELLS = ROOT / "benchmarks" / "results" / "fashion_mnist" / "cells"
SPLIT = "fashion_mnist_c0_u9_s0"
TABLE_ROWS = ("angular_dino_tiny", "angular_dino_long", "puae", "pusvdd", "iforest", "deepsad", "deepsvdd",
              "ae")  # the 0/9 cells shown
PLOT = ROOT / "benchmarks" / "results" / "time_to_detector.png"

Curve = list[tuple[float, float]]  # (cumulative training seconds, test AUROC all)


def train_curve(steps: int, out: Path) -> tuple[Curve, dict]:
    """One default run of `steps` steps on 0/9 with the per-epoch test AUROC logged; its curve and result."""
    subprocess.run(train_command(out, {"steps": steps, "diagnostic_test_metrics": "true"},
                                 config="configs/fashion_mnist.yml"), cwd=ROOT, check=True)
    curve, seconds = [], 0.0
    for line in (out / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        seconds += record["seconds"]
        if "diagnostic_test_auroc" in record:
            curve.append((seconds, record["diagnostic_test_auroc"]["all"]))
    return curve, json.loads((out / "result.json").read_text())


def baseline_points() -> dict[str, tuple[float, float]]:
    """{method: (training seconds, test AUROC all)} of the committed 0/9 seed-0 cells."""
    points = {}
    for method in TABLE_ROWS:
        path = CELLS / method / f"{SPLIT}.json"
        if path.is_file() and (cell := json.loads(path.read_text()))["status"] == "done":
            points[method] = (cell["result"]["train_seconds"], cell["result"]["auroc"]["all"])
    return points


def first_time_at(curve: Curve, level: float) -> float | None:
    return next((seconds for seconds, auroc in curve if auroc >= level), None)


def plot(curves: dict[int, Curve], results: dict[int, dict], points: dict[str, tuple[float, float]]) -> None:
    figure = Figure(figsize=(7, 4.5))
    axes = figure.add_subplot()
    for steps, curve in curves.items():
        line, = axes.plot(*zip(*curve), label=f"AngularDINO, {steps:,} steps (per-epoch diagnostic)")
        axes.plot(results[steps]["train_seconds"], results[steps]["auroc"]["all"], "o", color=line.get_color())
    for method, (seconds, auroc) in points.items():
        axes.plot(seconds, auroc, "s", label=f"{method} (end of its run)")
    axes.set(xlabel="training seconds (2 CPU cores)", ylabel="test AUROC (all)",
             title="Fashion-MNIST 0/9, seed 0")
    axes.set_ylim(top=1.0)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(PLOT, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[700, 1400])
    args = parser.parse_args()
    curves, results = {}, {}
    with tempfile.TemporaryDirectory() as scratch:
        for steps in args.steps:
            curves[steps], results[steps] = train_curve(steps, Path(scratch) / f"steps{steps}")
    points = baseline_points()
    plot(curves, results, points)
    lines = header("Time to a good detector: Fashion-MNIST 0/9, seed 0") + [
        "Training seconds on these 2 cores against test AUROC (all). AngularDINO's per-epoch values are a "
        "diagnostic along one run (its schedules set for its full length); baselines are the comparison table's "
        f"cells, end points only. Plot: `{PLOT.relative_to(ROOT)}`.", "",
        "| method | training s | test AUROC | first second at AUROC ≥ 0.97 | ≥ 0.98 |", "|---|---|---|---|---|"]
    for steps, curve in curves.items():
        reached = [first_time_at(curve, level) for level in (0.97, 0.98)]
        lines.append(f"| AngularDINO, {steps:,} steps | {results[steps]['train_seconds']:.0f} | "
                     f"{results[steps]['auroc']['all']:.4f} | "
                     + " | ".join("not reached" if t is None else f"{t:.0f}" for t in reached) + " |")
    lines += [f"| {method} | {seconds:.0f} | {auroc:.4f} | | |" for method, (seconds, auroc) in points.items()]
    print("\n".join(lines[len(header("")):]))
    write_section("time_to_detector", lines)


if __name__ == "__main__":
    main()
