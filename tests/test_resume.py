"""Exact resume from any iteration, and determinism: same seed, same device -> identical results."""
import json
import time
from pathlib import Path

import pytest
import torch

from angular_dino.data.prepare import prepare_pu_data
from angular_dino.errors import UserError
from angular_dino.method.trainer import CHECKPOINT_FORMAT, Trainer
from angular_dino.method.views import views_for
from angular_dino.runs import monitor
from angular_dino.runs.resolve import resolve_config
from angular_dino.runs.training_run import train
from angular_dino.runtime.compute import MixedPrecision, emulated_bf16_notice, resolve_precision
from angular_dino.storage import load_torch


@pytest.fixture
def digits_settings(digits_settings):
    """One thread: on a shared 2-core machine two threads per process slow these runs down many times."""
    return {**digits_settings, "num_threads": 1}


class Killed(BaseException):
    """Stands in for SIGKILL: nothing in the program catches it, nothing is saved on the way out."""


def history_without_timings(run_dir: Path) -> list[dict]:
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in line.items() if k != "seconds"} for line in lines]


def same_outcome(a: dict, b: dict) -> bool:
    return a["auroc"] == b["auroc"] and a["auprc"] == b["auprc"] and a["prototypes"] == b["prototypes"]


def kill_at_step(monkeypatch, step_to_kill: int) -> None:
    original = Trainer._step

    def step(self, batch, step):
        if step == step_to_kill:
            raise Killed
        return original(self, batch, step)

    monkeypatch.setattr(Trainer, "_step", step)


@pytest.fixture
def reference(digits_settings, tmp_path):
    """An uninterrupted 3-epoch run: (settings, result)."""
    settings = {**digits_settings, "epochs": 3, "checkpoint_every_iters": 3}
    return settings, train(resolve_config({**settings, "output_dir": str(tmp_path / "ref")})[0], quiet=True)


@pytest.mark.slow
def test_a_run_killed_mid_epoch_resumes_bit_for_bit(reference, tmp_path, monkeypatch):
    settings, expected = reference
    config = resolve_config(settings)[0]
    kill_at_step(monkeypatch, 11)  # 7 iterations an epoch: the checkpoint of step 9 is epoch 2, iteration 2
    with pytest.raises(Killed):
        train(config, quiet=True)
    saved = load_torch(Path(config.output_dir) / "checkpoints" / "last.pt", CHECKPOINT_FORMAT)
    assert (saved["trainer"]["epoch"], saved["trainer"]["iteration"]) == (1, 2)
    assert len(saved["history"]) == 1 and saved["trainer"]["epoch_totals"].abs().sum() > 0
    monkeypatch.undo()
    resumed = train(config, quiet=True)
    assert same_outcome(resumed, expected)
    assert history_without_timings(Path(config.output_dir)) == history_without_timings(tmp_path / "ref")


@pytest.mark.slow
def test_changing_the_checkpoint_interval_still_resumes(reference, monkeypatch):
    settings, expected = reference
    config = resolve_config(settings)[0]
    kill_at_step(monkeypatch, 16)
    with pytest.raises(Killed):
        train(config, quiet=True)
    monkeypatch.undo()
    resumed = train(resolve_config({**settings, "checkpoint_every_iters": 5})[0], quiet=True)
    assert same_outcome(resumed, expected)


def as_if_just_booted(monkeypatch) -> None:
    """time.monotonic() counts from boot: make it read about 1 s now, as on a machine that has just started (where
    the first epoch once did not write, its interval not yet passed since "time 0")."""
    offset = time.monotonic() - 1.0
    real = time.monotonic
    monkeypatch.setattr(monitor.time, "monotonic", lambda: real() - offset)


