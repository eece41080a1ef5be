"""Seeded fuzz of the command line's inputs: hostile configs, --set values, images and arrays.

Every case calls `main()` in this process and must end with exit status 0 or 2, print no traceback and change no
existing file. Configs always carry one unknown key, so every value is still judged but nothing trains; images
and arrays are scored by one tiny model trained once.
"""
import contextlib
import hashlib
import io
import random
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from angular_dino.cli import main
from angular_dino.config import FIELDS
from angular_dino.config.original import EPOCH_KEYS, FIXED_KEYS, IGNORED_KEYS, RENAMED_KEYS, TIED_KEYS
from angular_dino.runs.resolve import resolve_config
from angular_dino.runs.training_run import train
from conftest import DIGITS

SEED = 13
CASES = 240
KEYS = [*FIELDS, *RENAMED_KEYS, *EPOCH_KEYS, *IGNORED_KEYS, *FIXED_KEYS, *TIED_KEYS, "nonsense", "", "ü"]
YAML_VALUES = ["0", "-1", "1", "3", "2.5", "1e400", "-.inf", ".nan", "null", "true", "no", "'text'", "[]", "[5]",
               "[1, 2, 3]", "{a: 1}", "2001-12-14", "!!binary aGVsbG8=", "!!python/name:os.system",
               "!!python/object/apply:os.system [echo hi]", "!custom 3", "999999999999999999999999", "'{x}'",
               "'runs/{nope}'", "[0.9, 0.1]", "[.nan, 1]", "&a [*a]", "\"\\0\"", "fashion_mnist", "PUFashionMNIST",
               "tea-stu", "folder", "cuda", "bf16", "fp16"]
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(7))


@pytest.fixture(scope="module")
def model_run(tmp_path_factory):
    """One tiny trained run whose model.pt scores the hostile images."""
    out = tmp_path_factory.mktemp("fuzz_model") / "run"
    config = resolve_config({**DIGITS, "epochs": 1, "num_threads": 1, "output_dir": str(out)})[0]
    train(config, quiet=True)
    return out


def random_yaml(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return ALIAS_BOMB + f"{rng.choice(KEYS)}: *h\n"
    lines = [f"{rng.choice(KEYS)}: {rng.choice(YAML_VALUES)}" for _ in range(rng.randint(0, 6))]
    extra = rng.choice(["", "- list\n", "key: [unclosed\n", "\t tab: 1\n", "? complex\n: key\n", "%YAML 9.9\n",
                        "a: 1\na: 2\n", "\x00\n", "---\n---\n"])
    return "\n".join(lines) + "\n" + extra


def random_set(rng: random.Random) -> str:
    choice = rng.random()
    if choice < 0.2:
        return rng.choice(["", "=", "=1", "epochs", "a=b=c", "epochs=[", "lr=!!python/none", " =3", "ü=ü"])
    return f"{rng.choice(KEYS)}={rng.choice(YAML_VALUES)}"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def hostile_image(rng: random.Random, path: Path) -> Path:
    """An image file of an odd mode or size, or a broken one."""
    choice = rng.randrange(6)
    if choice <= 2:
        mode = rng.choice(["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I", "I;16", "F", "YCbCr"])
        size = (rng.choice([1, 2, 7, 8, 33, 300]), rng.choice([1, 3, 8, 64]))
        image = Image.new(mode, size)
        suffix = rng.choice([".png", ".tif", ".bmp", ".gif", ".jpg"])
        try:
            image.save(path.with_suffix(suffix))
        except (OSError, ValueError, KeyError):  # a mode that format cannot hold: write a PNG of it instead
            Image.new("L", size).save(path.with_suffix(suffix := ".png"))
        return path.with_suffix(suffix)
    if choice == 3:  # a PNG cut short
        buffer = io.BytesIO()
        Image.new("RGB", (16, 16), (1, 2, 3)).save(buffer, "PNG")
        data = buffer.getvalue()
        path.with_suffix(".png").write_bytes(data[:rng.randrange(1, len(data) - 1)])
    elif choice == 4:  # random bytes or nothing under an image name
        path.with_suffix(".png").write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64))))
    else:  # a PNG header claiming a huge image
        header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0))
        path.with_suffix(".png").write_bytes(b"\x89PNG\r\n\x1a\n" + header + png_chunk(b"IEND", b""))
    return path.with_suffix(".png")


