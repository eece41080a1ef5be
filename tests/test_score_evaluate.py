"""`angular-dino score` and `angular-dino evaluate` on a finished digits run, and the report wiring."""
import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from angular_dino.cli import main
from angular_dino.data.export import write_split_as_folder
from angular_dino.data.prepare import prepare_pu_data
from angular_dino.data.sources import load_dataset
from angular_dino.runs.registry import load_detector
from image_files import write_images

pytestmark = pytest.mark.slow  # every test here reads the shared digits training run


@pytest.fixture(scope="module")
def run(trained_digits):
    config, result = trained_digits
    return Path(config.output_dir), config, result


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_score_files_folders_npy_and_npz_one_row_each(run, tmp_path, capsys):
    run_dir, config, _ = run
    detector = load_detector(run_dir / "model.pt")
    images = prepare_pu_data(config).test_images[:7]
    files = write_images(tmp_path / "imgs" / "nested", images[:3])
    single = write_images(tmp_path / "single", images[3:4], ["one.bmp"])[0]
    np.save(tmp_path / "batch.npy", images[4:6].numpy())
    np.savez(tmp_path / "more.npz", first=images[6:7, 0].numpy(), second=images[:2].numpy())
    out = tmp_path / "scores.csv"
    assert main(["score", "--run", str(run_dir), str(single), str(tmp_path / "imgs"), str(tmp_path / "batch.npy"),
                 str(tmp_path / "more.npz"), "--out", str(out)]) == 0
    rows = read_csv(out)
    assert [r["path"] for r in rows] == [str(single), *map(str, files), f"{tmp_path / 'batch.npy'}[0]",
                                         f"{tmp_path / 'batch.npy'}[1]", f"{tmp_path / 'more.npz'}:first[0]",
                                         f"{tmp_path / 'more.npz'}:second[0]", f"{tmp_path / 'more.npz'}:second[1]"]
    order = [3, 0, 1, 2, 4, 5, 6, 0, 1]
    scores = np.array([float(r["score"]) for r in rows])
    # lossless files and full-precision CSV: equal up to float rounding of batches of other sizes (which the default
    # score's standardised kNN term, with few labels, magnifies about a hundredfold)
    np.testing.assert_allclose(scores, detector.decision_function(images[order]), rtol=0, atol=1e-4)
    assert [int(r["label"]) for r in rows] == (scores >= detector.threshold_).astype(int).tolist()
    assert "scored 9 images" in capsys.readouterr().err


