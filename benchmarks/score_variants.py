"""Other anomaly scores from a trained AngularDINO model, on the development set (never the test split).

    .venv/bin/python benchmarks/score_variants.py RUN_DIR [RUN_DIR ...] [--section NAME --title TEXT]

For each finished AngularDINO run directory (its config.yaml and model.pt), rebuilds the run's PU
split and its development set (`angular_dino.data.development`: train-pool images the split did not use,
with the test protocol's sizes, as dev_eval.py uses), embeds them with the saved teacher, and compares METHOD §8's score with other
scores built from the same embeddings. Nothing is trained; the figures only suggest what to try next,
they change no default. The tables go to BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from angular_dino.data.development import development_set
from angular_dino.data.prepare import prepare_pu_data
from angular_dino.data.sources import load_dataset
from angular_dino.detection.metrics import detection_metrics
from angular_dino.runs.registry import load_detector
from angular_dino.runs.resolve import load_config
from record import header, write_section

Score = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (cos, emb, cos_A, cos_N)


def knn_unlabeled(train_embeddings: np.ndarray, k: int = 5) -> Score:
    """Minus the mean cosine to the k most similar unlabeled training images (mostly normal)."""
    bank = torch.from_numpy(train_embeddings)

    def score(cos, emb, cos_a, cos_n):
        return -(torch.from_numpy(emb) @ bank.T).topk(k, dim=1).values.mean(1).numpy()
    return score


VARIANTS: dict[str, Score] = {
    "METHOD §8: mean A − mean N": lambda cos, emb, a, n: a.mean(1) - n.mean(1),
    "max A − max N": lambda cos, emb, a, n: a.max(1) - n.max(1),
    "mean A − max N": lambda cos, emb, a, n: a.mean(1) - n.max(1),
    "− max N (nearest normal prototype only)": lambda cos, emb, a, n: -n.max(1),
    "− mean N (normal prototypes only)": lambda cos, emb, a, n: -n.mean(1),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--section", default="score_variants",
                        help="BENCHMARKS.md section to write (another name keeps the existing tables)")
    parser.add_argument("--title", default="Other anomaly scores from trained models, on the development set")
    args = parser.parse_args()
    lines = header(args.title) + [
        "Each table: one finished run's saved teacher, scored on dev_eval.py's development set (unused train-pool "
        "images, never the test split). A = anomaly prototypes, N = normal prototypes (cosines); nothing retrained."]
    means: dict[str, list[float]] = {}  # score -> AUROC (all) of each run
    for run in args.runs:
        config, _ = load_config(run / "config.yaml")
        detector = load_detector(run / "model.pt")
        data = prepare_pu_data(config)
        pool = load_dataset(config.dataset, config.data_root, config.download, config.image_size)
        images, kinds = development_set(config, data, pool)
        emb = detector.embed(images)
        cos = emb @ detector.prototype_vectors_.T
        cos_a = cos[:, list(detector.anomaly_prototypes_)]
        cos_n = cos[:, list(detector.normal_prototypes_)]
        unlabeled = data.train_images[~data.train_is_positive]
        variants = {**VARIANTS, "− mean cos to 5 nearest U images": knn_unlabeled(detector.embed(unlabeled))}
        lines += ["", f"`{run}` (normal {config.normal_class}, unseen {config.unseen_anomaly_class}):", "",
                  "| score | AUROC all | seen | unseen |", "|---|---|---|---|"]
        for name, score in variants.items():
            auroc = detection_metrics(torch.from_numpy(score(cos, emb, cos_a, cos_n).astype(np.float64)),
                                      kinds)["auroc"]
            lines.append(f"| {name} | {auroc['all']:.4f} | {auroc['seen']:.4f} | {auroc['unseen']:.4f} |")
            means.setdefault(name, []).append(auroc["all"])
        print("\n".join(lines[-len(variants) - 4:]), flush=True)
    lines += ["", f"Mean AUROC (all) over the {len(args.runs)} runs:", "", "| score | mean AUROC (all) |", "|---|---|"]
    lines += [f"| {name} | {np.mean(values):.4f} |" for name, values in means.items()]
    print("\n".join(lines[-len(means) - 2:]))
    write_section(args.section, lines)


if __name__ == "__main__":
    main()
