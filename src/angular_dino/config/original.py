"""The original AngularDINO configuration keys, so that its `config.yml` runs as written: renamed keys, epoch-valued
keys, keys that this implementation fixes to one value, keys that must agree with another key, keys that mean
nothing here (one notice each), and the original's spellings of values (one-element class lists, `tea-stu`,
`PUFashionMNIST`). Settings in either spelling become native `Config` values."""
from __future__ import annotations

import difflib
import math
from typing import Any, Mapping

from angular_dino.config.checks import check_type, shown
from angular_dino.config.schema import FIELDS, HINTS

RENAMED_KEYS = {"student_tmp": "student_temp", "batch_size_per_gpu": "batch_size", "data_path": "data_root",
                "hidden_dim": "head_hidden_dim", "resize": "image_size"}
EPOCH_KEYS = {  # original key (in epochs) -> native key (fraction of training)
    "warmup_epochs": "warmup_fraction",
    "warmup_teacher_temp_epochs": "teacher_temp_warmup_fraction",
    "lambda_converge": "lambda_converge_fraction",
    "margin_start_epoch": "margin_start_fraction",
    "freeze_last_layer": "freeze_last_layer_fraction",
}
_LAUNCHER = "belonged to the original setup"
_DROPOUT = "was read only by the original's `resnet50_drop` backbone, which this implementation does not have"
IGNORED_KEYS = {  # key -> why it means nothing here (the notice: "`key` is ignored: it ...")
    **{key: _LAUNCHER for key in ("clearml", "use_clearml", "project_name", "task_name", "gpu_num", "port",
                                  "dist_url", "dist_backend", "world_size", "rank", "local_rank", "num_workers",
                                  "use_fp16", "saveckp_freq")},
    "description": "was the free text of the original's description.txt",
    "patch_size": "sized the patches of the original's ViT backbones, which this implementation does not have",
    "norm_last_layer": "chose a trainable magnitude for the DINO head's last layer; here that layer always has "
                       "unit-length rows (METHOD §3)",
    "arcface_warmup": "warmed up the original's ArcFace margin; here the margins switch on at margin_start_fraction",
    "emb_warmup_teacher_temp_epochs": "timed a warm-up of the L_ANG teacher temperature, which is constant here "
                                      "(emb_teacher_temp)",
    "drop_rate": _DROPOUT, "drop_path_rate": _DROPOUT, "drop_block_rate": _DROPOUT,
}
FIXED_KEYS = {  # key -> (the only value this implementation has, values that spell it, what it is)
    "nlayers": (2, (2,), "the DINO head's MLP has 2 layers (METHOD §3)"),
    "use_bn_in_head": (False, (False,), "the DINO head has no batch norm (METHOD §3)"),
    "optimizer": ("adamw", ("adamw", "AdamW"), "the optimiser is AdamW (METHOD §9)"),
    "transform": (None, (None, "None", "none"), "the augmentation comes from `augmentation`"),
}
TIED_KEYS = {  # key -> (native key it must equal, why)
    "bottleneck_dim": ("emb_dim", "the DINO head's bottleneck is the embedding (METHOD §3)"),
    "emb_warmup_teacher_temp": ("emb_teacher_temp", "the L_ANG teacher temperature has no warm-up here"),
    "final_emb_student_temp": ("prototype_student_temp", "the L_ANG student temperature is constant here"),
}
CLASS_KEYS = ("normal_class", "unseen_anomaly_class")
MARGIN_SPELLINGS = {"both": "both", "teastu": "both", "stutea": "both", "teacherstudent": "both",
                    "studentteacher": "both", "tea": "teacher", "teacher": "teacher", "stu": "student",
                    "student": "student"}


def unknown_key_message(key: str) -> str:
    """The error for a key no spelling knows, with the closest known key when there is one."""
    known = list(FIELDS) + list(RENAMED_KEYS) + list(EPOCH_KEYS)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f" Did you mean `{close[0]}`?" if close else " The README lists every key."
    return f"unknown config key `{key}`.{hint}"


