"""Other anomaly scores from trained AngularDINO models, on each run's development set (never the test split).

    .venv/bin/python benchmarks/score_variants.py RUN_DIR_OR_TREE [...] [--section NAME --title TEXT]

Every directory given (or found below one) that holds a finished run (config.yaml and model.pt) is rescored:
its PU split and its development set are rebuilt (`evaluate_on: development`: train-pool images the split did
not use, with the test protocol's sizes), embedded with the saved teacher, and METHOD §8's score is compared
with other scores of the same embeddings. Nothing is retrained. A run under `<method>/<group>/<cell>` (a bench
with groups, as configs/dev_suite.yml) counts in its group; the suite mean is the mean of the group means, and
DEVELOPERS.md's rule for score switches (suite mean +0.005, no group mean −0.005) is applied to each variant.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from angular_dino.config import DEVELOPMENT
from angular_dino.data.prepare import prepare_pu_data
from angular_dino.detection.metrics import detection_metrics
from angular_dino.method.detector import AngularDINO
from angular_dino.method.neighbours import knn_distance
from angular_dino.runs.registry import load_detector
from angular_dino.runs.resolve import load_config
from record import header, write_section

Score = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (embeddings, cos to A, cos to N) -> scores
METHOD_SCORE = "METHOD §8: mean A − mean N"
GAIN, WORST_GROUP_LOSS = 0.005, 0.005  # DEVELOPERS.md: a score switch is kept only above these


def knn_unlabeled(train_embeddings: np.ndarray, k: int = 5, skip_self: bool = False) -> Score:
    """Minus the mean cosine to the k most similar unlabeled training images (mostly normal); `skip_self` drops
    the nearest one, for scoring those training images themselves."""
    bank = torch.from_numpy(train_embeddings)
    skip = int(skip_self)
    return lambda emb, a, n: -(torch.from_numpy(emb) @ bank.T).topk(k + skip, dim=1).values[:, skip:].mean(1).numpy()


def standardised(scores: np.ndarray, unlabeled_scores: np.ndarray) -> np.ndarray:
    """Scores on the scale of the unlabeled training images' scores (mean 0, std 1 there)."""
    return (scores - unlabeled_scores.mean()) / unlabeled_scores.std()


def standardised_sum(scores: list[Score], unlabeled: tuple[np.ndarray, np.ndarray, np.ndarray],
                     unlabeled_scores: list[Score]) -> Score:
    """The sum of `scores`, each standardised on the unlabeled training images (scored by the matching entry of
    `unlabeled_scores`), so that no term weighs by its scale."""
    on_unlabeled = [score(*unlabeled) for score in unlabeled_scores]
    return lambda emb, a, n: sum(standardised(score(emb, a, n), u) for score, u in zip(scores, on_unlabeled))


VARIANTS: dict[str, Score] = {
    METHOD_SCORE: lambda emb, a, n: a.mean(1) - n.mean(1),
    "max A − max N": lambda emb, a, n: a.max(1) - n.max(1),
    "mean A − max N": lambda emb, a, n: a.mean(1) - n.max(1),
    "− max N": lambda emb, a, n: -n.max(1),
    "− mean N": lambda emb, a, n: -n.mean(1),
}
KNN = "− mean cos to 5 nearest U"
METHOD_PLUS_KNN = "METHOD §8 + kNN-to-U (standardised on U)"
METHOD_PLUS_KNN_CALLED_NORMAL = "METHOD §8 + kNN to the U below the threshold"


def knn_called_normal(unlabeled_embeddings: np.ndarray, unlabeled_scores: np.ndarray, threshold: float) -> Score:
    """kNN-to-U whose neighbours are only the unlabeled training images that the fitted detector calls normal
    (METHOD §8 score below its threshold), so that contaminating anomalies are not each other's neighbours; a bank
    image is not its own neighbour (the product's `knn_distance`)."""
    bank = torch.from_numpy(unlabeled_embeddings[unlabeled_scores < threshold])
    return lambda emb, a, n: knn_distance(torch.from_numpy(emb), bank, 5).numpy()


def finished_runs(paths: list[Path]) -> list[Path]:
    """The AngularDINO run directories among `paths` and below them that hold a saved model."""
    found = {model.parent for path in paths for model in ([path / "model.pt"] if (path / "model.pt").exists()
                                                         else path.rglob("model.pt"))}
    return sorted(run for run in found if load_config(run / "config.yaml")[0].method == "angular_dino")


def group_of(run: Path) -> str:
    """A bench-with-groups cell lives in cells/<method>/<group>/<cell>; anything else is one group."""
    return run.parent.name if run.parent.parent.name.startswith("angular_dino") else "runs"