@pytest.mark.slow
def test_epoch_end_writes_are_throttled_and_a_kill_between_them_resumes_from_the_last(reference, monkeypatch):
    settings, expected = reference
    config = resolve_config({**settings, "checkpoint_every_iters": 0, "checkpoint_every_seconds": 3600})[0]
    as_if_just_booted(monkeypatch)
    written, save = [], monitor.save_torch

    def counted_save(state, path):
        written.append(state["trainer"]["epoch"])
        save(state, path)

    monkeypatch.setattr(monitor, "save_torch", counted_save)
    kill_at_step(monkeypatch, 18)  # in epoch 3
    with pytest.raises(Killed):
        train(config, quiet=True)
    assert written == [1]  # the first epoch writes; the second ended too soon after it
    monkeypatch.undo()
    as_if_just_booted(monkeypatch)
    monkeypatch.setattr(monitor, "save_torch", counted_save)
    resumed = train(config, quiet=True)
    assert written == [1, 2, 3]  # the resumed process's first epoch writes, and the last always does
    assert same_outcome(resumed, expected)


@pytest.mark.slow
def test_two_runs_with_the_same_seed_are_identical(digits_settings, tmp_path):
    first = train(resolve_config({**digits_settings, "epochs": 2})[0], quiet=True)
    second = train(resolve_config({**digits_settings, "epochs": 2, "output_dir": str(tmp_path / "again")})[0],
                   quiet=True)
    assert same_outcome(first, second)
    assert history_without_timings(tmp_path / "run") == history_without_timings(tmp_path / "again")
    assert torch.are_deterministic_algorithms_enabled()  # deterministic: null means on for the CPU


@pytest.mark.parametrize("native_bf16", [False, True])
def test_precision_resolves_per_device(monkeypatch, native_bf16):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: native_bf16)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert resolve_precision("auto", cpu) == ("bf16" if native_bf16 else "fp32")
    assert resolve_precision("auto", cuda) == "bf16"
    assert resolve_precision("bf16", cpu) == "bf16"  # kept as asked, with a notice where it is emulated:
    assert (emulated_bf16_notice("bf16", cpu) is None) == native_bf16
    assert emulated_bf16_notice("fp32", cpu) is None and emulated_bf16_notice("bf16", cuda) is None
    with pytest.raises(UserError, match="fp16 needs a CUDA GPU"):
        resolve_precision("fp16", cpu)
    assert MixedPrecision("bf16", cuda).scaler is None  # bf16 needs no gradient scaler
    assert MixedPrecision("fp32", cpu).state_dict() == {}


@pytest.mark.slow
def test_bf16_autocast_and_plain_memory_format_train_on_the_cpu(digits_settings):
    config = resolve_config({**digits_settings, "epochs": 1, "precision": "bf16", "channels_last": False,
                           "deterministic": False})[0]
    result = train(config, quiet=True)
    assert 0 <= result["auroc"]["all"] <= 1


@pytest.mark.slow
def test_bf16_training_on_the_cpu_is_deterministic_and_recorded(digits_settings, tmp_path):
    """bf16 is what `auto` trains on CPUs with AMX or AVX-512-BF16: same seed, same result, and result.json says so."""
    settings = {**digits_settings, "epochs": 2, "precision": "bf16"}
    first = train(resolve_config({**settings, "output_dir": str(tmp_path / "a")})[0], quiet=True)
    second = train(resolve_config({**settings, "output_dir": str(tmp_path / "b")})[0], quiet=True)
    assert first["precision"] == "bf16"
    assert (first["auroc"], first["prototypes"]) == (second["auroc"], second["prototypes"])


def test_compile_option_compiles_both_backbones(digits_settings, monkeypatch):
    compiled = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, *a, **k: compiled.append(type(self).__name__))
    config = resolve_config({**digits_settings, "compile": True})[0]
    data = prepare_pu_data(config)
    Trainer(config, data.train_images, data.train_is_positive, views_for(config, *data.normalisation()), torch.device("cpu"))
    assert compiled == ["ResNet", "ResNet"]


def test_deterministic_mode_does_not_fill_new_tensors():
    """Deterministic mode's NaN fill of fresh memory costs about 10 % of a CPU step; no kernel here reads such
    memory, and the exact-resume and same-seed tests above show the results are unchanged without it."""
    from angular_dino.runtime.compute import use_determinism
    assert use_determinism(None, torch.device("cpu"))
    assert torch.are_deterministic_algorithms_enabled()
    assert not torch.utils.deterministic.fill_uninitialized_memory
