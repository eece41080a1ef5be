"""Measure the README's run command and the test suite; record the figures in BENCHMARKS.md.

    .venv/bin/python benchmarks/core_run.py [--seeds 0 1 2] [--normal 0 --unseen 9] [--skip-tests]

For each seed: wall time and peak memory (max RSS of the child process) of
`angular-dino train --config configs/fashion_mnist.yml` (by default normal class 0, unseen class 9,
as the README's command), and the AUROC/AUPRC it reports. Then the wall time of the whole test suite. Runs one thing at a time so the
timings are not disturbed by each other.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from record import ROOT, header, write_section


def measure(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (GiB) of one child process (its own maximum, from wait4)."""
    with tempfile.TemporaryFile() as log:
        start = time.time()
        child = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.time() - start
        if os.waitstatus_to_exitcode(status) != 0:
            log.seek(0)
            sys.exit(f"{' '.join(command)} failed:\n{log.read().decode()[-3000:]}")
    return seconds, usage.ru_maxrss / 2**20


def train_command(out: Path, settings: dict[str, object], config: str | None = None) -> list[str]:
    """The virtual environment's `angular-dino train` with these settings (after `config`, if any), writing its
    run directory to `out`, quiet: the one command line every benchmark that trains builds."""
    exe = str(ROOT / ".venv" / "bin" / "angular-dino")
    config_args = [] if config is None else ["--config", config]
    sets = [arg for key, value in {**settings, "output_dir": out}.items() for arg in ("--set", f"{key}={value}")]
    return [exe, "train", *config_args, *sets, "--quiet"]


def key_value(text: str) -> str:
    """A `--set` argument, refused here unless it reads KEY=VALUE."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return text


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--normal", type=int, default=0)
    parser.add_argument("--unseen", type=int, default=9)
    parser.add_argument("--skip-tests", action="store_true")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", type=key_value,
                        help="another train setting (repeatable), e.g. the small protocol's split sizes")
    parser.add_argument("--section", help="BENCHMARKS.md section (default: core_run_c<normal>_u<unseen>)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for seed in args.seeds:
            out = Path(scratch) / f"seed{seed}"
            settings = {"seed": seed, "normal_class": args.normal, "unseen_anomaly_class": args.unseen,
                        **dict(override.split("=", 1) for override in args.overrides)}
            command = train_command(out, settings, config="configs/fashion_mnist.yml")
            seconds, peak = measure(command)
            result = json.loads((out / "result.json").read_text())
            rows.append((seed, seconds, peak, result))
            print(f"seed {seed}: {seconds:.0f} s, peak {peak:.2f} GiB, AUROC {result['auroc']}", flush=True)
    suite_seconds = None
    if not args.skip_tests:
        suite_seconds, _ = measure([str(ROOT / ".venv" / "bin" / "python"), "-m", "pytest", "-q"])
        print(f"test suite: {suite_seconds:.0f} s", flush=True)

    title = f"Core run: `configs/fashion_mnist.yml`, Fashion-MNIST normal {args.normal} / unseen {args.unseen}"
    if args.overrides:
        title += ", with " + ", ".join(f"`{o}`" for o in args.overrides)
    lines = header(title) + [
        "| seed | wall time (s) | peak memory (GiB) | AUROC all | seen | unseen | AUPRC all | seen | unseen |",
        "|---|---|---|---|---|---|---|---|---|"]
    for seed, seconds, peak, r in rows:
        lines.append(f"| {seed} | {seconds:.0f} | {peak:.2f} | " + " | ".join(
            fmt(r[m][k]) for m in ("auroc", "auprc") for k in ("all", "seen", "unseen")) + " |")
    if suite_seconds is not None:
        lines += ["", f"Whole test suite (`.venv/bin/python -m pytest -q`): {suite_seconds:.0f} s."]
    write_section(args.section or f"core_run_c{args.normal}_u{args.unseen}", lines)


if __name__ == "__main__":
    main()
