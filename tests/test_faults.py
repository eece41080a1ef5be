"""Faults during training: stop signals, broken or foreign checkpoints, a full disk, malicious files."""
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from angular_dino import storage as checkpoint_module
from angular_dino.cli import main
from angular_dino.detection.base import DETECTOR_FORMAT
from angular_dino.errors import UserError
from angular_dino.method.trainer import CHECKPOINT_FORMAT, Trainer
from angular_dino.runs.registry import load_detector
from angular_dino.runs.resolve import resolve_config
from angular_dino.runs.training_run import train
from angular_dino.runtime.interrupts import TrainingStopped
from angular_dino.storage import load_torch, save_torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def digits_settings(digits_settings):
    """One thread: on a shared 2-core machine two threads per process slow these runs down many times."""
    return {**digits_settings, "num_threads": 1}


class Exploit:
    def __reduce__(self):
        return os.system, ("touch pwned",)


def interrupted_after_one_epoch(settings: dict, monkeypatch) -> Path:
    """A resumable run directory: config.yaml and the checkpoint of epoch 1 of 2; returns last.pt's path."""
    original = Trainer.train_epoch

    def stop_after_one(self, on_step=None):
        if self.epoch == 1:
            raise KeyboardInterrupt
        return original(self, on_step)

    monkeypatch.setattr(Trainer, "train_epoch", stop_after_one)
    with pytest.raises(KeyboardInterrupt):
        train(resolve_config({**settings, "epochs": 2})[0], quiet=True)
    monkeypatch.setattr(Trainer, "train_epoch", original)
    return Path(settings["output_dir"]) / "checkpoints" / "last.pt"


def cli_train(tmp_path: Path, settings: dict) -> int:
    config = tmp_path / "c.yml"
    config.write_text(yaml.safe_dump({**settings, "epochs": 2}))
    return main(["train", "--config", str(config), "--quiet"])


@pytest.mark.slow
def test_sigterm_checkpoints_at_the_next_iteration_and_the_run_resumes_exactly(digits_settings, tmp_path,
                                                                               monkeypatch):
    settings = {**digits_settings, "epochs": 2}
    expected = train(resolve_config({**settings, "output_dir": str(tmp_path / "ref")})[0], quiet=True)
    original = Trainer._step

    def step(self, batch, step):
        if step == 9:
            os.kill(os.getpid(), signal.SIGTERM)
        return original(self, batch, step)

    monkeypatch.setattr(Trainer, "_step", step)
    config = resolve_config(settings)[0]
    with pytest.raises(TrainingStopped, match="stopped by SIGTERM at epoch 2, iteration 3; .* Run the same "
                                              "command again to resume") as stopped:
        train(config, quiet=True)
    assert stopped.value.signum == signal.SIGTERM
    monkeypatch.undo()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers are put back
    resumed = train(config, quiet=True)
    assert resumed["auroc"] == expected["auroc"] and resumed["prototypes"] == expected["prototypes"]


@pytest.mark.slow
def test_ctrl_c_on_the_command_line_exits_130_and_says_how_to_resume(digits_settings, tmp_path):
    config = tmp_path / "c.yml"
    config.write_text(yaml.safe_dump({**digits_settings, "epochs": 50, "checkpoint_every_iters": 1}))
    command = [sys.executable, "-m", "angular_dino.cli", "train", "--config", str(config), "--quiet"]
    child = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                             env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    last = Path(digits_settings["output_dir"]) / "checkpoints" / "last.pt"
    deadline = time.time() + 120
    while not last.exists() and time.time() < deadline and child.poll() is None:
        time.sleep(0.1)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 130, err
    assert "stopped by SIGINT" in err and "Run the same command again to resume" in err and "Traceback" not in err
    state = load_torch(last, CHECKPOINT_FORMAT)["trainer"]
    assert state["epoch"] < 50


@pytest.mark.slow
@pytest.mark.parametrize("damage, message", [
    (lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]), "not a readable AngularDINO file"),
    (lambda path: path.write_bytes(b"\x00garbage" * 100), "not a readable AngularDINO file"),
    (lambda path: save_torch({"format": "someone.else/1"}, path), "found 'someone.else/1'"),
    (lambda path: torch.save({"format": CHECKPOINT_FORMAT, "payload": Exploit()}, path),
     "not a readable AngularDINO file"),
])
@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_broken_checkpoint_stops_with_a_clear_message(digits_settings, tmp_path, monkeypatch, capsys,
                                                        damage, message):
    last = interrupted_after_one_epoch(digits_settings, monkeypatch)
    damage(last)
    before = last.read_bytes()
    monkeypatch.chdir(tmp_path)
    assert cli_train(tmp_path, digits_settings) == 2
    err = capsys.readouterr().err
    assert message in err and "Pass --restart to start the run afresh" in err and "Traceback" not in err
    assert last.read_bytes() == before and not (tmp_path / "pwned").exists()


@pytest.mark.slow
def test_a_checkpoint_of_another_shape_stops_with_a_clear_message(digits_settings, tmp_path, monkeypatch, capsys):
    last = interrupted_after_one_epoch(digits_settings, monkeypatch)
    other = resolve_config({**digits_settings, "emb_dim": 32, "output_dir": str(tmp_path / "other")})[0]
    interrupted_after_one_epoch(other.to_dict(), monkeypatch)
    last.write_bytes((tmp_path / "other" / "checkpoints" / "last.pt").read_bytes())
    assert cli_train(tmp_path, digits_settings) == 2
    err = capsys.readouterr().err
    assert "does not fit this run (" in err and "size mismatch" in err and "--restart" in err


@pytest.mark.slow
def test_a_full_disk_keeps_the_previous_checkpoint(digits_settings, tmp_path, monkeypatch):
    config = resolve_config({**digits_settings, "epochs": 3, "checkpoint_every_seconds": 0})[0]  # every epoch writes
    real_save = torch.save

    def save_until_the_disk_fills(obj, out):
        if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT and obj["trainer"]["epoch"] == 2:
            out.write(b"half a checkpoint")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_save(obj, out)

    monkeypatch.setattr(checkpoint_module.torch, "save", save_until_the_disk_fills)
    with pytest.raises(UserError, match="could not write .*last.pt: No space left on device. The previous last.pt"):
        train(config, quiet=True)
    monkeypatch.undo()
    run = Path(config.output_dir)
    assert load_torch(run / "checkpoints" / "last.pt", CHECKPOINT_FORMAT)["trainer"]["epoch"] == 1
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["last.pt"]  # no temporary file left
    assert train(config, quiet=True)["epochs"] == 3


def test_a_malicious_model_file_is_refused_without_running(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save({"format": DETECTOR_FORMAT, "state": Exploit()}, tmp_path / "model.pt")
    with pytest.raises(UserError, match="not a readable AngularDINO file"):
        load_detector(tmp_path / "model.pt")
    assert not (tmp_path / "pwned").exists()
