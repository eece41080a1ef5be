"""`angular-dino export`: the TorchScript and ONNX scorers give `decision_function`'s scores on 1,000 images."""
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from angular_dino import AngularDINO
from angular_dino.cli import main
from angular_dino.runs.export import export_run
from angular_dino.runs.registry import load_detector
from angular_dino.runs.resolve import resolve_config
from angular_dino.runs.training_run import train


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A finished 1-epoch digits run, its detector and 1,000 digits at the model's input (uint8, 1×16×16)."""
    from conftest import DIGITS

    run = tmp_path_factory.mktemp("export") / "run"
    train(resolve_config({**DIGITS, "epochs": 1, "output_dir": str(run)})[0], quiet=True)
    detector = load_detector(run / "model.pt")
    images = detector.model_input(np.round(load_digits().images[:1000] * (255 / 16)).astype(np.uint8))
    return run, detector, images


def assert_same_scores(actual: np.ndarray, expected: np.ndarray) -> None:
    """Equal to 1e-4 of the scores' range: with the default `score: auto` (digits have 20 labels) the scores are
    standardised sums, whose scale magnifies float32 differences between the scorer's arithmetic and the model's."""
    np.testing.assert_allclose(actual, expected, atol=1e-4 * np.ptp(expected), rtol=0)


@pytest.mark.slow
def test_torchscript_scorer_matches_decision_function(digits_run):
    run, detector, images = digits_run
    assert main(["export", "--run", str(run), "--format", "torchscript"]) == 0
    scorer = torch.jit.load(str(run / "scorer.pt"))
    expected = detector.decision_function(images)
    assert images.shape == (1000, 1, 16, 16) and images.dtype == torch.uint8
    assert_same_scores(scorer(images).numpy(), expected)
    assert_same_scores(scorer(images[:, 0]).numpy(), expected)  # N×H×W, one channel
    with pytest.raises(Exception, match="expected uint8 images N×1×16×16"):
        scorer(images[:, :, :8])


@pytest.mark.slow
def test_onnx_scorer_matches_decision_function(digits_run, tmp_path):
    pytest.importorskip("onnxscript")
    onnxruntime = pytest.importorskip("onnxruntime")
    run, detector, images = digits_run
    out = export_run(run, "onnx", tmp_path / "digits.onnx")
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (given,) = session.get_inputs()
    assert (given.name, given.type, given.shape[1:]) == ("images", "tensor(uint8)", [1, 16, 16])
    scores = session.run(["scores"], {"images": images.numpy()})[0]
    assert scores.dtype == np.float32 and scores.shape == (1000,)
    assert_same_scores(scores, detector.decision_function(images))


@pytest.mark.slow
def test_the_scorer_of_a_model_trained_without_labels_matches_decision_function():
    """Without labeled anomalies there are no anomaly prototypes; the scorer once averaged over none (NaN)."""
    from conftest import DIGITS

    digits = load_digits()
    images = np.round(digits.images[digits.target == 0][:100] * (255 / 16)).astype(np.uint8)
    settings = {k: DIGITS[k] for k in ("arch", "batch_size", "local_crops_number", "num_threads", "precision")}
    detector = AngularDINO(**settings, epochs=2).fit(images)
    assert detector.anomaly_prototypes_ == ()
    scorer = torch.jit.script(detector.scorer())
    np.testing.assert_allclose(scorer(detector.model_input(images)).numpy(), detector.decision_function(images),
                               atol=1e-4, rtol=0)


def test_export_refuses_a_missing_run(tmp_path, capsys):
    assert main(["export", "--run", str(tmp_path / "none"), "--format", "onnx"]) == 2
    assert "model.pt does not exist; export needs a finished run" in capsys.readouterr().err


@pytest.mark.slow
def test_export_refuses_a_baseline(digits_settings, tmp_path, capsys):
    train(resolve_config({**digits_settings, "method": "iforest"})[0], quiet=True)
    assert main(["export", "--run", str(tmp_path / "run"), "--format", "torchscript"]) == 2
    assert "holds a iforest model; export writes AngularDINO scorers only" in capsys.readouterr().err
    assert not Path(tmp_path / "run" / "scorer.pt").exists()
