"""The `angular-dino` command line. Bad input ends with one clear message and exit status 2."""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from angular_dino.errors import UserError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="angular-dino", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train, evaluate on the test split, write a run directory")
    train.add_argument("--config", required=True, help="YAML file of settings (see the README's key table)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override one setting; repeatable (value read as YAML)")
    train.add_argument("--restart", action="store_true", help="replace the run in output_dir instead of resuming")
    train.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    score = commands.add_parser("score", help="anomaly scores and 0/1 labels of images, as CSV (needs only model.pt)")
    score.add_argument("--run", required=True, help="run directory holding model.pt")
    score.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders (recursive), .npy or .npz")
    score.add_argument("--out", required=True, help="CSV file to write: path,score,label")
    score.add_argument("--skip-unreadable", action="store_true", help="skip unreadable files with a warning")
    evaluate = commands.add_parser("evaluate", help="metrics and plots of a finished run")
    evaluate.add_argument("--run", required=True, help="run directory")
    evaluate.add_argument("--data", help="another test folder (normal/ and anomaly/, or test/normal/ and "
                                         "test/anomaly/); default: the run's own test split")
    evaluate.add_argument("--out", help="output folder (default: the run directory; RUN/evaluate_NAME with --data)")
    return parser


def _train(args: argparse.Namespace) -> None:
    from angular_dino.config import load_config
    from angular_dino.train import train

    config, notices = load_config(args.config, args.set)
    for notice in notices:
        print(notice, file=sys.stderr)
    train(config, restart=args.restart, quiet=args.quiet)


def _score(args: argparse.Namespace) -> None:
    from angular_dino.scoring import score_run

    count = score_run(args.run, args.inputs, args.out, args.skip_unreadable)
    print(f"scored {count} images into {args.out}", file=sys.stderr)


def _evaluate(args: argparse.Namespace) -> None:
    from angular_dino.evaluate import evaluate
    from angular_dino.metrics import metrics_table

    evaluation = evaluate(args.run, args.data, args.out)
    print(metrics_table(evaluation))
    print(f"threshold {evaluation['threshold']:.4f} ({evaluation['threshold_rule']}); "
          f"written to {evaluation['out_dir']}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        {"train": _train, "score": _score, "evaluate": _evaluate}[args.command](args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
