"""Typed settings: YAML + `key=value` overrides, validation, and the original AngularDINO keys.

Every setting is one field of `Config` with its default and a one-line doc (the README's key table
is checked against these docs by a test). Schedule points are fractions of training so that a short
run keeps the shape of the original 200-epoch schedule; the original epoch-valued keys
(`warmup_epochs`, `lambda_converge`, ...) are accepted and converted with the run's `epochs`.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from angular_dino.errors import UserError


def setting(default: Any, doc: str, *, low: float | None = None, high: float | None = None,
            choices: Sequence[str] | None = None, open_low: bool = False) -> Any:
    """A config field: its default, a doc line and the allowed range or choices."""
    return field(default=default, metadata={"doc": doc, "low": low, "high": high,
                                            "choices": choices, "open_low": open_low})


MARGIN_TYPES = ("student", "teacher", "both")
AUGMENTATIONS = ("digits", "clothing", "natural")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
FOLDER = "folder"  # the data source of a user's own images (data/folder.py)
METHODS = ("angular_dino", "iforest", "ae", "deepsvdd", "deepsad", "abc", "loe", "soel", "pu", "puae", "pusvdd")


@dataclass(frozen=True)
class Config:
    """Every setting of a run. `None` on a dataset-dependent key means "the dataset's default"."""

    # --- run ---------------------------------------------------------------------------------
    method: str = setting("angular_dino", "Detector to train: `angular_dino` or a baseline of METHOD §10 (`iforest`, "
                                          "`ae`, `deepsvdd`, `deepsad`, `abc`, `loe`, `soel`, `pu`, `puae`, "
                                          "`pusvdd`).", choices=METHODS)
    seed: int = setting(0, "Seed of the PU split, initialisation, sampler and augmentation.", low=0)
    output_dir: str = setting("runs/{dataset}_c{normal_class}_u{unseen_anomaly_class}_s{seed}",
                              "Run directory; `{key}` is replaced by that key's value.")
    device: str = setting("auto", "`auto` (a CUDA GPU when present, bf16 autocast there), `cpu` or `cuda`.",
                          choices=DEVICES)
    num_threads: int | None = setting(None, "CPU threads for torch; null = torch's default (all cores).", low=1)
    diagnostic_test_metrics: bool = setting(
        False, "Diagnostic only: also log test AUROC every epoch (labelled `diagnostic_test_*`, never used "
               "for any choice).")

    # --- compute and checkpoints -------------------------------------------------------------
    checkpoint_every_iters: int = setting(0, "Also write checkpoints/last.pt every this many iterations "
                                             "(0 = only at the end of each epoch).", low=0)
    deterministic: bool | None = setting(None, "Deterministic algorithms (same seed, same device: identical "
                                               "results); null = on for CPU, off for CUDA.")
    precision: str = setting("auto", "`auto` (bf16 autocast on CUDA and on CPUs with AMX or AVX-512-BF16, else "
                                     "fp32), `bf16`, `fp16` (CUDA only, "
                                     "with a gradient scaler) or `fp32`.", choices=PRECISIONS)
    compile: bool = setting(False, "torch.compile the backbones (faster on GPU after a warm-up).")
    channels_last: bool = setting(True, "Keep the networks in the channels-last memory format.")

    # --- data --------------------------------------------------------------------------------
    dataset: str = setting("fashion_mnist", "Data source: `fashion_mnist`, `mnist`, `cifar10`, `svhn`, `digits` "
                                            "(scikit-learn's 8x8 digits) or `folder` (your own images, in data_dir).")
    data_root: str | None = setting(None, "Directory with the dataset files; null = the system copy or the cache.")
    download: bool = setting(True, "Download from the official source (checksum-verified) when no local copy exists.")
    image_size: int | None = setting(None, "Side of the square training images; null = the dataset's own.", low=8)
    normal_class: int = setting(0, "Class treated as normal.", low=0)
    unseen_anomaly_class: int | None = setting(9, "Anomaly class kept out of training (null = none).", low=0)
    n_unlabeled_normal: int | None = setting(None, "Normal images in U (null = dataset default; 4500).", low=1)
    n_unlabeled_anomaly: int | None = setting(None, "Contaminating anomalies in U (null = dataset default; 250).",
                                              low=0)
    n_positive: int | None = setting(None, "Labeled anomalies P (null = dataset default; 250).", low=1)
    n_test_normal: int | None = setting(None, "Most normal test images (null = dataset default; 1000).", low=1)
    n_test_seen: int | None = setting(None, "Seen-class anomalies in the test set (null = dataset default; 500).",
                                      low=0)
    n_test_unseen: int | None = setting(None, "Unseen-class anomalies in the test set (null = dataset default; 500).",
                                        low=0)
    val_fraction: float = setting(0.1, "Part of U and of P held out for validation (PU labels only).",
                                  low=0.0, high=0.5)

    # --- folder data -------------------------------------------------------------------------
    data_dir: str | None = setting(None, "With `dataset: folder`: the folder holding `unlabeled/` and `positive/` "
                                         "(and optionally `test/normal/`, `test/anomaly/`, `test/unseen.txt`).")
    skip_unreadable: bool = setting(False, "With `dataset: folder`: skip unreadable or non-image files with a "
                                           "warning instead of stopping with an error.")

    # --- threshold -----------------------------------------------------------------------------
    threshold_rule: str = setting("val_f1", "How the threshold for 0/1 labels is chosen from training data: "
                                            "`val_f1` (best F1 of P against U on the validation part) or "
                                            "`contamination` (that quantile of unlabeled training scores).",
                                  choices=("val_f1", "contamination"))
    contamination: float = setting(0.05, "Assumed share of anomalies in the unlabeled data "
                                         "(used by threshold_rule: contamination).",
                                   low=0.0, high=0.5, open_low=True)

    # --- views -------------------------------------------------------------------------------
    augmentation: str | None = setting(None, "Augmentation recipe: `digits`, `clothing` or `natural` "
                                             "(null = the dataset's).", choices=AUGMENTATIONS)
    global_crops_scale: tuple[float, float] = setting((0.7, 1.0), "Area range of the 2 global crops.")
    local_crops_number: int = setting(8, "Number of local crops per image.", low=0)
    local_crops_scale: tuple[float, float] = setting((0.2, 0.5), "Area range of the local crops.")
    local_crop_size: int | None = setting(None, "Side of a local crop in pixels (null = 3/7 of image_size).",
                                          low=4)

    # --- model -------------------------------------------------------------------------------
    arch: str = setting("resnet18", "Backbone: `resnet18` (stride-1 stem) or a narrower CPU variant "
                                    "(`resnet_cpu`, `resnet_tiny`).")
    emb_dim: int = setting(64, "Dimension of the backbone embedding e.", low=2)
    head_hidden_dim: int = setting(128, "Hidden width of the DINO head MLP.", low=1)
    out_dim: int = setting(256, "Logits of the DINO head's last layer.", low=2)
    prototype_num: int = setting(100, "Number of learnable prototypes K.", low=2)
    pt_num: int = setting(10, "Prototypes identified as normal, and as anomalous.", low=1)

    # --- losses ------------------------------------------------------------------------------
    warmup_teacher_temp: float = setting(0.04, "DINO teacher temperature at the start of its warm-up.",
                                         low=0.0, open_low=True)
    teacher_temp: float = setting(0.04, "DINO teacher temperature after its warm-up.", low=0.0, open_low=True)
    teacher_temp_warmup_fraction: float = setting(0.15, "Part of training over which the teacher temperature "
                                                        "warms up.", low=0.0, high=1.0)
    student_temp: float = setting(0.1, "DINO student temperature.", low=0.0, open_low=True)
    emb_teacher_temp: float = setting(0.04, "Teacher temperature of the prototype loss L_ANG.", low=0.0,
                                      open_low=True)
    prototype_student_temp: float = setting(0.1, "Student temperature of L_ANG.", low=0.0, open_low=True)
    center_momentum: float = setting(0.9, "EMA momentum of the teacher centres.", low=0.0, high=1.0)
    lambda_end: float = setting(1.0, "Final weight of L_ANG.", low=0.0)
    lambda_converge_fraction: float = setting(0.5, "Part of training at which lambda reaches lambda_end.",
                                              low=0.0, high=1.0)
    margin: float = setting(0.5, "Angular margin m in radians.", low=0.0, high=math.pi / 2)
    margin_type: str = setting("both", "Where margins apply: `student` (additive), `teacher` (subtractive), "
                                       "`both`.", choices=MARGIN_TYPES)
    margin_start_fraction: float = setting(0.25, "Part of training after which the margins apply.",
                                           low=0.0, high=1.0)
    identify_top_k: int = setting(5, "Most similar prototypes each image votes for in identification.", low=1)
    use_sampler: bool = setting(True, "Weighted sampler so that batches are about half positive.")
    use_weight: bool = setting(True, "Weight each sample's loss by N/(2 N_U) or N/(2 N_P).")

    # --- optimisation ------------------------------------------------------------------------
    epochs: int = setting(200, "Training epochs.", low=1)
    batch_size: int = setting(128, "Images per batch (per process).", low=2)
    lr: float = setting(5e-4, "Peak learning rate at batch 256 (scaled linearly with the batch).", low=0.0)
    min_lr: float = setting(1e-6, "Learning rate at the end of the cosine decay.", low=0.0)
    warmup_fraction: float = setting(0.15, "Part of training with linear learning-rate warm-up.",
                                     low=0.0, high=1.0)
    weight_decay: float = setting(0.04, "Weight decay at the start (cosine schedule).", low=0.0)
    weight_decay_end: float = setting(0.4, "Weight decay at the end.", low=0.0)
    momentum_teacher: float = setting(0.996, "Teacher EMA momentum at the start (cosine to 1).",
                                      low=0.0, high=1.0)
    clip_grad: float = setting(3.0, "Gradient-norm clipping (0 = off).", low=0.0)
    freeze_last_layer_fraction: float = setting(0.005, "Part of training with the head's last layer and the "
                                                       "prototypes frozen.", low=0.0, high=1.0)

    # --- baselines (METHOD §10) -----------------------------------------------------------------
    baseline_epochs: int = setting(100, "Training epochs of the deep baselines (the SVDD family pre-trains an "
                                        "autoencoder for as many first).", low=1)
    baseline_lr: float = setting(1e-4, "Adam learning rate of the deep baselines.", low=0.0, open_low=True)
    baseline_weight_decay: float = setting(1e-3, "Adam weight decay of the deep baselines.", low=0.0)
    baseline_batch_size: int = setting(128, "Batch size of the deep baselines.", low=1)
    baseline_image_size: int = setting(32, "Side the baselines resize images to (a multiple of 8; grayscale is "
                                           "repeated to 3 channels, values in [0, 1]).", low=8)
    baseline_precision: str = setting("auto", "Arithmetic of the deep baselines' networks: `auto` (bf16 where the "
                                              "hardware multiplies bfloat16 natively: CPUs with AMX or AVX-512-BF16, "
                                              "GPUs with bf16; else fp32), `fp32` (as published) or `bf16` (bfloat16 "
                                              "autocast; scores and losses stay float32).",
                                      choices=("auto", "fp32", "bf16"))
    alpha: float = setting(0.1, "Assumed anomaly share of U for `pu` (class prior), `puae`, `pusvdd`, `loe`, `soel`.",
                           low=0.0, high=1.0, open_low=True)
    deepsad_eta: float = setting(1.0, "Weight of the labeled anomalies in the DeepSAD loss.", low=0.0)
    loe_mode: str = setting("soft", "Latent outlier exposure in `loe` and `soel`: `soft` (0.5 normal + 0.5 "
                                    "anomaly loss) or `hard` (anomaly loss).", choices=("soft", "hard"))
    iforest_trees: int = setting(100, "Trees of the IsolationForest baseline.", low=1)
    iforest_max_samples: int = setting(256, "Images drawn to grow each IsolationForest tree (at most all of U).",
                                       low=2)

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML-ready values (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(Config)}
HINTS: dict[str, Any] = typing.get_type_hints(Config)


def _field_names(first: str, last: str) -> tuple[str, ...]:
    """The names of Config's fields from `first` to `last`, in declaration order (a section of the class)."""
    names = list(FIELDS)
    return tuple(names[names.index(first):names.index(last) + 1])


