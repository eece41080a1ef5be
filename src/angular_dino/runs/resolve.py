"""From settings to the config a run uses: the config's own checks, the dataset's, the backbone's and the logger's,
together.

Every problem is reported at once in one `UserError`; a valid config gets its data-dependent defaults
(image size, augmentation, split sizes) filled in, so the saved config.yaml says what ran. The command
line, the bench and the scripts under benchmarks/ all resolve their configs here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from angular_dino.config import Config, build_config, parse_overrides, read_yaml_mapping
from angular_dino.data.defaults import data_errors, with_data_defaults
from angular_dino.method.model.backbones import backbone_errors
from angular_dino.runs.loggers import logger_errors


def resolve_config(raw: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> tuple[Config, list[str]]:
    """Validate settings (file values, then overrides on top) and fill the dataset defaults.

    Returns the resolved config and notices (ignored keys, downscaled images). Raises `UserError` listing every
    problem.
    """
    checked = build_config(raw, overrides)
    config = checked.require_valid([*data_errors(checked.config),
                                    *backbone_errors(checked.config.arch, checked.config.pretrained_weights),
                                    *logger_errors(checked.config)])
    config, notices = with_data_defaults(config)
    return config, [*checked.notices, *notices]


def load_config(path: str | Path | None, overrides: Sequence[str] = ()) -> tuple[Config, list[str]]:
    """Config from a YAML file (None: the defaults) plus `key=value` overrides; see `resolve_config`."""
    return resolve_config(read_yaml_mapping(path) if path is not None else {}, parse_overrides(overrides))
