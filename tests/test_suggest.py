"""What to label next: the most anomalous unlabeled training images, named by train-pool index or file, as CSV."""
import csv
import io
from pathlib import Path

import numpy as np
import pytest
import torch

from angular_dino.cli import main
from angular_dino.data.export import write_split_as_folder
from angular_dino.data.prepare import prepare_pu_data
from angular_dino.data.sources import load_dataset
from angular_dino.runs.resolve import resolve_config
from angular_dino.runs.suggest import suggestions_csv
from angular_dino.runs.unlabeled import suggest_unlabeled, unlabeled_pool


class Brightness:
    """A stand-in detector whose score is easy to check: the mean pixel value."""
    threshold_ = 0.5

    def decision_function(self, images: torch.Tensor) -> np.ndarray:
        return images.double().mean(dim=(1, 2, 3)).numpy() / 255


def brightness(images: torch.Tensor) -> np.ndarray:
    return Brightness().decision_function(images)


@pytest.fixture
def digits(digits_settings):
    config = resolve_config(digits_settings)[0]
    return config, prepare_pu_data(config)


def test_suggestions_are_the_brightest_unlabeled_images_by_train_pool_index(digits):
    config, data = digits
    suggestions = suggest_unlabeled(Brightness(), data, 5)
    pool = load_dataset(config.dataset, config.data_root, config.download, config.image_size).train_images
    unlabeled = set(torch.cat([data.split.train_unlabeled, data.split.val_unlabeled]).tolist())
    indices = [int(name) for name in suggestions.names]
    assert suggestions.column == "index" and set(indices) <= unlabeled  # never a P image
    assert torch.equal(suggestions.images, pool[indices])
    np.testing.assert_array_equal(suggestions.scores, brightness(pool[indices]))
    every_score = np.sort(brightness(pool[sorted(unlabeled)]))[::-1]
    np.testing.assert_array_equal(suggestions.scores, every_score[:5])  # the top five of all of U, in order
    assert len(suggest_unlabeled(Brightness(), data, 10 ** 6).names) == len(unlabeled)


def test_suggestions_csv_has_name_score_and_rank(digits):
    _, data = digits
    suggestions = suggest_unlabeled(Brightness(), data, 4)
    rows = list(csv.reader(io.StringIO(suggestions_csv(suggestions))))
    assert rows[0] == ["index", "score", "rank"]
    assert [row[0] for row in rows[1:]] == list(suggestions.names)
    assert [float(row[1]) for row in rows[1:]] == suggestions.scores.tolist()  # full precision
    assert [row[2] for row in rows[1:]] == ["1", "2", "3", "4"]


def test_folder_data_names_the_files(digits, tmp_path, digits_settings):
    """A folder written from the built-in split (files named by pool index) gives the same images under their paths."""
    config, data = digits
    root = write_split_as_folder(config, tmp_path / "folder")
    folder = prepare_pu_data(resolve_config({**digits_settings, "dataset": "folder", "data_dir": str(root),
                                             "augmentation": "digits"})[0])
    images, names, column = unlabeled_pool(folder)
    assert column == "path" and all(Path(name).parent == root / "unlabeled" for name in names)
    built_in_images, built_in_names, _ = unlabeled_pool(data)
    assert [int(Path(name).stem) for name in names] == [int(name) for name in built_in_names]
    assert torch.equal(images, built_in_images)
    header = suggestions_csv(suggest_unlabeled(Brightness(), folder, 3)).splitlines()[0]
    assert header == "path,score,rank"


def test_suggest_refuses_bad_requests(tmp_path, capsys):
    assert main(["suggest", "--run", str(tmp_path), "--n", "0"]) == 2
    assert "--n must be at least 1" in capsys.readouterr().err
    assert main(["suggest", "--run", str(tmp_path), "--n", "3"]) == 2
    err = capsys.readouterr().err
    assert "is not a finished run" in err and "Traceback" not in err
