"""Kill a digits run with SIGKILL at random moments, resume each, compare with an uninterrupted run.

    .venv/bin/python benchmarks/fault_injection.py [--kills 20] [--seed 0] [--no-record]

A reference run goes first, uninterrupted; it gives the training span (from its first checkpoint
to its results). Then, for each of `--kills` trials (in a fresh run directory), `angular-dino train` is
started, and once its first checkpoint exists (start-up is not what is tested) it is killed with
SIGKILL after a delay drawn uniformly over that span (the delays come from `--seed`, so the moments
are reproducible); then the same command runs again to the end. A trial whose run finished before
its kill tests nothing: it is drawn again with the span shortened to that run's own (machines
shared with other work vary in speed), up to 5 times. Counted: checkpoints that could not be read
after a kill, runs that resumed to completion, and final results (AUROC, AUPRC, prototype ids)
identical to the reference. Checkpoints are written every 2 iterations, so most kills land mid-epoch.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from record import ROOT, header, write_section

sys.path.insert(0, str(ROOT / "src"))
from angular_dino.errors import UserError  # noqa: E402
from angular_dino.method.trainer import CHECKPOINT_FORMAT  # noqa: E402
from angular_dino.storage import load_torch  # noqa: E402

SETTINGS = {"dataset": "digits", "arch": "resnet_tiny", "epochs": 4, "batch_size": 16, "local_crops_number": 2,
            "lr": 0.002, "warmup_fraction": 0.1, "freeze_last_layer_fraction": 0.05, "use_weight": False,
            "normal_class": 0, "unseen_anomaly_class": 9, "num_threads": 1, "checkpoint_every_iters": 2}
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}


def command(config: Path) -> list[str]:
    return [sys.executable, "-m", "angular_dino.cli", "train", "--config", str(config), "--quiet"]


def outcome(run_dir: Path) -> dict:
    result = json.loads((run_dir / "result.json").read_text())
    return {key: result[key] for key in ("auroc", "auprc", "prototypes")}


def prepare(scratch: Path, name: str) -> tuple[Path, Path]:
    run_dir = scratch / name
    config = scratch / f"{name}.yml"
    config.write_text(yaml.safe_dump({**SETTINGS, "output_dir": str(run_dir)}))
    return config, run_dir


def wait_for_first_checkpoint(child: subprocess.Popen, run_dir: Path) -> None:
    last = run_dir / "checkpoints" / "last.pt"
    while not last.exists() and child.poll() is None:
        time.sleep(0.02)


def checkpoint_readable(run_dir: Path) -> bool | None:
    """None when the kill came before the first checkpoint."""
    path = run_dir / "checkpoints" / "last.pt"
    if not path.exists():
        return None
    try:
        load_torch(path, CHECKPOINT_FORMAT)
        return True
    except UserError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    parser.add_argument("--no-record", action="store_true", help="print only (for smoke tests)")
    args = parser.parse_args()
    moments = random.Random(args.seed)
    counts = {"resumed": 0, "identical": 0, "unreadable": 0, "mid_run": 0}
    with tempfile.TemporaryDirectory() as scratch:
        config, run_dir = prepare(Path(scratch), "reference")
        child = subprocess.Popen(command(config), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_first_checkpoint(child, run_dir)
        start = time.time()
        while not (run_dir / "result.json").exists() and child.poll() is None:
            time.sleep(0.02)
        span = time.time() - start  # until its results exist: the report written after them is not training
        if child.wait() != 0:
            sys.exit("the reference run failed")
        reference = outcome(run_dir)
        print(f"reference run: {span:.1f} s after its first checkpoint, AUROC {reference['auroc']['all']:.4f}",
              flush=True)
        for trial in range(args.kills):
            config, run_dir = prepare(Path(scratch), f"trial{trial}")
            for _ in range(5):
                shutil.rmtree(run_dir, ignore_errors=True)
                delay = moments.uniform(0, span)
                child = subprocess.Popen(command(config), env=ENV, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
                wait_for_first_checkpoint(child, run_dir)
                started = time.time()
                while time.time() - started < delay and child.poll() is None:
                    time.sleep(0.02)
                lasted = time.time() - started
                child.send_signal(signal.SIGKILL)
                child.wait()
                mid_run = child.returncode == -signal.SIGKILL and not (run_dir / "result.json").exists()
                failed = child.returncode not in (0, -signal.SIGKILL)
                if mid_run or failed:  # a failed run is counted below, not drawn again
                    break
                span = min(span, lasted)  # it finished before the kill: aim within its own time
            readable = checkpoint_readable(run_dir)
            counts["unreadable"] += readable is False
            counts["mid_run"] += mid_run
            resumed = subprocess.run(command(config), env=ENV, capture_output=True, text=True)
            ok = resumed.returncode == 0 and (run_dir / "result.json").exists()
            counts["resumed"] += ok
            counts["identical"] += ok and outcome(run_dir) == reference
            moment = "mid-run" if mid_run else "results already written"
            print(f"kill {trial + 1}: {delay:.1f} s after the first checkpoint ({moment}), checkpoint readable "
                  f"{readable}, resumed {ok}, identical {ok and outcome(run_dir) == reference}", flush=True)
    n = args.kills
    summary = (f"{counts['resumed']}/{n} resumed, {counts['identical']}/{n} identical final metrics and prototype "
               f"ids, {counts['unreadable']} unreadable checkpoints ({counts['mid_run']} kills landed before the "
               "run finished)")
    print(summary)
    if not args.no_record:
        write_section("fault_injection", [
            *header("Fault injection: SIGKILL at random moments, then resume (digits)"),
            f"Digits, `resnet_tiny`, {SETTINGS['epochs']} epochs, a checkpoint every "
            f"{SETTINGS['checkpoint_every_iters']} iterations; kill moments uniform over the time an "
            f"uninterrupted run takes from its first checkpoint to its results (seed {args.seed}); a kill that "
            "lands after the results exist is drawn again.", "", f"**{summary}.**"])


if __name__ == "__main__":
    main()
