"""End-to-end training on scikit-learn's digits: it must learn, resume and write its run files."""
import json
from pathlib import Path

import pytest
import torch

from angular_dino.data.prepare import prepare_pu_data
from angular_dino.detection.metrics import detection_metrics
from angular_dino.errors import TrainingDiverged
from angular_dino.method.teacher import teacher_outputs
from angular_dino.method.trainer import CHECKPOINT_FORMAT, Trainer
from angular_dino.method.views import views_for
from angular_dino.runs.registry import load_detector
from angular_dino.runs.resolve import resolve_config
from angular_dino.runs.results import summary_table
from angular_dino.runs.training_run import train
from angular_dino.storage import load_torch


def untrained_auroc(config) -> float:
    data = prepare_pu_data(config)
    trainer = Trainer(config, data.train_images, data.train_is_positive, views_for(config, *data.normalisation()),
                      torch.device("cpu"))
    trainer.identify()
    return detection_metrics(trainer.scores(data.test_images), data.test_kind)["auroc"]["all"]


@pytest.mark.slow
def test_teacher_cosines_do_not_depend_on_the_batch_size(digits_settings):
    """Identification and scoring batch the clean images for speed; the batch must not change a single bit (in one
    thread: with several, oneDNN splits a batch's work by its size, and the last bits may then differ)."""
    config = resolve_config({**digits_settings, "epochs": 1})[0]
    data = prepare_pu_data(config)
    mean, std = data.normalisation()
    trainer = Trainer(config, data.train_images, data.train_is_positive, views_for(config, mean, std),
                      torch.device("cpu"))
    trainer.train_epoch()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        outputs = [teacher_outputs(trainer.teacher, data.test_images, mean, std, "fp32", batch_size)
                   for batch_size in (7, 1024)]
        identification = trainer.cosines(data.test_images)
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(a, b) for a, b in zip(*outputs))
    assert torch.equal(identification, outputs[0][1])  # identification computes exactly what scoring does


@pytest.mark.slow
def test_training_learns_well_above_the_untrained_model(trained_digits):
    config, result = trained_digits
    baseline = untrained_auroc(config)
    assert result["auroc"]["all"] > 0.9 and result["auroc"]["seen"] > 0.85 and result["auroc"]["unseen"] > 0.85
    assert result["auroc"]["all"] > baseline + 0.15, (result["auroc"], baseline)


@pytest.mark.slow
def test_run_directory_holds_every_output(trained_digits):
    config, result = trained_digits
    run = Path(config.output_dir)
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [line["epoch"] for line in lines] == list(range(1, config.epochs + 1))
    for key in ("loss", "loss_dino", "loss_ang", "lr", "lambda", "margin", "normal_prototypes",
                "anomaly_prototypes", "val_pu_auroc"):
        assert key in lines[-1]
    assert "diagnostic_test_auroc" not in lines[-1]
    assert lines[0]["margin"] == 0 and lines[-1]["margin"] == 0.5 and lines[-1]["lambda"] == 1.0
    assert result["precision"] == "fp32"  # the resolved arithmetic is recorded (the tests pin fp32)
    saved = json.loads((run / "result.json").read_text())
    assert saved == result
    assert set(saved["auroc"]) == {"all", "seen", "unseen"} and set(saved["auprc"]) == {"all", "seen", "unseen"}
    assert saved["prototypes"]["normal"] == lines[-1]["normal_prototypes"]
    model = load_detector(run / "model.pt")
    assert list(model.normal_prototypes_) == saved["prototypes"]["normal"] and model.config_.arch == "resnet_tiny"
    assert model.threshold_ == saved["threshold"] and saved["threshold_rule"] == "val_f1"
    assert (run / "checkpoints" / "last.pt").is_file() and (run / "config.yaml").is_file()


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_same_result(digits_settings, tmp_path, monkeypatch):
    config = resolve_config({**digits_settings, "epochs": 4})[0]
    reference = train(resolve_config({**digits_settings, "epochs": 4, "output_dir": str(tmp_path / "ref")})[0],
                      quiet=True)
    original = Trainer.train_epoch

    def stop_after_two(self, on_step=None):
        if self.epoch == 2:
            raise KeyboardInterrupt
        return original(self, on_step)

    monkeypatch.setattr(Trainer, "train_epoch", stop_after_two)
    with pytest.raises(KeyboardInterrupt):
        train(config, quiet=True)
    monkeypatch.setattr(Trainer, "train_epoch", original)
    resumed = train(config, quiet=True)
    assert resumed["auroc"] == reference["auroc"] and resumed["prototypes"] == reference["prototypes"]


@pytest.mark.slow
def test_diagnostic_test_metrics_are_labelled_and_off_by_default(digits_settings, tmp_path):
    config = resolve_config({**digits_settings, "epochs": 2, "diagnostic_test_metrics": True})[0]
    train(config, quiet=True)
    line = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert set(line["diagnostic_test_auroc"]) == {"all", "seen", "unseen"}


def test_summary_table_shows_missing_values_as_na():
    table = summary_table({"auroc": {"all": 0.9, "seen": 0.8, "unseen": None},
                                        "auprc": {"all": 0.7, "seen": 0.6, "unseen": None},
                                        "train_seconds": 1, "wall_seconds": 2,
                                        "prototypes": {"normal": [1], "anomaly": [2]}})
    assert "n/a" in table and "0.9000" in table
    assert "threshold" not in table  # a result without figures at the threshold (an older run) has no such line


def test_summary_table_shows_the_figures_at_the_threshold():
    at = {"threshold": 0.25, "precision": 0.5, "recall": None, "f1": 0.125,
          "confusion": {"tn": 1, "fp": 1, "fn": 0, "tp": 1}, "flagged_by_kind": {}}
    table = summary_table({"auroc": {"all": 0.9, "seen": 0.8, "unseen": None},
                           "auprc": {"all": 0.7, "seen": 0.6, "unseen": None},
                           "train_seconds": 1, "wall_seconds": 2, "at_threshold": at})
    assert table.splitlines()[3] == "at threshold 0.25: precision 0.5000, recall n/a, F1 0.1250"


@pytest.mark.slow
def test_non_finite_loss_stops_with_epoch_and_iteration_and_keeps_the_checkpoint(digits_settings, tmp_path,
                                                                                  monkeypatch):
    config = resolve_config({**digits_settings, "epochs": 3})[0]
    original = Trainer._losses

    def poisoned(self, batch, step):
        losses = original(self, batch, step)
        if self.epoch == 1:
            return (losses[0] * float("nan"),) + losses[1:]
        return losses

    monkeypatch.setattr(Trainer, "_losses", poisoned)
    with pytest.raises(TrainingDiverged, match="at epoch 2, iteration 1; the last checkpoint is kept"):
        train(config, quiet=True)
    checkpoint = load_torch(tmp_path / "run" / "checkpoints" / "last.pt", CHECKPOINT_FORMAT)
    assert checkpoint["trainer"]["epoch"] == 1
