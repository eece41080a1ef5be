"""The `angular-dino` command line. Bad input ends with one clear message and exit status 2."""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from angular_dino.errors import UserError
from angular_dino.runtime.interrupts import TrainingStopped


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="angular-dino", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train, evaluate on the test split, write a run directory")
    train.add_argument("--config", help="YAML file of settings (see the README's key table); without it, the defaults "
                                        "(the CPU profile) and the --set values")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override one setting; repeatable (value read as YAML)")
    train.add_argument("--restart", action="store_true", help="replace the run in output_dir instead of resuming")
    train.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    bench = commands.add_parser("bench", help="methods x datasets x normal classes x seeds on identical splits: "
                                              "run the pending cells (or only `merge` the existing ones), one table")
    bench.add_argument("action", nargs="?", choices=("run", "merge"), default="run",
                       help="`run` (default): train this shard's pending cells, then the table; "
                            "`merge`: the table from the existing cell files only")
    bench.add_argument("--config", required=True, help="bench YAML (see the README's bench section)")
    bench.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override one train setting in every cell; repeatable (value read as YAML)")
    bench.add_argument("--shard", default="1/1", metavar="I/N", help="run the I-th of N disjoint shares of the cells")
    bench.add_argument("--jobs", type=int, default=1, help="cells trained at once, in separate processes")
    bench.add_argument("--methods", nargs="+", metavar="NAME",
                       help="train only these methods' cells now (the bench's method names); the table shows all")
    bench.add_argument("--classes", nargs="+", type=int, metavar="C",
                       help="train only the cells of these normal classes now; the table shows all")
    bench.add_argument("--groups", nargs="+", metavar="GROUP",
                       help="train only the cells of these groups now (a bench with `groups`); the table shows all")
    bench.add_argument("--quiet", action="store_true", help="no per-run progress bars or summaries")
    score = commands.add_parser("score", help="anomaly scores and 0/1 labels of images, as CSV (needs only model.pt)")
    score.add_argument("--run", required=True, help="run directory holding model.pt")
    score.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders (recursive), .npy or .npz")
    score.add_argument("--out", required=True, help="CSV file to write: path,score,label")
    score.add_argument("--skip-unreadable", action="store_true", help="skip unreadable files with a warning")
    init = commands.add_parser("init", help="write a starting config for a folder of your own images")
    init.add_argument("--data-dir", required=True, help="the folder holding unlabeled/ and positive/ (and test/)")
    init.add_argument("--out", default="config.yml", help="file to write (never replaced; `-`: print it); "
                                                          "default config.yml")
    evaluate = commands.add_parser("evaluate", help="metrics and plots of a finished run")
    evaluate.add_argument("--run", required=True, help="run directory")
    evaluate.add_argument("--data", help="another test folder (normal/ and anomaly/, or test/normal/ and "
                                         "test/anomaly/); default: the run's own test split")
    evaluate.add_argument("--out", help="output folder (default: the run directory; RUN/evaluate_NAME with --data)")
    export = commands.add_parser("export", help="the run's model as a self-contained TorchScript or ONNX scorer: "
                                                "uint8 images in, anomaly scores out")
    export.add_argument("--run", required=True, help="run directory holding model.pt (an AngularDINO run)")
    export.add_argument("--format", required=True, choices=("torchscript", "onnx"), help="file format")
    export.add_argument("--out", help="file to write (default: RUN/scorer.pt or RUN/scorer.onnx)")
    suggest = commands.add_parser("suggest", help="the unlabeled training images most likely to be anomalies "
                                                  "(what to label next), as CSV")
    suggest.add_argument("--run", required=True, help="run directory (its config.yaml says where the data is)")
    suggest.add_argument("--n", type=int, required=True, help="how many images to list, most anomalous first")
    suggest.add_argument("--out", default="-", help="CSV file to write: path (or index),score,rank; "
                                                    "default - (standard output)")
    return parser


def _train(args: argparse.Namespace) -> None:
    from angular_dino.runs.resolve import load_config
    from angular_dino.runs.training_run import train
    from angular_dino.runtime.distributed import shutdown_distributed

    config, notices = load_config(args.config, args.set)
    for notice in notices:
        print(notice, file=sys.stderr)
    try:
        train(config, restart=args.restart, quiet=args.quiet)
    finally:
        shutdown_distributed()


def _bench(args: argparse.Namespace) -> int:
    """Exit status 1 when a cell failed (the other cells still ran), so scripts notice."""
    from angular_dino.config import parse_overrides
    from angular_dino.runs.bench import load_bench, merge, run_bench
    from angular_dino.runs.bench.cells import parse_shard

    if args.action == "merge" and (args.shard != "1/1" or args.jobs != 1 or args.methods or args.classes
                                  or args.groups):
        raise UserError("bench merge trains nothing: it takes --config (and --set) only")
    shard = parse_shard(args.shard)
    plan = load_bench(args.config, parse_overrides(args.set))
    if args.action == "merge":
        merge(plan)
        return 0
    report = run_bench(plan, shard=shard, jobs=args.jobs, methods=args.methods, classes=args.classes,
                       groups=args.groups, quiet=args.quiet)
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

    count = score_run(args.run, args.inputs, args.out, args.skip_unreadable)
    print(f"scored {count} images into {args.out}", file=sys.stderr)


def _evaluate(args: argparse.Namespace) -> None:
    from angular_dino.detection.metrics import metrics_table, threshold_table
    from angular_dino.runs.evaluate import evaluate

    evaluation = evaluate(args.run, args.data, args.out)
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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        status = {"train": _train, "bench": _bench, "init": _init, "score": _score, "evaluate": _evaluate,
                  "export": _export, "suggest": _suggest}[args.command](args) or 0
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TrainingStopped as exc:
        print(exc, file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("interrupted; the last checkpoint is kept: run the same command again to resume", file=sys.stderr)
        return 130
    return status