def hostile_array(rng: random.Random, path: Path) -> Path:
    """A .npy or .npz file with NaN, an odd dtype, the wrong number of dimensions, or a broken body."""
    shape = rng.choice([(3, 8, 8), (2, 1, 8, 8), (2, 3, 5, 9), (8,), (8, 8), (0, 8, 8), (1, 1, 1, 1, 1), (2, 5, 1, 1)])
    dtype = rng.choice([np.uint8, np.float32, np.float64, np.int64, np.bool_, np.complex64, np.float16])
    array = np.zeros(shape, dtype=dtype)
    if array.size and np.issubdtype(dtype, np.floating):
        array.flat[0] = rng.choice([np.nan, np.inf, -np.inf, 6e4, -5.0])
    choice = rng.randrange(5)
    if choice == 0:
        np.save(path.with_suffix(".npy"), np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    elif choice == 1:
        np.savez(path.with_suffix(".npz"), images=array, other=np.zeros(3))
        return path.with_suffix(".npz")
    elif choice == 2:
        np.save(path.with_suffix(".npy"), array)
        data = path.with_suffix(".npy").read_bytes()
        path.with_suffix(".npy").write_bytes(data[:rng.randrange(1, len(data))])
    else:
        np.save(path.with_suffix(".npy"), array)
    return path.with_suffix(".npy")


def case(rng: random.Random, directory: Path, model: Path) -> list[str]:
    """One random command line, with the files it reads written into `directory`."""
    kind = rng.randrange(4)
    if kind == 0:
        config = directory / "config.yml"
        config.write_text(random_yaml(rng) + "\nzz_fuzz_guard: 1\n")  # an unknown key: judged, never trained
        return ["train", "--config", str(config), *[a for _ in range(rng.randrange(3)) for a in ("--set", random_set(rng))]]
    if kind == 1:
        config = directory / "config.yml"
        config.write_text(f"dataset: digits\nzz_fuzz_guard: 1\noutput_dir: {directory / 'run'}\n")
        return ["train", "--config", str(config), "--set", random_set(rng), "--set", random_set(rng)]
    inputs = [str(hostile_image(rng, directory / f"image{i}") if kind == 2 else hostile_array(rng, directory / f"a{i}"))
              for i in range(rng.randint(1, 3))]
    if rng.random() < 0.1:
        inputs.append(str(directory / "absent.png"))
    extra = ["--skip-unreadable"] if rng.random() < 0.5 else []
    return ["score", "--run", str(model), *inputs, *extra, "--out", str(directory / "scores.csv")]


def snapshot(root: Path) -> dict[str, str]:
    return {str(p): hashlib.sha1(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


def test_hostile_inputs_end_in_status_0_or_2_without_traceback_or_changed_files(tmp_path, model_run):
    rng = random.Random(SEED)
    model_files = snapshot(model_run)
    statuses = []
    for number in range(CASES):
        directory = tmp_path / f"case{number}"
        directory.mkdir()
        argv = case(rng, directory, model_run)
        before = snapshot(directory)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as exit_:  # argparse's own errors
                status = exit_.code
        after = snapshot(directory)
        described = f"case {number}: {argv}\n{err.getvalue()[-2000:]}"
        assert status in (0, 2), described
        assert "Traceback" not in out.getvalue() + err.getvalue(), described
        changed = [p for p, digest in before.items() if after.get(p) != digest]
        assert changed == [], described
        assert set(after) - set(before) <= {str(directory / "scores.csv")}, described
        statuses.append((argv[0], status))
    assert snapshot(model_run) == model_files
    scored = [status for command, status in statuses if command == "score"]
    assert scored.count(0) > 10 and scored.count(2) > 10  # the cases reach both outcomes