def run_aurocs(run: Path) -> dict[str, float]:
    """Development-set AUROC (all) of every score variant for one finished run."""
    config, _ = load_config(run / "config.yaml")
    data = prepare_pu_data(dataclasses.replace(config, evaluate_on=DEVELOPMENT))
    detector = load_detector(run / "model.pt")
    dev = score_inputs(detector, data.test_images)
    unlabeled = score_inputs(detector, data.train_images[~data.train_is_positive])
    knn = knn_unlabeled(unlabeled[0])
    combined = standardised_sum([VARIANTS[METHOD_SCORE], knn], unlabeled,
                                [VARIANTS[METHOD_SCORE], knn_unlabeled(unlabeled[0], skip_self=True)])
    called_normal = knn_called_normal(unlabeled[0], VARIANTS[METHOD_SCORE](*unlabeled), detector.threshold_)
    combined_called_normal = standardised_sum([VARIANTS[METHOD_SCORE], called_normal], unlabeled,
                                              [VARIANTS[METHOD_SCORE], called_normal])
    variants = {**VARIANTS, KNN: knn, METHOD_PLUS_KNN: combined, METHOD_PLUS_KNN_CALLED_NORMAL: combined_called_normal}
    return {name: detection_metrics(torch.from_numpy(score(*dev).astype(np.float64)),
                                    data.test_kind)["auroc"]["all"] for name, score in variants.items()}


def score_inputs(detector: AngularDINO, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Embeddings and their cosines to the anomaly and the normal prototypes."""
    emb = detector.embed(images)
    cos = emb @ detector.prototype_vectors_.T
    return emb, cos[:, list(detector.anomaly_prototypes_)], cos[:, list(detector.normal_prototypes_)]


def verdicts(group_means: dict[str, dict[str, float]]) -> list[str]:
    """Each variant's suite mean, its change against METHOD §8, its worst group change, and the rule's verdict."""
    names = list(next(iter(group_means.values())))
    suite = {name: float(np.mean([means[name] for means in group_means.values()])) for name in names}
    lines = ["| score | suite mean | vs METHOD §8 | worst group change | kept by the rule |", "|---|---|---|---|---|"]
    for name in names:
        worst = min(means[name] - means[METHOD_SCORE] for means in group_means.values())
        gain = suite[name] - suite[METHOD_SCORE]
        kept = "—" if name == METHOD_SCORE else ("yes" if gain >= GAIN and worst >= -WORST_GROUP_LOSS else "no")
        lines.append(f"| {name} | {suite[name]:.4f} | {gain:+.4f} | {worst:+.4f} | {kept} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories, or trees of them (a bench's runs/)")
    parser.add_argument("--section", default="score_variants",
                        help="BENCHMARKS.md section to write (another name keeps the existing tables)")
    parser.add_argument("--title", default="Other anomaly scores from trained models, on the development set")
    args = parser.parse_args()
    runs = finished_runs(args.runs)
    if not runs:
        parser.error("no finished run (config.yaml and model.pt) in the paths given")
    names = [*VARIANTS, KNN, METHOD_PLUS_KNN, METHOD_PLUS_KNN_CALLED_NORMAL]
    lines = header(args.title) + [
        "Dev AUROC (all) of each finished run's saved teacher under other scores (A = anomaly prototypes, "
        "N = normal prototypes, cosines); nothing retrained, the test split never read.", "",
        "| run | group | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    by_group: dict[str, list[dict[str, float]]] = {}
    for run in runs:
        aurocs = run_aurocs(run)
        by_group.setdefault(group_of(run), []).append(aurocs)
        lines.append(f"| {run.name} | {group_of(run)} | " + " | ".join(f"{aurocs[n]:.4f}" for n in names) + " |")
        print(lines[-1], flush=True)
    group_means = {group: {n: float(np.mean([a[n] for a in rows])) for n in names} for group, rows in by_group.items()}
    lines += ["", "Group means (runs per group: " + ", ".join(f"{g} {len(r)}" for g, r in by_group.items()) + "):",
              "", "| group | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines += [f"| {group} | " + " | ".join(f"{means[n]:.4f}" for n in names) + " |"
              for group, means in group_means.items()]
    lines += ["", f"DEVELOPERS.md's rule for a score switch: suite mean (mean of the group means) at least "
              f"+{GAIN} above METHOD §8 and no group mean below it by more than {WORST_GROUP_LOSS}.", ""]
    lines += verdicts(group_means)
    print("\n".join(lines[-len(names) - 2:]))
    write_section(args.section, lines)


if __name__ == "__main__":
    main()