# Settings read only by AngularDINO (its arithmetic, views, model, losses, optimisation) and settings read
# only by the baselines: a change in one kind's settings leaves the other kind's stored runs and bench cells
# valid, so a sweep built up over sessions survives a new default elsewhere.
ANGULAR_DINO_ONLY_KEYS = ("precision", "compile", "channels_last",
                          *_field_names("augmentation", "freeze_last_layer_fraction"))
BASELINE_ONLY_KEYS = _field_names("baseline_epochs", "iforest_max_samples")


def keys_unused_by(method: str) -> tuple[str, ...]:
    """Settings that cannot change the results of a run of `method`."""
    return BASELINE_ONLY_KEYS if method == "angular_dino" else ANGULAR_DINO_ONLY_KEYS

# Original AngularDINO keys.
RENAMED_KEYS = {"student_tmp": "student_temp", "batch_size_per_gpu": "batch_size", "data_path": "data_root"}
EPOCH_KEYS = {  # original key (in epochs) -> native key (fraction of training)
    "warmup_epochs": "warmup_fraction",
    "warmup_teacher_temp_epochs": "teacher_temp_warmup_fraction",
    "lambda_converge": "lambda_converge_fraction",
    "margin_start_epoch": "margin_start_fraction",
    "freeze_last_layer": "freeze_last_layer_fraction",
}
IGNORED_KEYS = ("clearml", "use_clearml", "project_name", "task_name", "gpu_num", "port", "dist_url",
                "dist_backend", "world_size", "rank", "local_rank", "num_workers", "use_fp16", "saveckp_freq")


