"""DDP with torchrun on the CPU (gloo): two processes train one run, and a stopped run resumes exactly."""
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import yaml

from angular_dino.runtime.distributed import Distributed, init_distributed

ROOT = Path(__file__).resolve().parents[1]


def torchrun(config: Path, cwd: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "angular_dino.cli", "train", "--config", str(config)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def write_config(path: Path, settings: dict) -> Path:
    path.write_text(yaml.safe_dump(settings))
    return path


def test_a_single_process_needs_no_process_group(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert init_distributed(torch.device("cpu")) == Distributed() and not dist.is_initialized()
    context = Distributed()
    tensor = torch.ones(3)
    assert context.mean(tensor) is tensor and context.gather("x") == ["x"] and context.from_main(7) == 7


def _flags_seen_by(rank: int, port: int, answers) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        flags = (rank == 1, False, rank == 0)
        answers[rank] = Distributed(rank=rank, world_size=2).any_each(flags, torch.device("cpu"))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_any_each_answers_every_flag_alike_on_every_rank():
    """The monitor asks for a stop and a due write in one all-reduce: each flag is true where any rank raised it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    answers = mp.Manager().dict()
    mp.spawn(_flags_seen_by, args=(port, answers), nprocs=2)
    assert dict(answers) == {0: (True, False, True), 1: (True, False, True)}


@pytest.mark.slow
def test_torchrun_with_two_cpu_processes_trains_and_resumes_exactly(digits_settings, tmp_path):
    settings = {**digits_settings, "epochs": 4, "batch_size": 8, "num_threads": 1, "checkpoint_every_iters": 1}
    reference = torchrun(write_config(tmp_path / "ref.yml", {**settings, "output_dir": str(tmp_path / "ref")}),
                         tmp_path)
    out, err = reference.communicate(timeout=150)
    assert reference.returncode == 0, err[-3000:]
    assert out.count("AUROC") == 1  # only rank 0 prints
    expected = json.loads((tmp_path / "ref" / "result.json").read_text())
    lines = (tmp_path / "ref" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3, 4]
    assert all(math.isfinite(json.loads(line)["loss"]) for line in lines)
    assert all(0 <= value <= 1 for value in expected["auroc"].values())
    assert len(set(expected["prototypes"]["normal"]) | set(expected["prototypes"]["anomaly"])) == 20

    config = write_config(tmp_path / "run.yml", settings)
    stopped = torchrun(config, tmp_path)
    last = Path(settings["output_dir"]) / "checkpoints" / "last.pt"
    deadline = time.time() + 120
    while not last.exists() and time.time() < deadline and stopped.poll() is None:
        time.sleep(0.1)
    os.killpg(stopped.pid, signal.SIGTERM)  # as a scheduler would: every process of the job
    _, err = stopped.communicate(timeout=120)
    assert "Run the same command again to resume" in err, err[-3000:]
    assert not (tmp_path / "run" / "result.json").exists()

    resumed = torchrun(config, tmp_path)
    _, err = resumed.communicate(timeout=150)
    assert resumed.returncode == 0, err[-3000:]
    assert "resuming" in err
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["auroc"] == expected["auroc"] and result["prototypes"] == expected["prototypes"]
