"""The `angular-dino` arguments: every subcommand with a description, an example, `--quiet` and `--verbose`."""
from __future__ import annotations

import argparse
from typing import Sequence

from angular_dino.version import __version__

DESCRIPTION = """Semi-supervised (positive-unlabeled) image anomaly detection with AngularDINO and its baselines.
Bad input ends with one clear message and exit status 2."""
BENCH_ACTIONS = ("run", "merge")


def _command(commands: argparse._SubParsersAction, name: str, summary: str, description: str,
             examples: Sequence[str], loudness: bool = True) -> argparse.ArgumentParser:
    """A subcommand whose --help shows its description and examples, with --quiet and --verbose (`bench` leaves
    them to its actions, whose defaults would override its own)."""
    lines = "\n".join(f"  {example}" for example in examples)
    parser = commands.add_parser(name, help=summary, description=f"{summary}.\n\n{description}",
                                 epilog=f"example{'s' if len(examples) > 1 else ''}:\n{lines}",
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    if not loudness:
        return parser
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", help="print errors only: no progress, notices or "
                                                                     "summaries")
    group.add_argument("-v", "--verbose", action="store_true", help="also print a line per epoch (above the "
                                                                       "progress bar) and what was read")
    return parser


def _settings(parser: argparse.ArgumentParser, config_help: str, set_help: str, config_required: bool = True) -> None:
    parser.add_argument("--config", required=config_required, help=config_help)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=set_help)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="angular-dino", description=DESCRIPTION,
                                     epilog="`angular-dino COMMAND --help` describes each command, with examples.")
    parser.add_argument("--version", action="version", version=f"angular-dino {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train = _command(commands, "train", "train, evaluate on the test split, write a run directory",
                     "Resumes a stopped run in output_dir from its checkpoint; a finished run is reported, not "
                     "trained again.\nThe original `python angular_dino_train.py --config config.yml` runs this.",
                     ["angular-dino train --config configs/fashion_mnist.yml --set normal_class=3",
                      "angular-dino train --config config.yml --set epochs=1 --set dataset=digits"])
    _settings(train, "YAML file of settings (see the README's key table); without it, the defaults (the CPU "
                     "profile) and the --set values",
              "override one setting; repeatable (value read as YAML)", config_required=False)
    train.add_argument("--restart", action="store_true", help="replace the run in output_dir instead of resuming")

    bench = _command(commands, "bench", "methods x datasets x normal classes x seeds on identical splits, one table",
                     "`bench run` (the default) trains this shard's pending cells, then writes the table;\n"
                     "`bench merge` writes the table from the existing cell files only.",
                     ["angular-dino bench --config configs/bench_fashion_mnist.yml --methods angular_dino",
                      "angular-dino bench merge --config configs/bench_fashion_mnist.yml"], loudness=False)
    actions = bench.add_subparsers(dest="action", metavar="ACTION")
    run = _command(actions, "run", "train this shard's pending cells, then write the table",
                   "Stop it at any time (Ctrl-C): an AngularDINO cell resumes from its checkpoint.",
                   ["angular-dino bench run --config configs/bench_fashion_mnist.yml --shard 1/2 --jobs 2"])
    merge = _command(actions, "merge", "write the table from the existing cell files only (trains nothing)",
                     "Use it after shards ran on several machines, or after a copy of the bench ran some classes.",
                     ["angular-dino bench merge --config configs/bench_fashion_mnist.yml"])
    for action in (run, merge):
        _settings(action, "bench YAML (see the README's bench section)",
                  "override one train setting in every cell; repeatable (value read as YAML)")
    run.add_argument("--shard", default="1/1", metavar="I/N", help="run the I-th of N disjoint shares of the cells")
    run.add_argument("--jobs", type=int, default=1, help="cells trained at once, in separate processes")
    run.add_argument("--methods", nargs="+", metavar="NAME",
                     help="train only these methods' cells now (the bench's method names); the table shows all")
    run.add_argument("--classes", nargs="+", type=int, metavar="C",
                     help="train only the cells of these normal classes now; the table shows all")
    run.add_argument("--groups", nargs="+", metavar="GROUP",
                     help="train only the cells of these groups now (a bench with `groups`); the table shows all")
    run.add_argument("--seeds", nargs="+", type=int, metavar="S",
                     help="train only the cells of these seeds now; the table shows all")

    score = _command(commands, "score", "anomaly scores and 0/1 labels of images, as CSV (needs only model.pt)",
                     "Inputs are image files, folders (searched recursively), .npy and .npz arrays; the CSV has "
                     "the columns path,score,label.",
                     ["angular-dino score --run runs/fashion_mnist_c0_u9_s0 photos/ --out scores.csv",
                      "angular-dino score --run runs/fashion_mnist_c0_u9_s0 batch.npy > scores.csv"])
    score.add_argument("--run", required=True, help="run directory holding model.pt")
    score.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders (recursive), .npy or .npz")
    score.add_argument("--out", default="-", help="CSV file to write (default `-`: standard output)")
    score.add_argument("--skip-unreadable", action="store_true", help="skip unreadable files with a warning")

    evaluate = _command(commands, "evaluate", "metrics and plots of a finished run",
                        "Scores the run's own test split, or another test folder (--data), and writes "
                        "evaluation.json and the report.",
                        ["angular-dino evaluate --run runs/fashion_mnist_c0_u9_s0",
                         "angular-dino evaluate --run runs/fashion_mnist_c0_u9_s0 --data my_test_images/"])
    evaluate.add_argument("--run", required=True, help="run directory")
    evaluate.add_argument("--data", help="another test folder (normal/ and anomaly/, or test/normal/ and "
                                         "test/anomaly/); default: the run's own test split")
    evaluate.add_argument("--out", help="output folder (default: the run directory; RUN/evaluate_NAME with --data)")

    init = _command(commands, "init", "write a starting config for a folder of your own images",
                    "Names the data, shows what the defaults make of it and lists the keys most often changed; "
                    "an existing file is never replaced.",
                    ["angular-dino init --data-dir my_images --out my.yml", "angular-dino init --data-dir my_images --out -"])
    init.add_argument("--data-dir", required=True, help="the folder holding unlabeled/ and positive/ (and test/)")
    init.add_argument("--out", default="config.yml", help="file to write (never replaced; `-`: print it); "
                                                          "default config.yml")

    export = _command(commands, "export", "the run's model as a self-contained TorchScript or ONNX scorer",
                      "uint8 images in, anomaly scores out: normalisation, teacher and prototype score inside.",
                      ["angular-dino export --run runs/fashion_mnist_c0_u9_s0 --format torchscript"])
    export.add_argument("--run", required=True, help="run directory holding model.pt (an AngularDINO run)")
    export.add_argument("--format", required=True, choices=("torchscript", "onnx"), help="file format")
    export.add_argument("--out", help="file to write (default: RUN/scorer.pt or RUN/scorer.onnx)")

    suggest = _command(commands, "suggest", "the unlabeled training images most likely to be anomalies, as CSV",
                       "What to label next: path (or index into the train pool), score and rank, most anomalous "
                       "first.", ["angular-dino suggest --run runs/folder_s0 --n 20 --out to_label.csv"])
    suggest.add_argument("--run", required=True, help="run directory (its config.yaml says where the data is)")
    suggest.add_argument("--n", type=int, required=True, help="how many images to list, most anomalous first")
    suggest.add_argument("--out", default="-", help="CSV file to write: path (or index),score,rank; "
                                                    "default - (standard output)")
    return parser


def with_bench_action(argv: Sequence[str]) -> list[str]:
    """`bench --config X` means `bench run --config X`: the action is optional, as it always was."""
    argv = list(argv)
    if argv[:1] == ["bench"] and not (argv[1:2] and argv[1] in (*BENCH_ACTIONS, "-h", "--help")):
        argv.insert(1, "run")
    return argv
