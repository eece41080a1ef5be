import pytest

from angular_dino.runs.resolve import resolve_config
from angular_dino.runs.training_run import train

# Small, fast and still a real training run: scikit-learn's digits at 16×16, a tiny ResNet. fp32 is pinned so
# that the figures the tests check do not depend on whether this CPU has AMX (where `auto` means bf16);
# bf16 training has tests of its own.
DIGITS = {"dataset": "digits", "arch": "resnet_tiny", "epochs": 100, "batch_size": 16, "local_crops_number": 2,
          "lr": 0.002, "warmup_fraction": 0.1, "freeze_last_layer_fraction": 0.05, "use_weight": False,
          "normal_class": 0, "unseen_anomaly_class": 9, "num_threads": 2, "precision": "fp32"}


@pytest.fixture
def digits_settings(tmp_path):
    """Digits settings for short runs (tests override `epochs`) writing into this test's tmp_path."""
    return {**DIGITS, "output_dir": str(tmp_path / "run")}


@pytest.fixture(scope="session")
def trained_digits(tmp_path_factory):
    """One full digits training run shared by the tests that only read its results: (config, result)."""
    config = resolve_config({**DIGITS, "output_dir": str(tmp_path_factory.mktemp("digits") / "run")})[0]
    return config, train(config, quiet=True)
