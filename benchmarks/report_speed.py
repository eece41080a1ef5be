"""Time to render every plot and report.html of a typical run, from synthetic arrays of that run's size.

    .venv/bin/python benchmarks/report_speed.py [--test 1500] [--dim 64] [--prototypes 100] [--rows 20]
        [--neighbours 8] [--epochs 50] [--repeats 3] [--record]

Typical run: 1,500 test images, 64-d embeddings, 100 prototypes, a gallery of 20 prototypes × 8
28×28 images, 50 epochs of history. Prints the median of `--repeats` timings of `write_report`
(the first call, which imports and warms matplotlib, is timed separately); `--record` writes the
figures into BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from angular_dino.report import ReportInputs, write_report
from record import header, write_section


def typical_inputs(n_test: int, dim: int, n_prototypes: int, rows: int, neighbours: int, epochs: int) -> ReportInputs:
    rng = np.random.default_rng(0)
    kinds = rng.choice(3, size=n_test, p=[0.5, 0.25, 0.25])
    labels = np.where(kinds == 0, 0, np.where(kinds == 2, 9, rng.integers(1, 9, n_test)))
    centres = rng.normal(size=(10, dim))
    embeddings = centres[labels] + 0.8 * rng.normal(size=(n_test, dim))
    prototypes = rng.normal(size=(n_prototypes, dim))
    history = [{"epoch": e, "loss": 5 / e, "loss_dino": 4 / e, "loss_ang": 1 / e, "lr": 1e-3 / e, "lambda": 1 - 1 / e,
                "margin": 0.5 * (e > 5), "val_pu_auroc": 1 - 0.5 / e} for e in range(1, epochs + 1)]
    return ReportInputs(
        title="synthetic · typical run", result={"auroc": {"all": 0.9, "seen": 0.95, "unseen": 0.8}}, history=history,
        test_scores=kinds + rng.normal(size=n_test), test_kind=kinds, test_labels=labels,
        class_names=tuple(f"class {c}" for c in range(10)), threshold=0.5,
        test_embeddings=embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True),
        prototype_vectors=prototypes / np.linalg.norm(prototypes, axis=1, keepdims=True),
        normal_prototypes=tuple(range(rows // 2)), anomaly_prototypes=tuple(range(rows // 2, rows)),
        gallery={p: rng.integers(0, 256, (neighbours, 1, 28, 28), dtype=np.uint8) for p in range(rows)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in (("test", 1500), ("dim", 64), ("prototypes", 100), ("rows", 20), ("neighbours", 8),
                          ("epochs", 50), ("repeats", 3)):
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--record", action="store_true", help="write the figures into BENCHMARKS.md")
    args = parser.parse_args()
    inputs = typical_inputs(args.test, args.dim, args.prototypes, args.rows, args.neighbours, args.epochs)
    timings, cpu = [], []
    with tempfile.TemporaryDirectory() as out:
        for _ in range(args.repeats + 1):
            start, start_cpu = time.perf_counter(), time.process_time()
            files = write_report(Path(out), inputs)
            timings.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        sizes = ", ".join(f"{path.name} {path.stat().st_size / 1024:.0f} KiB" for path in files)
    first, median, median_cpu = timings[0], statistics.median(timings[1:]), statistics.median(cpu[1:])
    print(f"first call {first:.2f} s, then median {median:.2f} s wall ({median_cpu:.2f} s CPU) over "
          f"{args.repeats}; {sizes}")
    if args.record:
        write_section("report_speed", header("Rendering plots and report.html (`write_report`)") + [
            f"{args.test} test images, {args.dim}-d embeddings, {args.prototypes} prototypes, gallery "
            f"{args.rows} × {args.neighbours} images of 28×28, {args.epochs} epochs of history.", "",
            f"First call (imports, font cache) {first:.2f} s; then median {median:.2f} s wall, {median_cpu:.2f} s "
            f"CPU, of {args.repeats}.  ",
            f"Files: {sizes}."])


if __name__ == "__main__":
    main()
