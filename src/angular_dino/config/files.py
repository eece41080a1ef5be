"""Reading settings from the outside: a YAML file of key: value pairs, and `--set key=value` overrides."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import yaml

from angular_dino.errors import UserError


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