def test_score_errors_exit_2_with_one_message(run, tmp_path, capsys):
    run_dir, config, _ = run
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.txt").write_text("text")
    out = str(tmp_path / "s.csv")
    cases = [(["--run", str(tmp_path), str(tmp_path / "bad")], "model.pt does not exist"),
             (["--run", str(run_dir), str(tmp_path / "missing.png")], "missing.png does not exist"),
             (["--run", str(run_dir), str(tmp_path / "bad")], "a.txt is not a readable image")]
    np.save(tmp_path / "flat.npy", np.zeros(5))
    cases.append((["--run", str(run_dir), str(tmp_path / "flat.npy")], r"flat.npy: expected N images"))
    for args, message in cases:
        assert main(["score", *args, "--out", out]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    assert not Path(out).exists()
    write_images(tmp_path / "bad", prepare_pu_data(config).test_images[:1])
    assert main(["score", "--run", str(run_dir), str(tmp_path / "bad"), "--skip-unreadable", "--out", out]) == 0
    assert len(read_csv(out)) == 1 and "warning: skipped" in capsys.readouterr().err


def test_evaluate_own_split_reproduces_the_run_metrics(run, tmp_path, capsys):
    run_dir, _, result = run
    assert main(["evaluate", "--run", str(run_dir), "--out", str(tmp_path / "own")]) == 0
    evaluation = json.loads((tmp_path / "own" / "evaluation.json").read_text())
    assert evaluation["auroc"] == result["auroc"] and evaluation["threshold"] == result["threshold"]
    assert evaluation["at_threshold"] == result["at_threshold"]
    at = result["at_threshold"]
    printed = capsys.readouterr().out
    assert "AUROC" in printed and f"{result['auroc']['all']:.4f}" in printed
    assert f"precision {at['precision']:.4f}, recall {at['recall']:.4f}, F1 {at['f1']:.4f}" in printed
    assert "  9 (unseen)" in printed  # recall per class: digits has class names


def test_evaluate_on_another_folder(run, tmp_path, capsys):
    run_dir, config, result = run
    data = write_split_as_folder(config, tmp_path / "data")
    assert main(["evaluate", "--run", str(run_dir), "--data", str(data)]) == 0
    evaluation = json.loads((run_dir / "evaluate_data" / "evaluation.json").read_text())
    assert evaluation["auroc"] == result["auroc"]  # the same test images, read from files
    assert evaluation["n_test"] == result["n_test"]
    assert main(["evaluate", "--run", str(run_dir), "--data", str(tmp_path / "data" / "unlabeled")]) == 2
    assert "lacks normal/ and anomaly/" in capsys.readouterr().err


def test_a_training_run_builds_the_report(run):
    run_dir, _, result = run
    written = sorted((run_dir / "plots").glob("*.png"))
    assert written and all(p.stat().st_size > 0 for p in written) and (run_dir / "report.html").stat().st_size
    at = result["at_threshold"]
    confusion = at["confusion"]
    assert sum(confusion.values()) == sum(result["n_test"].values())
    assert [group["class"] for group in at["flagged_by_class"]] == [str(d) for d in range(10)]
    page = (run_dir / "report.html").read_text()
    for section in ("At the threshold", "Confusion matrix", "Share flagged, per test kind and class", "Settings",
                    "Worst false positives", "Worst false negatives", "What to label next"):
        assert f"{section}</h" in page, section
    assert f"<td>{at['precision']:.4f}</td><td>{at['recall']:.4f}</td><td>{at['f1']:.4f}</td>" in page
    galleries = page.split("<h2>Worst false positives</h2>")[1].split("<h2>Plots</h2>")[0]
    shown = min(confusion["fp"], 16) + min(confusion["fn"], 16) + 16
    assert galleries.count('<img class="thumb') == shown


def test_suggest_lists_the_most_anomalous_unlabeled_images(run, tmp_path, capsys):
    run_dir, config, _ = run
    out = tmp_path / "next.csv"
    assert main(["suggest", "--run", str(run_dir), "--n", "6", "--out", str(out)]) == 0
    rows = read_csv(out)
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    data = prepare_pu_data(config)
    unlabeled = torch.cat([data.split.train_unlabeled, data.split.val_unlabeled]).tolist()
    pool = load_dataset(config.dataset, config.data_root, config.download, config.image_size).train_images
    detector = load_detector(run_dir / "model.pt")
    every_score = detector.decision_function(pool[unlabeled])
    assert scores[0] == pytest.approx(every_score.max(), abs=1e-6)
    indices = [int(r["index"]) for r in rows]
    np.testing.assert_allclose(detector.decision_function(pool[indices]), scores, rtol=0, atol=1e-6)
    assert "listed 6 unlabeled training images" in capsys.readouterr().err
    assert main(["suggest", "--run", str(run_dir), "--n", "2"]) == 0  # standard output by default
    assert capsys.readouterr().out.splitlines() == ["index,score,rank"] + out.read_text().splitlines()[1:3]


def test_score_needs_no_training_data(run, tmp_path):
    """model.pt alone, copied elsewhere, scores images (run in a fresh process, without the run directory)."""
    import shutil
    import subprocess

    run_dir, config, _ = run
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(run_dir / "model.pt", alone / "model.pt")
    np.save(tmp_path / "x.npy", prepare_pu_data(config).test_images[:3].numpy())
    done = subprocess.run([sys.executable, "-m", "angular_dino.cli", "score", "--run", str(alone),
                           str(tmp_path / "x.npy"), "--out", str(tmp_path / "x.csv")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert len(read_csv(tmp_path / "x.csv")) == 3
