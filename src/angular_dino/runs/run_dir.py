"""The run directory: what a run writes, and the rules for reusing a directory.

A directory is reused only by the same run (same resolved config): it then resumes from its
checkpoint, or reports that it has finished. A directory holding a different run, or files that are
not a run, is refused before anything is written.
"""
from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any, Mapping

import yaml

from angular_dino.config import BEFORE_VALUES, RESUME_NEUTRAL_KEYS, Config, keys_unused_by
from angular_dino.errors import UserError
from angular_dino.storage import save_json, save_text

RUN_FILES = ("config.yaml", "metrics.jsonl", "result.json", "model.pt", "checkpoints/last.pt")


def setting_differences(saved: Mapping[str, Any], config: Config, *, shared_keys_only: bool = False) -> list[str]:
    """The settings of a stored run (its config as a dict) that differ from `config` in a way that can change
    its results: resume-neutral settings and those `config.method` does not read are left out.
    `shared_keys_only` also leaves out keys known to only one side (a setting added to a newer version), unless
    the schema says what runs without the key ran with (`BEFORE_VALUES`)."""
    current = config.to_dict()
    saved = {**BEFORE_VALUES, **saved}
    keys = (set(saved) & set(current)) if shared_keys_only else (set(saved) | set(current))
    keys -= {*RESUME_NEUTRAL_KEYS, *keys_unused_by(config.method)}
    return [f"{k}: {saved.get(k)!r} there, {current.get(k)!r} now" for k in sorted(keys)
            if saved.get(k) != current.get(k)]


class RunState(Enum):
    NEW = "new"
    RESUMABLE = "resumable"
    FINISHED = "finished"


class RunDirectory:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.config_path = self.path / "config.yaml"
        self.metrics_path = self.path / "metrics.jsonl"
        self.result_path = self.path / "result.json"
        self.model_path = self.path / "model.pt"
        self.checkpoint_path = self.path / "checkpoints" / "last.pt"

    def state_for(self, config: Config, restart: bool) -> RunState:
        """Check that this directory may hold `config`'s run and say how to continue; writes nothing."""
        if not self.path.exists():
            return RunState.NEW
        if not self.path.is_dir():
            raise UserError(f"output_dir {self.path} exists and is not a directory; choose another output_dir")
        if not any(self.path.iterdir()):
            return RunState.NEW
        if not self.config_path.is_file():
            raise UserError(f"output_dir {self.path} holds files but no AngularDINO run (no config.yaml); "
                            "choose an empty or new output_dir")
        if restart:
            return RunState.NEW
        differences = self._differences(config)
        if differences:
            shown = "; ".join(differences[:5]) + (" ..." if len(differences) > 5 else "")
            raise UserError(f"output_dir {self.path} holds a different run ({shown}). Choose another "
                            "output_dir, or pass --restart to replace that run.")
        if self.result_path.is_file():
            return RunState.FINISHED
        return RunState.RESUMABLE if self.checkpoint_path.is_file() else RunState.NEW

    def _differences(self, config: Config) -> list[str]:
        try:
            saved = yaml.safe_load(self.config_path.read_text()) or {}
        except yaml.YAMLError:
            raise UserError(f"{self.config_path} is not valid YAML; choose another output_dir") from None
        return setting_differences(saved, config)

    def start(self, config: Config) -> None:
        """Create the directory for a fresh run, replacing the files of an earlier run there."""
        self.path.mkdir(parents=True, exist_ok=True)
        for name in RUN_FILES:
            (self.path / name).unlink(missing_ok=True)
        save_text(yaml.safe_dump(config.to_dict(), sort_keys=False), self.config_path)

    def write_metrics(self, history: list[dict[str, Any]]) -> None:
        """Rewrite metrics.jsonl from the full history (so it always matches the checkpoint)."""
        save_text("".join(json.dumps(record) + "\n" for record in history), self.metrics_path)

    def write_result(self, result: dict[str, Any]) -> None:
        save_json(result, self.result_path)

    def read_result(self) -> dict[str, Any]:
        return json.loads(self.result_path.read_text())
