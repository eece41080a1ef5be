"""DEVELOPERS.md's decision rules applied to the development suite's cells (dev AUROC; the test split never read).

    .venv/bin/python benchmarks/dev_decisions.py [--results benchmarks/results/dev_suite/cells]

Trains nothing: it reads the cell files `angular-dino bench --config configs/dev_suite.yml` wrote. Each
comparison is paired: a group counts only the (class, seed) splits that both rows have done, so a row is never
ahead because it ran easier classes. The suite mean is the mean of the group means (no group weighs by its
cell count). Verdicts follow the rules as written before the cells ran:
- steps: the smallest candidate whose suite mean is within 0.003 of the best candidate's;
- augmentation: `digits` replaces `clothing` for grayscale folders only if it is at least 0.005 higher on both
  `fashion_small` and `digits` (on `digits`, whose own recipe is `digits`, the clothing row is the alternative);
- stroke recipe: a grayscale folder of strokes on a dark ground gets `digits` instead of `clothing` only if
  `digits` is at least 0.005 higher on `mnist_small` (rows with `score: auto`, the default since its rule);
- backbone: `resnet_tiny_s2` replaces `resnet_tiny` in the defaults if its suite mean is within 0.003 of the
  default's and no group mean falls by more than 0.005; in configs/fashion_mnist.yml if its `fashion_full` mean
  at 1,400 steps is within 0.003 of `resnet_tiny`'s;
- local crops: configs/fashion_mnist.yml's 2 local crops become the original's 8 only if its `fashion_full` mean
  is at least 0.005 higher (and the README run stays within 5 minutes, which this script does not time).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from record import ROOT, header, write_section

DEFAULT = "angular_dino"  # the CPU profile's defaults, 700 steps since the steps rule chose it
BASE = "angular_dino_steps1400"  # the default when the rules ran (1,400 steps): every variant ran against it
STEPS = {700: DEFAULT, 1400: BASE, 2800: "angular_dino_steps2800"}
BASELINES = ("puae", "pusvdd", "iforest")
STRIDE_2, STRIDE_2_PROFILE = "angular_dino_s2", "angular_dino_s2_steps1400"  # the backbone rules' candidates
STEPS_TOLERANCE, AUGMENTATION_GAIN, GROUP_TOLERANCE = 0.003, 0.005, 0.005
STROKES_DIGITS, STROKES_CLOTHING = "angular_dino_auto", "angular_dino_auto_clothing"  # the stroke-recipe rule's rows
LOCAL_8 = "angular_dino_s2_steps1400_local8"  # the local-crops rule's candidate, against STRIDE_2_PROFILE
LOCAL_CROPS_GAIN = 0.005

Cells = dict[tuple[str, str], dict[tuple[int, int], float]]  # (method, group) -> (class, seed) -> dev AUROC (all)


def read_dev_cells(root: Path) -> Cells:
    cells: Cells = {}
    for path in sorted(root.glob("*/*/*.json")):
        cell = json.loads(path.read_text())
        if cell.get("status") == "done" and cell["result"].get("evaluated_on") == "development":
            method, group = path.parent.parent.name, path.parent.name
            cells.setdefault((method, group), {})[(cell["normal_class"], cell["seed"])] = cell["result"]["auroc"]["all"]
    return cells


def paired(cells: Cells, first: str, second: str, group: str) -> tuple[list[float], list[float]]:
    """AUROCs of `first` and `second` on the splits of `group` that both have done, in the same order."""
    a, b = cells.get((first, group), {}), cells.get((second, group), {})
    shared = sorted(a.keys() & b.keys())
    return [a[s] for s in shared], [b[s] for s in shared]


def comparison(cells: Cells, base: str, other: str, label: str | None = None) -> tuple[list[str], dict[str, float]]:
    """Table rows of `other` against `base` (named `label`, default `other`), group by group; returns them and
    {group: mean difference}."""
    rows, differences = [], {}
    groups = sorted({g for (m, g) in cells if m == other})
    for group in groups:
        x, y = paired(cells, base, other, group)
        if not x:
            continue
        d = np.subtract(y, x)
        differences[group] = float(d.mean())
        rows.append(f"| {label or other} | {group} | {len(d)} | {np.mean(x):.4f} | {np.mean(y):.4f} | {d.mean():+.4f} "
                    f"| {int((d > 0).sum())}/{int((d < 0).sum())}/{int((d == 0).sum())} |")
    return rows, differences


def backbone_rules(cells: Cells, table: list[str]) -> list[str]:
    """The stride-2 stem against `resnet_tiny`: in the defaults (700 steps, every group) and in
    configs/fashion_mnist.yml (1,400 steps, the fashion_full group)."""
    rows, differences = comparison(cells, DEFAULT, STRIDE_2)
    profile_rows, profile_differences = comparison(cells, BASE, STRIDE_2_PROFILE)
    lines = ["", f"Backbone rules: `{STRIDE_2}` against `{DEFAULT}` (both 700 steps), and `{STRIDE_2_PROFILE}` "
             f"against `{BASE}` on fashion_full (both 1,400 steps, the README run's length):", "", *table,
             *rows, *profile_rows, ""]
    if differences:
        suite, worst = float(np.mean(list(differences.values()))), min(differences, key=differences.get)
        adopted = suite >= -STEPS_TOLERANCE and differences[worst] >= -GROUP_TOLERANCE
        lines.append(f"Defaults (suite mean within {STEPS_TOLERANCE} and no group below -{GROUP_TOLERANCE}): suite "
                     f"{suite:+.4f}, worst group {worst} {differences[worst]:+.4f}: "
                     f"**{'resnet_tiny_s2' if adopted else 'resnet_tiny stays'}**.")
    if "fashion_full" in profile_differences:
        change = profile_differences["fashion_full"]
        lines.append(f"configs/fashion_mnist.yml (fashion_full mean within {STEPS_TOLERANCE}): {change:+.4f}: "
                     f"**{'resnet_tiny_s2' if change >= -STEPS_TOLERANCE else 'resnet_tiny stays'}**.")
    return lines


def stroke_recipe_rule(cells: Cells, table: list[str]) -> list[str]:
    """`digits` against `clothing` on mnist_small (28x28 strokes on a dark ground), then the adopted recipe's row
    against the baselines there."""
    rows, differences = comparison(cells, STROKES_CLOTHING, STROKES_DIGITS)
    lines = ["", f"Stroke-recipe rule: `{STROKES_DIGITS}` (`digits`, mnist_sample's own recipe) against "
             f"`{STROKES_CLOTHING}` (`clothing`, what a grayscale folder got before the rule), both `score: auto`:",
             "", *table, *rows, ""]
    if "mnist_small" not in differences:
        return lines
    change = differences["mnist_small"]
    adopted = change >= AUGMENTATION_GAIN
    lines.append(f"Stroke-recipe rule (`digits` for grayscale folders of strokes on a dark ground only if ≥ "
                 f"+{AUGMENTATION_GAIN} on mnist_small): {change:+.4f}: **{'digits' if adopted else 'clothing'}**.")
    default = STROKES_DIGITS if adopted else STROKES_CLOTHING
    lines += ["", f"The recipe a folder of these strokes gets now (`{default}`) against the baselines on mnist_small "
              "(difference = default − baseline):", "",
              "| baseline | group | paired splits | baseline | default | difference | default wins/losses/ties |",
              "|---|---|---|---|---|---|---|"]
    for baseline in BASELINES:
        lines += [row for row in comparison(cells, baseline, default, label=baseline)[0] if "| mnist_small |" in row]
    return lines


def local_crops_rule(cells: Cells, table: list[str]) -> list[str]:
    """8 local crops against the 2 of configs/fashion_mnist.yml, on fashion_full (every class, the same seeds)."""
    rows, differences = comparison(cells, STRIDE_2_PROFILE, LOCAL_8)
    lines = ["", f"Local-crops rule: `{LOCAL_8}` against `{STRIDE_2_PROFILE}` (configs/fashion_mnist.yml's profile):",
             "", *table, *rows, ""]
    if "fashion_full" in differences:
        change = differences["fashion_full"]
        lines.append(f"Local-crops rule (8 local crops in configs/fashion_mnist.yml only if ≥ +{LOCAL_CROPS_GAIN} on "
                     f"fashion_full): {change:+.4f}: **{'8 pass' if change >= LOCAL_CROPS_GAIN else '2 stay'}**.")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "dev_suite" / "cells")
    args = parser.parse_args()
    cells = read_dev_cells(args.results)
    table = ["| row | group | paired splits | reference | row | difference | wins/losses/ties |",
             "|---|---|---|---|---|---|---|"]
    lines = header("Development-suite decisions (dev AUROC, paired splits)") + [
        f"Every variant against `{BASE}` (the CPU profile at 1,400 steps, the default when the rules ran; "
        "`clothing` for Fashion-MNIST and `digits` for digits), on the (class, seed) splits both have done; "
        "dev AUROC (all). `angular_dino` is today's default (700 steps).", "", *table]
    suite_changes: dict[str, float] = {}
    group_changes: dict[str, dict[str, float]] = {}
    for other in [*(m for m in STEPS.values() if m != BASE), "angular_dino_digits_aug", "angular_dino_clothing_aug"]:
        rows, differences = comparison(cells, BASE, other)
        lines += rows
        if differences:
            suite_changes[other] = float(np.mean(list(differences.values())))
            group_changes[other] = differences
    lines += ["", f"Suite change against `{BASE}` (mean over the groups each row was run on of its paired "
              "group difference):", ""]
    lines += [f"- `{m}`: {change:+.4f} over {', '.join(group_changes[m])}" for m, change in suite_changes.items()]
    candidates = {steps: suite_changes.get(m, 0.0) for steps, m in STEPS.items() if m == BASE or m in suite_changes}
    best = max(candidates.values())
    chosen = min(steps for steps, change in candidates.items() if change >= best - STEPS_TOLERANCE)
    digits_gain = [group_changes.get("angular_dino_digits_aug", {}).get("fashion_small"),
                   -group_changes.get("angular_dino_clothing_aug", {}).get("digits", np.nan)]
    augmentation = ("digits" if all(g is not None and g >= AUGMENTATION_GAIN for g in digits_gain) else "clothing")
    lines += ["", f"Steps rule (smallest within {STEPS_TOLERANCE} of the best; candidates measured: "
              f"{', '.join(f'{s:,} ({c:+.4f})' for s, c in sorted(candidates.items()))}): **{chosen:,}**.",
              f"Augmentation rule (`digits` for grayscale folders only if ≥ +{AUGMENTATION_GAIN} on both "
              f"fashion_small ({digits_gain[0]:+.4f}) and digits ({digits_gain[1]:+.4f})): **{augmentation}**.",
              "", f"Today's default (`{DEFAULT}`) against the baselines, same pairing (difference = default − baseline):",
              "", "| baseline | group | paired splits | baseline | default | difference | default wins/losses/ties |",
              "|---|---|---|---|---|---|---|"]
    for baseline in BASELINES:
        lines += comparison(cells, baseline, DEFAULT, label=baseline)[0]
    lines += backbone_rules(cells, table)
    lines += stroke_recipe_rule(cells, table)
    lines += local_crops_rule(cells, table)
    print("\n".join(lines[len(header("")):]))
    write_section("dev_decisions", lines)


if __name__ == "__main__":
    main()
