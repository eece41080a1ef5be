"""Typed settings: the schema, its checks, the original AngularDINO keys and YAML input (see each module)."""
from angular_dino.config.build import CheckedConfig, build_config
from angular_dino.config.files import parse_overrides, read_yaml_mapping
from angular_dino.config.schema import (BEFORE_VALUES, DEVELOPMENT, FIELDS, FOLDER, METHODS, RESUME_NEUTRAL_KEYS,
                                        Config, config_from_dict, format_output_dir, keys_unused_by)

__all__ = ["BEFORE_VALUES", "DEVELOPMENT", "FIELDS", "FOLDER", "METHODS", "RESUME_NEUTRAL_KEYS", "CheckedConfig",
           "Config", "build_config", "config_from_dict", "format_output_dir", "keys_unused_by", "parse_overrides",
           "read_yaml_mapping"]
