"""`angular-dino init`: a starting config for a folder of the user's own images.

It names the data, shows what the defaults will make of it (image side, downscale, augmentation
recipe, the step budget) and lists the keys a user most often changes, at their defaults, so the
file is a place to start editing rather than a blank page. It is checked like any config before it
is written, and it never replaces an existing file.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from angular_dino.config import FOLDER
from angular_dino.errors import UserError
from angular_dino.runs.resolve import resolve_config
from angular_dino.storage import save_text

EDITABLE_KEYS = ("steps", "batch_size", "arch", "local_crops_number", "threshold_rule", "contamination", "seed")


def starting_config(data_dir: str | Path) -> str:
    """The YAML text of a checked starting config for the folder layout at `data_dir`."""
    data_dir = str(Path(data_dir))
    config, notices = resolve_config({"dataset": FOLDER, "data_dir": data_dir})
    lines = [
        "# A starting config for your own images (written by `angular-dino init`); train with",
        "#   angular-dino train --config THIS_FILE",
        "# Every key not written here keeps its default (the CPU profile; the README's key table lists them all).",
        *(f"# {notice.removeprefix('note: ')}" for notice in notices),
        yaml.safe_dump({"dataset": FOLDER, "data_dir": data_dir, "output_dir": "runs/{dataset}_s{seed}"},
                       sort_keys=False).rstrip(),
        f"image_size: null          # null = the images' own side, at most max_image_size: {config.image_size} here",
        f"augmentation: null        # null = `natural` for colour; grayscale: `digits` for strokes on a dark ground "
        f"(>= 78 % of pixels dark), else `clothing`: {config.augmentation} here",
        "# Training length counts optimiser steps, whatever the number of images; batch_size is lowered to the data.",
        yaml.safe_dump({key: getattr(config, key) for key in EDITABLE_KEYS}, sort_keys=False).rstrip(),
    ]
    return "\n".join(lines) + "\n"


def write_starting_config(data_dir: str | Path, out: str) -> str:
    """Write `starting_config` to `out` (`-`: return it for stdout); an existing file is never replaced."""
    text = starting_config(data_dir)
    if out != "-":
        path = Path(out)
        if path.exists():
            raise UserError(f"{path} exists; init never replaces a file: give another --out, or delete it first")
        save_text(text, path)
    return text