def one_class(key: str, value: Any) -> Any:
    """The original wrote a class as a one-element list (`normal_class: [5]`); a run has one normal class."""
    if not isinstance(value, (list, tuple)):
        return value
    if len(value) == 1:
        return value[0]
    raise ValueError(f"{key}: one class per run, got {shown(list(value))}; give one class (e.g. `{key}: 5`), or run "
                     "several classes as the cells of `angular-dino bench` (normal_classes: [...])")


def _check_fixed(key: str, value: Any) -> None:
    only, spellings, what = FIXED_KEYS[key]
    if not any(value == s and type(value) is type(s) for s in spellings):
        raise ValueError(f"{key}: only {only!r} is implemented ({what}), got {shown(value)}; remove the key or set it "
                         f"to {only!r}")


def to_native(raw: Mapping[str, Any], notices: list[str], errors: list[str]) -> tuple[dict, dict, dict]:
    """Split settings into native values, epoch-valued original keys ({native: (original, epochs)}) and keys tied
    to a native key ({original: value})."""
    values: dict[str, Any] = {}
    in_epochs: dict[str, tuple[str, Any]] = {}
    tied: dict[str, Any] = {}
    spelled: dict[str, str] = {}  # native name -> the key that set it
    for key, value in raw.items():
        try:
            if key in IGNORED_KEYS:
                notices.append(f"note: config key `{key}` is ignored: it {IGNORED_KEYS[key]}.")
            elif key in FIXED_KEYS:
                _check_fixed(key, value)
            elif key in TIED_KEYS:
                tied[key] = value
            elif key in EPOCH_KEYS:
                in_epochs[EPOCH_KEYS[key]] = (key, value)
            elif key in RENAMED_KEYS or key in FIELDS:
                name = RENAMED_KEYS.get(key, key)
                if name in values:
                    errors.append(f"{key}: give either `{spelled[name]}` or `{key}`, not both")
                values[name], spelled[name] = one_class(key, value) if name in CLASS_KEYS else value, key
            else:
                errors.append(unknown_key_message(str(key)))
        except ValueError as exc:
            errors.append(str(exc))
    for name, (key, _) in in_epochs.items():
        if name in values:
            errors.append(f"{key}: give either `{key}` (epochs) or `{name}` (fraction of training), not both")
    return values, in_epochs, tied


def merge(file: tuple[dict, dict, dict], overrides: tuple[dict, dict, dict], errors: list[str]) -> dict[str, Any]:
    """Overrides win over the file, whichever spelling (native or original) either one used; epoch counts become
    fractions of the run's `epochs`; a tied key must agree with the value its native key ends up with."""
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
    errors.extend(_tied_errors({**file[2], **overrides[2]}, values))
    return values


def _tied_errors(tied: Mapping[str, Any], values: Mapping[str, Any]) -> list[str]:
    """Each tied original key against its native key's final value (a wrong native value is reported elsewhere)."""
    errors = []
    for key, value in tied.items():
        name, why = TIED_KEYS[key]
        try:
            target = check_type(name, values.get(name, FIELDS[name].default), HINTS[name])
        except ValueError:
            continue
        try:
            if not math.isclose(check_type(key, value, HINTS[name]), target):
                errors.append(f"{key}: must equal {name} ({target}) because {why}, got {shown(value)}; remove {key} "
                              f"or set it to {target}")
        except ValueError as exc:
            errors.append(str(exc))
    return errors


def native_dataset_name(value: Any) -> Any:
    """Accept the original spellings (`PUFashionMNIST`, `FashionMNIST`, `fashion-mnist`, `PUCIFAR10`, `SVHN`)."""
    if not isinstance(value, str):
        return value
    key = "".join(c for c in value.lower() if c.isalnum())
    key = key[2:] if key.startswith("pu") else key
    return {"fashionmnist": "fashion_mnist", "digits": "digits", "mnist": "mnist", "cifar10": "cifar10",
            "svhn": "svhn"}.get(key, value)


def native_margin_type(value: Any) -> Any:
    """Accept the original spellings of margin_type (`tea-stu` for both margins, `tea`, `stu`)."""
    if not isinstance(value, str):
        return value
    return MARGIN_SPELLINGS.get("".join(c for c in value.lower() if c.isalnum()), value)
