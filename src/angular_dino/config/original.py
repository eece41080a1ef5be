"""The original AngularDINO configuration keys: renamed keys, epoch-valued keys, keys of its launcher that mean
nothing here, and its dataset spellings. Settings in either spelling become native `Config` values."""
from __future__ import annotations

import difflib
from typing import Any, Mapping

from angular_dino.config.checks import check_type
from angular_dino.config.schema import FIELDS

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


def unknown_key_message(key: str) -> str:
    """The error for a key no spelling knows, with the closest known key when there is one."""
    known = list(FIELDS) + list(RENAMED_KEYS) + list(EPOCH_KEYS)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f" Did you mean `{close[0]}`?" if close else " The README lists every key."
    return f"unknown config key `{key}`.{hint}"


def to_native(raw: Mapping[str, Any], notices: list[str], errors: list[str]) -> tuple[dict, dict]:
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
            errors.append(unknown_key_message(str(key)))
    for name, (key, _) in in_epochs.items():
        if name in values:
            errors.append(f"{key}: give either `{key}` (epochs) or `{name}` (fraction of training), not both")
    return values, in_epochs


def merge(file: tuple[dict, dict], overrides: tuple[dict, dict], errors: list[str]) -> dict[str, Any]:
    """Overrides win over the file, whichever spelling (native or original) either one used; epoch counts become
    fractions of the run's `epochs`."""
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
            count = check_type(key, count, float)
        except ValueError as exc:
            errors.append(str(exc))
            continue
        if epochs is None:  # the run's length comes from `steps`: an epoch count has nothing to be a fraction of
            if not any(error.startswith(f"{key}:") for error in errors):  # one problem of a key at a time
                errors.append(f"{key}: counts epochs, so the config must also set `epochs` (or give `{name}` "
                              "instead)")
            continue
        values[name] = min(count / epochs, 1.0) if isinstance(epochs, int) and epochs > 0 else 0.0
    return values


def native_dataset_name(value: Any) -> Any:
    """Accept the original spellings (`PUFashionMNIST`, `FashionMNIST`, `fashion-mnist`, `PUCIFAR10`, `SVHN`)."""
    if not isinstance(value, str):
        return value
    key = "".join(c for c in value.lower() if c.isalnum())
    key = key[2:] if key.startswith("pu") else key
    return {"fashionmnist": "fashion_mnist", "digits": "digits", "mnist": "mnist", "cifar10": "cifar10",
            "svhn": "svhn"}.get(key, value)
