"""The `angular-dino` command line. Bad input ends with one clear message and exit status 2."""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from angular_dino.cli.parser import build_parser, with_bench_action
from angular_dino.errors import UserError
from angular_dino.runtime.console import NORMAL, QUIET, VERBOSE, notice, set_verbosity
from angular_dino.runtime.interrupts import TrainingStopped


def _train(args: argparse.Namespace) -> None:
    from angular_dino.runs.resolve import load_config
    from angular_dino.runs.training_run import train
    from angular_dino.runtime.distributed import shutdown_distributed

    config, notices = load_config(args.config, args.set)
    for line in notices:
        notice(line)
    try:
        train(config, restart=args.restart, quiet=args.quiet)
    finally:
        shutdown_distributed()


def _bench(args: argparse.Namespace) -> int:
    """Exit status 1 when a cell failed (the other cells still ran), so scripts notice."""
    from angular_dino.config import parse_overrides
    from angular_dino.runs.bench import load_bench, merge, run_bench
    from angular_dino.runs.bench.cells import parse_shard

    plan = load_bench(args.config, parse_overrides(args.set))
    if args.action == "merge":
        merge(plan)
        return 0
    shard = parse_shard(args.shard)
    report = run_bench(plan, shard=shard, jobs=args.jobs, methods=args.methods, classes=args.classes,
                       groups=args.groups, seeds=args.seeds, quiet=args.quiet)
    return 1 if report.failed else 0


def _init(args: argparse.Namespace) -> None:
    from angular_dino.runs.init_config import write_starting_config

    text = write_starting_config(args.data_dir, args.out)
    if args.out == "-":
        print(text, end="")
    else:
        print(f"wrote {args.out}; train with: angular-dino train --config {args.out}", file=sys.stderr)


def _score(args: argparse.Namespace) -> None:
    from angular_dino.runs.score import score_run

    count = score_run(args.run, args.inputs, None if args.out == "-" else args.out, args.skip_unreadable)
    notice(f"scored {count} images into {'standard output' if args.out == '-' else args.out}")


def _evaluate(args: argparse.Namespace) -> None:
    from angular_dino.detection.metrics import metrics_table, threshold_table
    from angular_dino.runs.evaluate import evaluate

    evaluation = evaluate(args.run, args.data, args.out)
    if not args.quiet:
        print(metrics_table(evaluation))
        print(threshold_table(evaluation["at_threshold"], evaluation["threshold_rule"]))
        print(f"written to {evaluation['out_dir']}")


def _suggest(args: argparse.Namespace) -> None:
    from angular_dino.runs.suggest import suggest_run

    count = suggest_run(args.run, args.n, args.out)
    print(f"listed {count} unlabeled training images{'' if args.out == '-' else f' in {args.out}'}", file=sys.stderr)


def _export(args: argparse.Namespace) -> None:
    from angular_dino.runs.export import export_run

    print(f"wrote {export_run(args.run, args.format, args.out)}", file=sys.stderr)


COMMANDS = {"train": _train, "bench": _bench, "init": _init, "score": _score, "evaluate": _evaluate,
            "export": _export, "suggest": _suggest}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(with_bench_action(sys.argv[1:] if argv is None else argv))
    set_verbosity(QUIET if args.quiet else VERBOSE if args.verbose else NORMAL)
    try:
        status = COMMANDS[args.command](args) or 0
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TrainingStopped as exc:
        print(exc, file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("interrupted; the last checkpoint is kept: run the same command again to resume", file=sys.stderr)
        return 130
    finally:
        set_verbosity(NORMAL)  # main() may be called again in the same process (tests, scripts)
    return status
