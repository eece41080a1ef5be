"""From settings (a file's values, then overrides on top) to a checked `Config`, with every problem listed.

This is everything a config can tell about itself; what needs the data or the model code (the dataset's
classes and default sizes, the backbone names) is checked above this package, by `runs.resolve`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from angular_dino.config.checks import check_range, check_type, cross_field_errors
from angular_dino.config.original import merge, native_dataset_name, native_margin_type, to_native
from angular_dino.config.schema import HINTS, Config
from angular_dino.errors import UserError


@dataclass(frozen=True)
class CheckedConfig:
    """A config checked on its own. A value that failed its check is left at the default, and `errors` says why,
    so that the other keys are still judged (every problem is reported at once)."""

    config: Config
    notices: list[str]  # original keys that are ignored
    errors: list[str]

    def require_valid(self, other_errors: Sequence[str] = ()) -> Config:
        """The config, unless it or the checks of other layers (`other_errors`) found problems: then one
        `UserError` lists them all."""
        errors = [*self.errors, *other_errors]
        if errors:
            raise UserError("invalid configuration:\n  " + "\n  ".join(errors))
        return self.config


def build_config(raw: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> CheckedConfig:
    """Translate the original keys, check every value's type and range, then the rules across fields."""
    notices: list[str] = []
    errors: list[str] = []
    values = merge(to_native(raw, notices, errors), to_native(overrides or {}, notices, errors), errors)
    if "dataset" in values:
        values["dataset"] = native_dataset_name(values["dataset"])
    if "margin_type" in values:
        values["margin_type"] = native_margin_type(values["margin_type"])
    checked: dict[str, Any] = {}
    for name, value in values.items():
        try:
            checked[name] = check_type(name, value, HINTS[name])
            check_range(name, checked[name])
        except ValueError as exc:
            errors.append(str(exc))
            checked.pop(name, None)  # judge the other keys against the default
    config = Config(**checked)
    return CheckedConfig(config, notices, errors + cross_field_errors(config))
