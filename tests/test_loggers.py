"""`logger: tensorboard | mlflow`: tiny digits runs whose TensorBoard events and MLflow metrics are read back and
compared with metrics.jsonl; each test skips when its extra is not installed."""
import importlib.util
import json
from pathlib import Path

import pytest

from angular_dino.errors import UserError
from angular_dino.runs.loggers import open_logger, split_record
from angular_dino.runs.resolve import resolve_config
from angular_dino.runs.training_run import train


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_numeric_fields_are_scalars_and_the_rest_text():
    scalars, texts = split_record({"epoch": 3, "loss": 0.5, "stage": "train", "normal_prototypes": [1, 2],
                                   "done": True})
    assert scalars == {"epoch": 3.0, "loss": 0.5}
    assert texts == {"stage": '"train"', "normal_prototypes": "[1, 2]", "done": "true"}


def test_a_logger_without_its_package_is_a_config_error(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "mlflow" else find_spec(name))
    with pytest.raises(UserError, match=r"logger: mlflow needs the mlflow package, which is not installed; "
                                        r"pip install 'angular-dino\[mlflow\]'"):
        resolve_config({"dataset": "digits", "logger": "mlflow"})
    with pytest.raises(UserError, match="logger: must be one of none, tensorboard, mlflow; got 'wandb'"):
        resolve_config({"dataset": "digits", "logger": "wandb"})


@pytest.mark.slow
def test_tensorboard_events_hold_every_epoch_of_metrics_jsonl(digits_settings, tmp_path):
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    train(resolve_config({**digits_settings, "epochs": 2, "logger": "tensorboard"})[0], quiet=True)
    run = tmp_path / "run"
    events = event_accumulator.EventAccumulator(str(run / "tensorboard"), size_guidance={"tensors": 0})
    events.Reload()
    records = metrics(run)
    for key in ("loss", "loss_dino", "val_pu_auroc", "lr"):
        logged = [(event.step, event.value) for event in events.Scalars(key)]
        assert logged == [(step, pytest.approx(record[key])) for step, record in enumerate(records)]
    prototypes = [json.loads(event.tensor_proto.string_val[0]) for event in events.Tensors("normal_prototypes/text_summary")]
    assert prototypes == [record["normal_prototypes"] for record in records]
    assert "arch: 'resnet_tiny'" in events.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()


@pytest.mark.slow
def test_mlflow_run_holds_the_settings_and_every_epoch(digits_settings, tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "digits")
    monkeypatch.chdir(tmp_path)  # the SQLite store keeps its artifacts in ./mlruns
    train(resolve_config({**digits_settings, "method": "ae", "baseline_epochs": 2, "logger": "mlflow"})[0],
          quiet=True)
    client = mlflow.tracking.MlflowClient(store)
    (logged,) = client.search_runs([client.get_experiment_by_name("digits").experiment_id])
    records = metrics(tmp_path / "run")
    assert logged.info.status == "FINISHED" and logged.info.run_name == "run"
    assert logged.data.params["method"] == "ae" and logged.data.params["baseline_epochs"] == "2"
    history = client.get_metric_history(logged.info.run_id, "val_loss")
    assert [(m.step, m.value) for m in history] == [(i, pytest.approx(r["val_loss"])) for i, r in enumerate(records)]
    copy = Path(client.download_artifacts(logged.info.run_id, "metrics.jsonl", str(tmp_path)))
    assert [json.loads(line) for line in copy.read_text().splitlines()] == records


def test_an_mlflow_store_that_cannot_open_is_a_clear_error(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "nosuchscheme://store")
    config = resolve_config({"dataset": "digits", "logger": "mlflow"})[0]
    with pytest.raises(UserError, match=r"logger: mlflow could not start a run in nosuchscheme://store \(.*\); "
                                        "set MLFLOW_TRACKING_URI to a store that works, or use logger: none"):
        open_logger(config, tmp_path)
