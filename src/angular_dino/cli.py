"""The `angular-dino` command line. Bad input ends with one clear message and exit status 2."""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from angular_dino.errors import UserError
from angular_dino.interrupts import TrainingStopped


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="angular-dino", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train, evaluate on the test split, write a run directory")
    train.add_argument("--config", required=True, help="YAML file of settings (see the README's key table)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override one setting; repeatable (value read as YAML)")
    train.add_argument("--restart", action="store_true", help="replace the run in output_dir instead of resuming")
    train.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    return parser


def _train(args: argparse.Namespace) -> None:
    from angular_dino.config import load_config
    from angular_dino.distributed import shutdown_distributed
    from angular_dino.train import train

    config, notices = load_config(args.config, args.set)
    for notice in notices:
        print(notice, file=sys.stderr)
    try:
        train(config, restart=args.restart, quiet=args.quiet)
    finally:
        shutdown_distributed()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        {"train": _train}[args.command](args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TrainingStopped as exc:
        print(exc, file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("interrupted; the last checkpoint is kept: run the same command again to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
