"""`angular-dino evaluate`: metrics and plots of a finished run, on its own test split or on another folder.

Another folder is laid out as the folder source's test part: `normal/` and `anomaly/` (and optionally
`unseen.txt`), either directly or under `test/`. Results go to `evaluation.json` and the report files
in the output folder: the run directory for its own test split, `RUN/evaluate_<folder name>` for
another folder, unless `--out` says otherwise.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from angular_dino.config import Config, config_from_dict
from angular_dino.data.folder import find_test_part, test_image_kinds
from angular_dino.data.prepare import prepare_pu_data
from angular_dino.data.pu_split import kind_counts
from angular_dino.detection.base import BaseDetector, scores_of
from angular_dino.detection.metrics import detection_metrics, threshold_metrics
from angular_dino.errors import UserError
from angular_dino.report import write_report
from angular_dino.runs.registry import load_detector
from angular_dino.runs.report_inputs import build_report_inputs, run_title, write_run_report
from angular_dino.runs.score import read_for_detector
from angular_dino.storage import save_json


def read_run(run_dir: Path) -> tuple[Config, BaseDetector, list[dict[str, Any]]]:
    """The run's config, its detector (model.pt) and its training history (metrics.jsonl)."""
    config_path, model_path, metrics_path = run_dir / "config.yaml", run_dir / "model.pt", run_dir / "metrics.jsonl"
    if not (config_path.is_file() and model_path.is_file()):
        raise UserError(f"{run_dir} is not a finished run (it needs config.yaml and model.pt); "
                        "pass the output_dir of a run that `train` completed")
    config = config_from_dict(yaml.safe_load(config_path.read_text()) or {})
    history = ([json.loads(line) for line in metrics_path.read_text().splitlines() if line.strip()]
               if metrics_path.is_file() else [])
    return config, load_detector(model_path), history


def _test_folder(data: Path) -> Path:
    return data / "test" if (data / "test").is_dir() else data


def _evaluation(scores: np.ndarray, kinds: torch.Tensor, detector: BaseDetector, config: Config, data: str,
                labels: torch.Tensor | None = None, class_names: tuple[str, ...] = ()) -> dict[str, Any]:
    threshold = float(detector.threshold_)
    at_threshold = threshold_metrics(scores, kinds.numpy(), threshold, None if labels is None else labels.numpy(),
                                     class_names)
    return {**detection_metrics(torch.from_numpy(scores), kinds), "threshold": threshold,
            "threshold_rule": config.threshold_rule, "at_threshold": at_threshold, "data": data,
            "n_test": kind_counts(kinds)}


def evaluate(run_dir: str | Path, data: str | Path | None = None, out: str | Path | None = None) -> dict[str, Any]:
    """Score a test set with the run's model, write evaluation.json and the report; returns the evaluation."""
    run_dir = Path(run_dir)
    config, detector, history = read_run(run_dir)
    if data is None:
        pu_data = prepare_pu_data(config)
        scores = scores_of(detector, pu_data.test_images)
        evaluation = _evaluation(scores, pu_data.test_kind, detector, config, "the run's test split",
                                 pu_data.test_labels, pu_data.class_names)
        out_dir = Path(out) if out else run_dir
        write_run_report(out_dir, detector, config, evaluation, history, pu_data, scores)
    else:
        test_dir = _test_folder(Path(data))
        if not test_dir.is_dir():
            raise UserError(f"--data {data} is not a folder; it must hold normal/ and anomaly/ (or test/normal/ and "
                            "test/anomaly/)")
        normal, anomaly, unseen = find_test_part(test_dir)
        images, _ = read_for_detector(detector, normal + anomaly)
        kinds = test_image_kinds(normal, anomaly, unseen)
        scores = scores_of(detector, images)
        evaluation = _evaluation(scores, kinds, detector, config, str(test_dir))
        out_dir = Path(out) if out else run_dir / f"evaluate_{Path(data).resolve().name}"
        write_report(out_dir, build_report_inputs(
            detector, title=f"{run_title(config)} · evaluated on {Path(data).name}", config=config, result=evaluation,
            history=history, test_images=images, test_scores=scores, test_kind=kinds, test_labels=None,
            class_names=(), gallery_images=None))
    save_json(evaluation, out_dir / "evaluation.json")
    return {**evaluation, "out_dir": str(out_dir)}
