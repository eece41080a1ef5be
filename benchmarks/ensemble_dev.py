"""An ensemble of training seeds against one run, on the development suite (dev AUROC; the test split never read).

    .venv/bin/python benchmarks/ensemble_dev.py [--groups fashion_small digits ...] [--members 3] [--seed 0]

For each cell of the suite's default row (`configs/dev_suite.yml`, method `angular_dino`) in the groups given, it
prepares the cell's PU split and development set once, then trains `--members` detectors on them with seeds
s, s+1, ... (initialisation, sampler and augmentation; the data stay seed s's). The ensemble's score is the mean
of the members' scores, each standardised by its mean and std over the unlabeled training images. Member 0 is the
default as it is: its figure must equal the committed bench cell's. One JSON file per cell under
benchmarks/results/ensemble_dev/ (a cell already there is not trained again); the section of BENCHMARKS.md is
rebuilt from every file present, with the verdict of DEVELOPERS.md's rule (suite mean +0.005, no group −0.005).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import torch

from angular_dino.config import Config
from angular_dino.data.prepare import prepare_pu_data
from angular_dino.detection.base import scores_of
from angular_dino.detection.metrics import detection_metrics
from angular_dino.runs.bench.spec import Cell, load_bench
from angular_dino.runs.registry import build_detector
from angular_dino.storage import save_json
from dev_decisions import Cells, comparison, read_dev_cells
from record import ROOT, header, write_section
from score_variants import standardised

SUITE = ROOT / "configs" / "dev_suite.yml"
RESULTS = ROOT / "benchmarks" / "results" / "ensemble_dev"
DEFAULT = "angular_dino"
GAIN, GROUP_TOLERANCE = 0.005, 0.005  # DEVELOPERS.md's rule for the ensemble


def cell_figures(cell: Cell, config: Config, members: int) -> dict:
    """Train the members of one cell; dev AUROC (all) of each member and of their standardised mean."""
    data = prepare_pu_data(config)
    unlabeled = data.train_images[~data.train_is_positive]
    member_aurocs, member_scores = [], []
    for member in range(members):
        detector = build_detector(dataclasses.replace(config, seed=config.seed + member))
        detector.fit(data.train_images, data.train_is_positive, validation=(data.val_images, data.val_is_positive))
        dev = scores_of(detector, data.test_images)
        member_aurocs.append(auroc(dev, data.test_kind))
        member_scores.append(standardised(dev, scores_of(detector, unlabeled)))
        print(f"{cell.group}/{cell.split_name} member {member}: {member_aurocs[-1]:.4f}", flush=True)
    return {"group": cell.group, "normal_class": cell.normal_class, "seed": cell.seed, "members": members,
            "member_aurocs": member_aurocs, "ensemble_auroc": auroc(np.mean(member_scores, axis=0), data.test_kind)}


def auroc(scores: np.ndarray, kinds: torch.Tensor) -> float:
    return detection_metrics(torch.from_numpy(scores.astype(np.float64)), kinds)["auroc"]["all"]


def read_results() -> Cells:
    """Member 0, the mean member and the ensemble as rows of a dev-decisions table, by group and split."""
    cells: Cells = {}
    for path in sorted(RESULTS.glob("*/*.json")):
        r = json.loads(path.read_text())
        split = (r["normal_class"], r["seed"])
        for row, value in (("member 0", r["member_aurocs"][0]), ("mean member", float(np.mean(r["member_aurocs"]))),
                           (f"ensemble of {r['members']}", r["ensemble_auroc"])):
            cells.setdefault((row, r["group"]), {})[split] = value
    return cells


def report() -> None:
    cells = read_results()
    committed = read_dev_cells(ROOT / "benchmarks" / "results" / "dev_suite" / "cells")
    checked = [(group, split, value, committed[(DEFAULT, group)][split]) for (row, group), splits in cells.items()
               if row == "member 0" for split, value in splits.items() if split in committed.get((DEFAULT, group), {})]
    mismatches = [f"{group} {split}: {value:.4f} against the cell's {cell:.4f}"
                  for group, split, value, cell in checked if abs(value - cell) > 1e-9]
    unchecked = sum(len(splits) for (row, _), splits in cells.items() if row == "member 0") - len(checked)
    table = ["| row | group | paired splits | member 0 | row | difference | wins/losses/ties |",
             "|---|---|---|---|---|---|---|"]
    lines = header("An ensemble of training seeds against one run (development suite, seed 0)") + [
        "Each cell of the suite's default row trained again with seeds s, s+1, s+2 on the same split; the ensemble "
        "scores with the mean of the members' scores, each standardised on the unlabeled training images. "
        "Dev AUROC (all).", "", *table]
    verdicts = []
    for row in sorted({r for (r, _) in cells if r != "member 0"}):
        rows, differences = comparison(cells, "member 0", row)
        lines += rows
        if row.startswith("ensemble") and differences:
            suite, worst = float(np.mean(list(differences.values()))), min(differences, key=differences.get)
            kept = suite >= GAIN and differences[worst] >= -GROUP_TOLERANCE
            verdicts.append(f"Rule (suite mean at least +{GAIN} and no group below -{GROUP_TOLERANCE}): suite "
                            f"{suite:+.4f} over {len(differences)} groups, worst group {worst} "
                            f"{differences[worst]:+.4f}: **{'adopted' if kept else 'not adopted'}**.")
    lines += ["", *verdicts, "", "Member 0 against the committed bench cells (must be equal): "
              + (f"equal on all {len(checked)} splits that have one" if not mismatches else "; ".join(mismatches))
              + f" ({unchecked} splits have no committed cell)."]
    print("\n".join(lines[len(header("")):]))
    write_section("ensemble_dev", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", nargs="+", default=["fashion_small", "digits", "labels_10", "contamination_15"])
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--classes", type=int, nargs="+", help="only these normal classes")
    args = parser.parse_args()
    plan = load_bench(SUITE)
    for group in args.groups:
        for cell in plan.cells:
            if cell.method != DEFAULT or cell.group != group or cell.seed != args.seed or (
                    args.classes and cell.normal_class not in args.classes):
                continue
            path = RESULTS / group / f"{cell.split_name}.json"
            if not path.exists():
                save_json(cell_figures(cell, plan.configs[cell], args.members), path)
    report()


if __name__ == "__main__":
    main()
