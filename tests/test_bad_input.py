"""The README's "When input is wrong" table: every row is a case triggered for real here.

Each case is a description and a function that provokes the error in a scratch directory. The test
checks that the README row of every case shows exactly the message the code gives, and that the
table has no row without a case, so the table cannot drift from the code. To add a case, add one
entry to CASES and paste the row that `python tests/test_bad_input.py` prints.
"""
from __future__ import annotations

import html
import os
import re
import socket
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from angular_dino.config import parse_overrides
from angular_dino.data import cifar10, svhn
from angular_dino.data.images import as_images, as_pu_labels
from angular_dino.data.prepare import prepare_pu_data
from angular_dino.data.sources import MNIST, read_idx
from angular_dino.errors import UserError
from angular_dino.runs.resolve import load_config, resolve_config
from angular_dino.runs.run_dir import RunDirectory
from fixture_files import cifar_batch, cifar_fixture_arrays, python2_pickle, write_cifar_archive, write_idx

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## When input is wrong"


def _config_file(directory: Path, text: str) -> None:
    (directory / "c.yml").write_text(text)
    load_config(directory / "c.yml")


def _different_run(directory: Path) -> None:
    run = RunDirectory(directory / "run")
    run.start(resolve_config({"dataset": "digits", "epochs": 1})[0])
    run.state_for(resolve_config({"dataset": "digits", "epochs": 2})[0], restart=False)


def _foreign_files(directory: Path) -> None:
    (directory / "run").mkdir()
    (directory / "run" / "thesis.tex").write_text("precious")
    RunDirectory(directory / "run").state_for(resolve_config({"dataset": "digits"})[0], restart=True)


def _idx_file(directory: Path, cut: int) -> None:
    write_idx(directory / "train-images-idx3-ubyte", np.zeros((4, 28, 28)), compress=False)
    raw = (directory / "train-images-idx3-ubyte").read_bytes()
    (directory / "train-images-idx3-ubyte").write_bytes(raw[:-cut] if cut else b"hello world")
    read_idx(directory / "train-images-idx3-ubyte")


