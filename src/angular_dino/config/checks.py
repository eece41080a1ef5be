"""The checks a config passes on its own: each value's type and range, then the rules across fields that need
nothing but the config (the checks that need the dataset catalogue or the backbones live with those)."""
from __future__ import annotations

import reprlib
import types
import typing
from typing import Any

from angular_dino.config.schema import FIELDS, Config, format_output_dir


_SHORT = reprlib.Repr()  # Python 3.11's Repr takes no keyword arguments
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxtuple, _SHORT.maxdict = 3, 6, 6, 6
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 60, 60, 40


def shown(value: Any) -> str:
    """`value` as an error message shows it: cut short, so that a YAML alias bomb or a huge number cannot make
    the message itself take minutes or gigabytes."""
    return _SHORT.repr(value)


def check_type(name: str, value: Any, hint: Any) -> Any:
    """Return `value` converted to the field's type, or raise a message naming the key."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        if value is None:
            return None
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ValueError(f"{name}: expected a pair like [0.2, 0.5], got {shown(value)}")
        return tuple(check_type(name, v, float) for v in value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name}: expected true or false, got {shown(value)}")
        return value
    if hint is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name}: expected a whole number, got {shown(value)}")
        return value
    if hint is float:
        if isinstance(value, str):  # YAML 1.1 reads `5e-4` as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name}: expected a number, got {shown(value)}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"{name}: expected text, got {shown(value)}")
        return value
    raise TypeError(f"unsupported type {hint} for {name}")


def check_range(name: str, value: Any) -> None:
    """Raise a message naming the key when `value` lies outside the field's limits or choices."""
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
        raise ValueError(f"{name}: must be one of {', '.join(meta['choices'])}; got {shown(value)}")


def cross_field_errors(config: Config) -> list[str]:
    """Problems between settings that the config alone can tell."""
    errors = []
    if config.normal_class == config.unseen_anomaly_class:
        errors.append("unseen_anomaly_class: must differ from normal_class "
                      f"(both are {config.normal_class}); use null for no unseen class")
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
