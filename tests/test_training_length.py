"""Training length in optimiser steps, and a batch that suits the data (the robust-detection issue)."""
from __future__ import annotations

import math
from pathlib import Path
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from angular_dino.config import build_config
from angular_dino.data.defaults import default_image_size, downscale_notice
from angular_dino.errors import UserError
from angular_dino.method.detector import AngularDINO
from angular_dino.method.training_length import with_training_length


def config(**settings):
    return build_config(settings).require_valid()


def test_epochs_come_from_steps_so_small_data_trains_as_long_as_large():
    notices: list[str] = []
    small = with_training_length(config(steps=1400), 700, 1, notices.append)
    large = with_training_length(config(steps=1400), 4500, 1, notices.append)
    assert small.epochs == math.ceil(1400 / (700 // 128)) == 280
    assert large.epochs == 40  # the Fashion-MNIST protocol: 35 steps per epoch
    assert notices == []


def test_an_explicit_epochs_overrides_steps():
    assert with_training_length(config(steps=1400, epochs=3), 700, 1, print).epochs == 3


def test_a_batch_larger_than_the_data_is_lowered_with_a_notice():
    notices: list[str] = []
    resolved = with_training_length(config(batch_size=128, steps=10), 117, 1, notices.append)
    assert resolved.batch_size == 117 and resolved.epochs == 10
    assert len(notices) == 1 and "batch_size 128" in notices[0] and "117 training images" in notices[0]
    per_process = with_training_length(config(batch_size=128, steps=10), 117, 2, notices.append)
    assert per_process.batch_size == 58


def test_too_few_images_to_train_is_a_clear_error():
    with pytest.raises(UserError, match="at least 2 images"):
        with_training_length(config(), 1, 1, print)


def test_null_image_size_is_the_images_own_side_at_most_max_image_size():
    assert default_image_size(config(), 28) == 28
    assert default_image_size(config(), 1024) == 64
    assert default_image_size(config(max_image_size=None), 1024) == 1024
    assert default_image_size(config(image_size=200), 1024) == 200
    assert downscale_notice(config(), 28) is None and downscale_notice(config(image_size=16), 1024) is None
    assert "1024 are downscaled to 64" in downscale_notice(config(), 1024)


def test_the_api_fits_140_digits_with_the_default_batch():
    digits = load_digits()
    keep = np.isin(digits.target, [0, 1, 2])
    images = (digits.images[keep][:140] * 255 / 16).astype(np.uint8)
    y = (digits.target[keep][:140] != 0).astype(int) * (np.arange(140) % 3 == 0)  # some anomalies labeled
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        detector = AngularDINO(steps=6, num_threads=1).fit(images, y)
    assert any("batch_size 128" in str(w.message) for w in caught)
    assert detector.config_.batch_size < 128 and detector.config_.epochs == 6
    assert np.isfinite(detector.decision_function(images)).all()


def test_large_api_images_are_downscaled_with_a_warning():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (24, 96, 96), dtype=np.uint8)
    y = np.arange(24) % 4 == 0
    with pytest.warns(UserWarning, match="96 are downscaled to 64"):
        detector = AngularDINO(steps=1, batch_size=8, num_threads=1).fit(images, y)
    assert detector.input_shape_ == (1, 64, 64)


def test_the_fashion_profile_on_digits_trains_with_a_notice(tmp_path, capsys):
    from angular_dino.cli import main

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "run"
    status = main(["train", "--config", str(root / "configs" / "fashion_mnist.yml"), "--set", "dataset=digits",
                   "--set", "steps=4", "--set", "num_threads=1", "--set", f"output_dir={out}", "--quiet"])
    assert status == 0 and (out / "result.json").is_file()
    assert "training with batch_size" in capsys.readouterr().err