def _offline(directory: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on: what an unreachable server looks like
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/"
    replace(cifar10.CIFAR10_FILES, base_urls=(url,)).locate(str(directory / "data"), download=True)


def _corrupt_download(directory: Path) -> None:
    (directory / "mirror").mkdir()
    for name in svhn.SVHN_FILES.files:
        (directory / "mirror" / name).write_bytes(b"not the SVHN file")
    replace(svhn.SVHN_FILES, base_urls=((directory / "mirror").as_uri(),)).locate(str(directory / "data"), True)


class _Exploit:
    def __reduce__(self):
        return os.system, ("echo pwned",)


def _malicious_cifar(directory: Path) -> None:
    batches = {name: cifar_batch(x, y, b"batch") for name, (x, y) in cifar_fixture_arrays().items()}
    batches["data_batch_1"] = python2_pickle({b"data": _Exploit()})
    write_cifar_archive(directory / "cifar-10-python.tar.gz", batches)
    cifar10.read_cifar10(str(directory), download=False)


def _damaged_cifar(directory: Path) -> None:
    (directory / "cifar-10-python.tar.gz").write_bytes(b"half an archive")
    cifar10.read_cifar10(str(directory), download=False)


def _svhn_layout(directory: Path) -> None:
    import scipy.io
    scipy.io.savemat(directory / "train_32x32.mat", {"X": np.zeros((2, 3072), np.uint8), "y": np.ones((2, 1))})
    svhn.read_mat(directory / "train_32x32.mat")


CASES: dict[str, Callable[[Path], object]] = {
    "unknown key (a typo)": lambda d: resolve_config({"marign": 0.3}),
    "text where a number belongs": lambda d: resolve_config({"epochs": "ten"}),
    "text where true/false belongs": lambda d: resolve_config({"use_weight": "yes"}),
    "value out of range": lambda d: resolve_config({"margin": -0.1}),
    "value not among the choices": lambda d: resolve_config({"margin_type": "sideways"}),
    "a class the dataset does not have": lambda d: resolve_config({"normal_class": 12}),
    "unseen class equal to the normal class": lambda d: resolve_config({"normal_class": 4, "unseen_anomaly_class": 4}),
    "unknown dataset": lambda d: resolve_config({"dataset": "imagenet"}),
    "unknown backbone": lambda d: resolve_config({"arch": "resnet19"}),
    "original and new spelling of one key": lambda d: resolve_config({"warmup_epochs": 10, "warmup_fraction": 0.1}),
    "output_dir template with an unknown key": lambda d: resolve_config({"output_dir": "runs/{nope}"}),
    "several problems at once": lambda d: resolve_config({"epochs": -1, "lr": "fast"}),
    "`--set` without `=`": lambda d: parse_overrides(["epochs"]),
    "`--set` value that is not YAML": lambda d: parse_overrides(["lr=[1,"]),
    "config file missing": lambda d: load_config(d / "absent.yml"),
    "config file that is not YAML": lambda d: _config_file(d, "epochs: [1,\n"),
    "config file that is a list": lambda d: _config_file(d, "- 1\n- 2\n"),
    "output_dir holds a run with other settings": _different_run,
    "output_dir holds files that are not a run": _foreign_files,
    "dataset files missing, download off": lambda d: MNIST.read(str(d / "nowhere"), download=False),
    "dataset server unreachable (offline)": _offline,
    "downloaded file fails its checksum": _corrupt_download,
    "truncated IDX file": lambda d: _idx_file(d, cut=10),
    "file that is not IDX": lambda d: _idx_file(d, cut=0),
    "damaged CIFAR-10 archive": _damaged_cifar,
    "CIFAR-10 batch that would run code": _malicious_cifar,
    "SVHN file in another layout": _svhn_layout,
    "too few images for the PU split": lambda d: prepare_pu_data(
        resolve_config({"dataset": "digits", "n_unlabeled_normal": 1000})[0]),
    "images with 5 channels (Python API)": lambda d: as_images(np.zeros((2, 5, 8, 8))),
    "images with NaN (Python API)": lambda d: as_images(np.full((1, 2, 2), np.nan)),
    "PU labels other than 0 and 1 (Python API)": lambda d: as_pu_labels([0, 2, 1], 3),
    "float images on no pixel scale (Python API)": lambda d: as_images(np.linspace(0, 16, 64).reshape(1, 8, 8)),
    "flat rows that are not square (Python API)": lambda d: as_images(np.zeros((2, 10))),
}


def message_of(case: str, directory: Path) -> str:
    """The case's message as the README shows it: scratch paths as DIR, the local port as PORT."""
    try:
        CASES[case](directory)
    except UserError as exc:
        text = str(exc).replace(str(directory), "DIR")
        return re.sub(r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:PORT", text)
    raise AssertionError(f"case {case!r} gave no UserError")


def table_row(case: str, message: str) -> str:
    escaped = html.escape(message, quote=False).replace("|", "\\|")  # `<stream end>` must not vanish as a tag
    cell = "<br>".join(line.strip() for line in escaped.splitlines())
    return f"| {case} | {cell} |"


def readme_rows() -> dict[str, str]:
    """The rows of the README section, by case."""
    text = README.read_text()
    section = text[text.index(SECTION):]
    section = section[:section.find("\n## ", 1)] if "\n## " in section[1:] else section
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| case |")]
    return {row[2:].split(" | ", 1)[0]: row for row in rows}


@pytest.mark.parametrize("case", list(CASES))
def test_readme_row_shows_the_real_message(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the exploit case must leave nothing behind, wherever the suite runs
    assert readme_rows().get(case) == table_row(case, message_of(case, tmp_path))


def test_readme_table_has_a_case_for_every_row_and_at_least_15():
    assert sorted(readme_rows()) == sorted(CASES) and len(CASES) >= 15


if __name__ == "__main__":
    print("| case | what you see |\n|---|---|")
    for name in CASES:
        with tempfile.TemporaryDirectory() as scratch:
            print(table_row(name, message_of(name, Path(scratch))))
