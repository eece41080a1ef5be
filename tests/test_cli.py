"""The command line: exit status 2 with one clear message for bad input, and no files touched."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from angular_dino.cli import main

ROOT = Path(__file__).resolve().parents[1]


def write_config(path: Path, settings: dict) -> Path:
    path.write_text(yaml.safe_dump(settings))
    return path


def snapshot(directory: Path) -> dict:
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in directory.rglob("*") if p.is_file()}


def test_unknown_key_exits_2_with_a_suggestion_and_writes_nothing(tmp_path, digits_settings, capsys):
    config = write_config(tmp_path / "c.yml", digits_settings)
    assert main(["train", "--config", str(config), "--set", "marign=0.3"]) == 2
    err = capsys.readouterr().err
    assert "unknown config key `marign`. Did you mean `margin`?" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_out_of_range_values_exit_2(tmp_path, digits_settings, capsys):
    config = write_config(tmp_path / "c.yml", digits_settings)
    assert main(["train", "--config", str(config), "--set", "normal_class=12", "--set", "margin=-1"]) == 2
    err = capsys.readouterr().err
    assert "normal_class" in err and "margin: must be at least 0.0" in err


def test_missing_dataset_files_exit_2(tmp_path, digits_settings, capsys):
    settings = {**digits_settings, "dataset": "fashion_mnist", "data_root": str(tmp_path / "nowhere"),
                "download": False}
    assert main(["train", "--config", str(write_config(tmp_path / "c.yml", settings))]) == 2
    assert "Fashion-MNIST not found" in capsys.readouterr().err


@pytest.mark.slow
def test_a_directory_with_a_different_run_is_refused_untouched(tmp_path, digits_settings, capsys):
    config = write_config(tmp_path / "c.yml", {**digits_settings, "epochs": 1})
    assert main(["train", "--config", str(config), "--quiet"]) == 0
    before = snapshot(tmp_path / "run")
    assert main(["train", "--config", str(config), "--set", "epochs=2", "--quiet"]) == 2
    assert "holds a different run (epochs: 1 there, 2 now)" in capsys.readouterr().err
    assert snapshot(tmp_path / "run") == before
    assert main(["train", "--config", str(config), "--quiet"]) == 0  # same run: reports it, rewrites nothing
    assert "already holds this finished run" in capsys.readouterr().out
    assert snapshot(tmp_path / "run") == before


def test_a_directory_with_foreign_files_is_refused(tmp_path, digits_settings, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "thesis.tex").write_text("precious")
    config = write_config(tmp_path / "c.yml", digits_settings)
    assert main(["train", "--config", str(config), "--restart"]) == 2
    assert "holds files but no AngularDINO run" in capsys.readouterr().err
    assert (tmp_path / "run" / "thesis.tex").read_text() == "precious"


@pytest.mark.slow
def test_original_entry_point_and_keys(tmp_path, digits_settings):
    settings = {k: v for k, v in digits_settings.items() if k not in ("batch_size", "warmup_fraction")}
    settings.update({"dataset": "digits", "epochs": 2, "batch_size_per_gpu": 32, "warmup_epochs": 1,
                     "gpu_num": 1, "dist_url": "env://"})
    config = write_config(tmp_path / "config.yml", settings)
    done = subprocess.run([sys.executable, str(ROOT / "angular_dino_train.py"), "--config", str(config)],
                          capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": ""})
    assert done.returncode == 0, done.stderr
    assert "`gpu_num` is ignored: it belonged to the original setup" in done.stderr
    assert "AUROC" in done.stdout
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["batch_size"] == 32 and saved["warmup_fraction"] == 0.5 and "gpu_num" not in saved


def test_version(capsys):
    from angular_dino import __version__

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"angular-dino {__version__}"


@pytest.mark.parametrize("command, title", [
    (["train"], "train, evaluate on the test split"), (["bench"], "methods x datasets"),
    (["bench", "run"], "train this shard's pending cells"), (["bench", "merge"], "write the table from the existing"),
    (["score"], "anomaly scores and 0/1 labels"), (["evaluate"], "metrics and plots of a finished run")])
def test_every_subcommand_has_help_with_a_description_and_an_example(command, title, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and title in out and "example" in out
    assert f"usage: angular-dino {' '.join(command)}" in out  # bench merge --help is merge's own help
    if command != ["bench"]:
        assert "--quiet" in out and "--verbose" in out


def test_bench_without_an_action_runs_and_merge_refuses_training_options(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "merge", "--config", str(tmp_path / "b.yml"), "--shard", "1/2"])
    assert exit_.value.code == 2 and "unrecognized arguments: --shard 1/2" in capsys.readouterr().err
    assert main(["bench", "--config", str(tmp_path / "absent.yml"), "--quiet"]) == 2
    assert "absent.yml" in capsys.readouterr().err


def test_quiet_silences_notices_and_verbose_is_accepted(tmp_path, digits_settings, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "thesis.tex").write_text("precious")  # a valid config that stops before training
    config = write_config(tmp_path / "c.yml", {**digits_settings, "gpu_num": 1})
    assert main(["train", "--config", str(config)]) == 2
    assert "`gpu_num` is ignored" in capsys.readouterr().err
    assert main(["train", "--config", str(config), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "gpu_num" not in err and "holds files but no AngularDINO run" in err  # errors still show
    assert main(["train", "--config", str(config), "--verbose"]) == 2
    with pytest.raises(SystemExit):
        main(["train", "--config", str(config), "--quiet", "--verbose"])
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.slow
def test_plain_progress_in_logs_and_score_to_stdout(tmp_path, digits_settings, capsys):
    config = write_config(tmp_path / "c.yml", {**digits_settings, "epochs": 2})
    assert main(["train", "--config", str(config)]) == 0  # stderr here is not a terminal
    err = capsys.readouterr().err
    assert "\r" not in err and "epoch 1/2: loss " in err and "epoch 2/2: loss " in err
    images = tmp_path / "x.npy"
    np.save(images, np.zeros((3, 8, 8), dtype=np.uint8))
    for out in ([], ["--out", "-"]):
        assert main(["score", "--run", str(tmp_path / "run"), str(images), *out]) == 0
        captured = capsys.readouterr()
        assert captured.out.splitlines()[0] == "path,score,label" and len(captured.out.splitlines()) == 4
        assert "scored 3 images into standard output" in captured.err
    assert not (Path.cwd() / "-").exists()
    assert main(["score", "--run", str(tmp_path / "run"), str(images), "--quiet"]) == 0
    assert capsys.readouterr().err == ""