def _check_type(name: str, value: Any, hint: Any) -> Any:
    """Return `value` converted to the field's type, or raise a message naming the key."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        if value is None:
            return None
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ValueError(f"{name}: expected a pair like [0.2, 0.5], got {value!r}")
        return tuple(_check_type(name, v, float) for v in value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name}: expected a whole number, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, str):  # YAML 1.1 reads `5e-4` as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"{name}: expected text, got {value!r}")
        return value
    raise TypeError(f"unsupported type {hint} for {name}")


def _check_range(name: str, value: Any) -> None:
    meta = FIELDS[name].metadata
    for v in value if isinstance(value, tuple) else (value,):
        if v is None or isinstance(v, (str, bool)):
            continue
        low, high = meta["low"], meta["high"]
        if low is not None and (v < low or (meta["open_low"] and v == low)):
            bound = f"greater than {low}" if meta["open_low"] else f"at least {low}"
            raise ValueError(f"{name}: must be {bound}, got {v}")
        if high is not None and v > high:
            raise ValueError(f"{name}: must be at most {high:g}, got {v}")
    if meta["choices"] and value is not None and value not in meta["choices"]:
        raise ValueError(f"{name}: must be one of {', '.join(meta['choices'])}; got {value!r}")


def _unknown_key_message(key: str) -> str:
    known = list(FIELDS) + list(RENAMED_KEYS) + list(EPOCH_KEYS)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f" Did you mean `{close[0]}`?" if close else " The README lists every key."
    return f"unknown config key `{key}`.{hint}"


def _to_native(raw: Mapping[str, Any], notices: list[str], errors: list[str]) -> tuple[dict, dict]:
    """Split settings into native values and epoch-valued original keys ({native: (original, epochs)})."""
    values: dict[str, Any] = {}
    in_epochs: dict[str, tuple[str, Any]] = {}
    spelled: dict[str, str] = {}  # native name -> the key that set it
    for key, value in raw.items():
        if key in IGNORED_KEYS:
            notices.append(f"note: config key `{key}` belonged to the original setup and is ignored.")
        elif key in EPOCH_KEYS:
            in_epochs[EPOCH_KEYS[key]] = (key, value)
        elif key in RENAMED_KEYS or key in FIELDS:
            name = RENAMED_KEYS.get(key, key)
            if name in values:
                errors.append(f"{key}: give either `{spelled[name]}` or `{key}`, not both")
            values[name], spelled[name] = value, key
        else:
            errors.append(_unknown_key_message(str(key)))
    for name, (key, _) in in_epochs.items():
        if name in values:
            errors.append(f"{key}: give either `{key}` (epochs) or `{name}` (fraction of training), not both")
    return values, in_epochs


def _merge(file: tuple[dict, dict], overrides: tuple[dict, dict], errors: list[str]) -> dict[str, Any]:
    """Overrides win over the file, whichever spelling (native or original) either one used."""
    values, in_epochs = dict(file[0]), dict(file[1])
    for name in overrides[0]:
        in_epochs.pop(name, None)
    for name in overrides[1]:
        values.pop(name, None)
    values.update(overrides[0])
    in_epochs.update(overrides[1])
    epochs = values.get("epochs", FIELDS["epochs"].default)
    for name, (key, count) in in_epochs.items():
        try:
            count = _check_type(key, count, float)
        except ValueError as exc:
            errors.append(str(exc))
            continue
        values[name] = min(count / epochs, 1.0) if isinstance(epochs, int) and epochs > 0 else 0.0
    return values


def _normalise_dataset_name(value: Any) -> Any:
    """Accept the original spellings (`PUFashionMNIST`, `FashionMNIST`, `fashion-mnist`, `PUCIFAR10`, `SVHN`)."""
    if not isinstance(value, str):
        return value
    key = "".join(c for c in value.lower() if c.isalnum())
    key = key[2:] if key.startswith("pu") else key
    return {"fashionmnist": "fashion_mnist", "digits": "digits", "mnist": "mnist", "cifar10": "cifar10",
            "svhn": "svhn"}.get(key, value)


def build_config(raw: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> tuple[Config, list[str]]:
    """Validate settings (file values, then overrides on top) and fill the dataset defaults.

    Returns the resolved config and notices (ignored keys). Raises `UserError` listing every problem.
    """
    from angular_dino.data.folder import folder_defaults
    from angular_dino.data.sources import DATASETS  # the dataset catalogue knows classes and sizes
    from angular_dino.method.model.backbones import BACKBONES

    notices: list[str] = []
    errors: list[str] = []
    values = _merge(_to_native(raw, notices, errors), _to_native(overrides or {}, notices, errors), errors)
    if "dataset" in values:
        values["dataset"] = _normalise_dataset_name(values["dataset"])
    checked: dict[str, Any] = {}
    for name, value in values.items():
        try:
            checked[name] = _check_type(name, value, HINTS[name])
            _check_range(name, checked[name])
        except ValueError as exc:
            errors.append(str(exc))
            checked.pop(name, None)  # judge the other keys against the default
    config = Config(**checked)
    errors.extend(_cross_field_errors(config, DATASETS, BACKBONES))
    if errors:
        raise UserError("invalid configuration:\n  " + "\n  ".join(errors))
    spec = folder_defaults(config.data_dir) if config.dataset == FOLDER else DATASETS[config.dataset]
    return _with_dataset_defaults(config, spec), notices


def _cross_field_errors(config: Config, datasets: Mapping[str, Any], backbones: Mapping[str, Any]) -> list[str]:
    errors = []
    if config.dataset == FOLDER and config.data_dir is None:
        errors.append("data_dir: dataset folder needs data_dir, the folder holding unlabeled/ and positive/")
    elif config.dataset not in datasets and config.dataset != FOLDER:
        errors.append(f"dataset: unknown source {config.dataset!r}; choose one of {', '.join([*datasets, FOLDER])}")
        return errors
    n_classes = math.inf if config.dataset == FOLDER else datasets[config.dataset].num_classes  # a folder has no classes
    for key in ("normal_class", "unseen_anomaly_class"):
        value = getattr(config, key)
        if value is not None and value >= n_classes:
            errors.append(f"{key}: {config.dataset} has classes 0..{n_classes - 1}, got {value}")
    if config.normal_class == config.unseen_anomaly_class:
        errors.append("unseen_anomaly_class: must differ from normal_class "
                      f"(both are {config.normal_class}); use null for no unseen class")
    if config.arch not in backbones:
        close = difflib.get_close_matches(config.arch, list(backbones), n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        errors.append(f"arch: unknown backbone {config.arch!r}; choose one of {', '.join(backbones)}.{hint}")
    if 2 * config.pt_num > config.prototype_num:
        errors.append(f"pt_num: {config.pt_num} normal + {config.pt_num} anomaly prototypes need "
                      f"prototype_num >= {2 * config.pt_num}, got {config.prototype_num}")
    if config.identify_top_k > config.prototype_num:
        errors.append(f"identify_top_k: at most prototype_num ({config.prototype_num}), got {config.identify_top_k}")
    for key in ("global_crops_scale", "local_crops_scale"):
        low, high = getattr(config, key)
        if not 0 < low <= high <= 1:
            errors.append(f"{key}: need 0 < low <= high <= 1, got [{low}, {high}]")
    if config.min_lr > config.lr:
        errors.append(f"min_lr: must not exceed lr ({config.lr}), got {config.min_lr}")
    try:
        format_output_dir(config)
    except (KeyError, ValueError, IndexError) as exc:
        errors.append(f"output_dir: cannot fill the template {config.output_dir!r} ({exc!r}); "
                      "use `{key}` with config keys only")
    return errors


def _with_dataset_defaults(config: Config, spec: Any) -> Config:
    """Replace `None` on dataset-dependent keys by the dataset's defaults, so config.yaml says what ran."""
    filled: dict[str, Any] = {k: v for k, v in spec.default_sizes.items() if getattr(config, k) is None}
    image_size = config.image_size or spec.image_size
    filled["image_size"] = image_size
    filled["augmentation"] = config.augmentation or spec.augmentation
    filled["local_crop_size"] = config.local_crop_size or max(4, round(image_size * 3 / 7))
    resolved = dataclasses.replace(config, **filled)
    return dataclasses.replace(resolved, output_dir=format_output_dir(resolved))


def format_output_dir(config: Config) -> str:
    """Fill `{key}` placeholders of `output_dir` with config values."""
    return config.output_dir.format(**dataclasses.asdict(config))


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """`key=value` strings (values read as YAML) to a dict."""
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set expects key=value, got {pair!r}")
        try:
            overrides[key.strip()] = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as exc:
            raise UserError(f"--set {key}: value {text!r} is not valid YAML ({exc})") from None
    return overrides


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping; clear errors for a missing or malformed file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file {path} does not exist; pass an existing YAML file to --config")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise UserError(f"config file {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"config file {path} must hold key: value pairs, found a {type(data).__name__}")
    return data


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> tuple[Config, list[str]]:
    """Config from a YAML file plus `key=value` overrides; see `build_config`."""
    return build_config(read_yaml_mapping(path), parse_overrides(overrides))
