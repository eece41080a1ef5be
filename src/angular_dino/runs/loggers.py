"""Experiment loggers (`logger: tensorboard | mlflow`): the per-epoch records of metrics.jsonl, sent elsewhere too.

metrics.jsonl stays the run's own record; a logger receives the same records. Numeric fields become scalars at
step = the record's place in the history (a baseline's `epoch` restarts with each stage, the place does not); the
other fields (stage, prototype lists) go as text: TensorBoard's text summaries, MLflow's copy of metrics.jsonl.
A logger starts with the first epoch it is told of: a resumed fit hands it the whole restored history, so
TensorBoard's events are written afresh (tensorboard/ is replaced) and MLflow gets a new, complete run. Each needs
its optional extra; `logger_errors` says so before anything runs.
"""
from __future__ import annotations

import importlib.util
import json
import numbers
import shutil
from pathlib import Path
from typing import Any

from angular_dino.config import Config
from angular_dino.errors import UserError

PACKAGES = {"tensorboard": "tensorboard", "mlflow": "mlflow"}  # logger -> the module it needs


def logger_errors(config: Config) -> list[str]:
    """The config error for a logger whose package is not installed (none when it is, or for `none`)."""
    module = PACKAGES.get(config.logger)
    if module is None or importlib.util.find_spec(module) is not None:
        return []
    return [f"logger: {config.logger} needs the {module} package, which is not installed; "
            f"pip install 'angular-dino[{config.logger}]', or use logger: none"]


def split_record(record: dict[str, Any]) -> tuple[dict[str, float], dict[str, str]]:
    """A record's numeric fields (scalars) and the others as text (JSON)."""
    scalars, texts = {}, {}
    for key, value in record.items():
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            scalars[key] = float(value)
        else:
            texts[key] = json.dumps(value)
    return scalars, texts


class ExperimentLogger:
    """Sends each new epoch record of a run on; the base does nothing (`logger: none`)."""

    def __init__(self) -> None:
        self.logged = 0  # records of the history sent so far

    def log(self, history: list[dict[str, Any]]) -> None:
        """Send the records of `history` not sent yet."""
        for step in range(self.logged, len(history)):
            self._write(step, history[step], history)
        self.logged = len(history)

    def _write(self, step: int, record: dict[str, Any], history: list[dict[str, Any]]) -> None:
        """Send one record (`history` holds every record up to it)."""

    def close(self, finished: bool) -> None:
        """End logging; `finished` is False when the fit stopped or failed before its last epoch."""


class TensorBoardLogger(ExperimentLogger):
    """Event files in `directory` (replaced when the logger starts); the settings as the `config` text."""

    def __init__(self, directory: Path, config: Config) -> None:
        super().__init__()
        from torch.utils.tensorboard import SummaryWriter  # the tensorboard extra

        shutil.rmtree(directory, ignore_errors=True)
        self.writer = SummaryWriter(str(directory))
        self.writer.add_text("config", "\n".join(f"    {k}: {v!r}" for k, v in config.to_dict().items()))

    def _write(self, step: int, record: dict[str, Any], history: list[dict[str, Any]]) -> None:
        scalars, texts = split_record(record)
        for key, value in scalars.items():
            self.writer.add_scalar(key, value, step)
        for key, value in texts.items():
            self.writer.add_text(key, value, step)
        self.writer.flush()

    def close(self, finished: bool) -> None:
        self.writer.close()


class MLflowLogger(ExperimentLogger):
    """One MLflow run (named after the run directory, tagged with its path) in MLflow's tracking store and
    experiment (MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_NAME): the settings as parameters, the numeric fields as
    metrics, metrics.jsonl as an artifact."""

    def __init__(self, run_path: Path, config: Config) -> None:
        super().__init__()
        import mlflow  # the mlflow extra

        self.mlflow = mlflow
        try:
            mlflow.start_run(run_name=run_path.name, tags={
                "angular_dino.run_dir": str(run_path.resolve()), "angular_dino.method": config.method,
                "angular_dino.dataset": config.dataset})
        except mlflow.exceptions.MlflowException as exc:  # an unreachable server, a store it cannot open
            raise UserError(f"logger: mlflow could not start a run in {mlflow.get_tracking_uri()} "
                            f"({str(exc).strip().splitlines()[0][:200]}); set MLFLOW_TRACKING_URI to a store "
                            "that works, or use logger: none") from None
        mlflow.log_params({k: json.dumps(v) if not isinstance(v, str) else v for k, v in config.to_dict().items()})

    def _write(self, step: int, record: dict[str, Any], history: list[dict[str, Any]]) -> None:
        scalars, _ = split_record(record)
        self.mlflow.log_metrics(scalars, step=step)
        self.mlflow.log_text("".join(json.dumps(r) + "\n" for r in history[:step + 1]), "metrics.jsonl")

    def close(self, finished: bool) -> None:
        self.mlflow.end_run("FINISHED" if finished else "KILLED")


def open_logger(config: Config, run_path: Path) -> ExperimentLogger:
    """The logger that `config.logger` names, for the run in `run_path` (which exists)."""
    if config.logger == "tensorboard":
        return TensorBoardLogger(run_path / "tensorboard", config)
    if config.logger == "mlflow":
        return MLflowLogger(run_path, config)
    return ExperimentLogger()
