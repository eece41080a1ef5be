"""`evaluate_on: development`: tune on unused train-pool images, never on the test split."""
import json

import pytest
import torch

from angular_dino.cli import main
from angular_dino.data.development import development_set
from angular_dino.data.prepare import prepare_pu_data
from angular_dino.data.pu_split import NORMAL, SEEN, UNSEEN
from angular_dino.data.sources import load_dataset
from angular_dino.errors import UserError
from angular_dino.runs.resolve import resolve_config

SMALL = {"dataset": "digits", "n_unlabeled_normal": 60, "n_unlabeled_anomaly": 10, "n_positive": 20,
         "n_test_normal": 30, "n_test_seen": 20, "n_test_unseen": 10}


def test_the_development_set_replaces_the_test_part_and_is_drawn_from_unused_train_images():
    test_config, _ = resolve_config(SMALL)
    dev_config, _ = resolve_config({**SMALL, "evaluate_on": "development"})
    on_test, on_dev = prepare_pu_data(test_config), prepare_pu_data(dev_config)
    assert torch.equal(on_test.train_images, on_dev.train_images)  # the same PU split
    pool = load_dataset("digits", None, False, dev_config.image_size)
    images, kinds, labels = development_set(dev_config, on_dev.split, pool)
    assert torch.equal(on_dev.test_images, images) and torch.equal(on_dev.test_kind, kinds)
    assert [(kinds == k).sum().item() for k in (NORMAL, SEEN, UNSEEN)] == [30, 20, 10]
    assert (labels[kinds == NORMAL] == 0).all() and (labels[kinds == UNSEEN] == 9).all()
    train_pool = {tuple(image.flatten().tolist()) for image in pool.train_images}
    assert all(tuple(image.flatten().tolist()) in train_pool for image in images)
    used = {tuple(image.flatten().tolist()) for image in torch.cat([on_dev.train_images, on_dev.val_images])}
    assert not any(tuple(image.flatten().tolist()) in used for image in images)


def test_a_development_run_says_so_in_its_result_and_summary(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--set", "dataset=digits", "--set", "method=iforest", "--set", "evaluate_on=development",
                 "--set", f"output_dir={out}", "--quiet"]) in (0, None)
    assert json.loads((out / "result.json").read_text())["evaluated_on"] == "development"


def test_a_folder_has_no_development_set(tmp_path):
    with pytest.raises(UserError, match="evaluate_on: a folder has no train pool"):
        resolve_config({"dataset": "folder", "data_dir": str(tmp_path), "evaluate_on": "development"})
