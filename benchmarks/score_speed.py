"""Wall time and peak memory of `angular-dino score` on 10,000 28×28 images: PNG files and one .npy.

    .venv/bin/python benchmarks/score_speed.py [--config configs/fashion_mnist.yml] [--n 10000] [--no-record]

The model is the profile's network after one epoch on random images, as good as untrained: the cost of
scoring does not depend on the weights. The images are Fashion-MNIST test images
(Debian's copy or `data_root`), written once as PNG files and as one .npy. Each `score` runs as a
fresh process, as a user runs it (imports included); its peak resident memory is read from the
process itself. Reading the PNG files alone is timed too, to show whether decoding dominates.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from angular_dino.data.folder import list_images, read_images
from angular_dino.data.sources import load_dataset
from angular_dino.method.detector import AngularDINO
from angular_dino.runs.resolve import load_config
from record import header, write_section

SCORE_WITH_PEAK_MEMORY = ("import resource, sys\nfrom angular_dino.cli import main\nrc = main(sys.argv[1:])\n"
                          "print('peak_kib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
                          "sys.exit(rc)")


def save_untrained_model(config_path: str, run_dir: Path) -> None:
    """model.pt of the profile's network after one epoch on random images, threshold 0."""
    config = load_config(config_path, ["epochs=1"])[0]
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (2 * config.batch_size, 1, 28, 28), dtype=torch.uint8, generator=generator)
    is_positive = torch.arange(len(images)) % 2 == 0
    detector = AngularDINO.from_config(config).fit(images, is_positive)
    detector.threshold_ = 0.0
    detector.save(run_dir / "model.pt")


def timed_score(run_dir: Path, inputs: list[Path], out: Path) -> tuple[float, float]:
    """(seconds, peak MiB) of one `angular-dino score` process."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", SCORE_WITH_PEAK_MEMORY, "score", "--run", str(run_dir),
                           *map(str, inputs), "--out", str(out)], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    peak_kib = int(done.stderr.split("peak_kib")[1].split()[0])
    return seconds, peak_kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/fashion_mnist.yml")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--no-record", action="store_true", help="print only (smoke tests)")
    args = parser.parse_args()
    images = load_dataset("fashion_mnist", None, False, 28).test_images[:args.n]
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        (root / "run").mkdir()
        save_untrained_model(args.config, root / "run")
        (root / "png").mkdir()
        for i, image in enumerate(images.numpy()):
            Image.fromarray(image[0]).save(root / "png" / f"{i:05d}.png")
        np.save(root / "images.npy", images.numpy())
        start = time.perf_counter()
        read_images(list_images(root / "png", "input"), 28, 1)
        read_seconds = time.perf_counter() - start
        png_seconds, png_mib = timed_score(root / "run", [root / "png"], root / "png.csv")
        npy_seconds, npy_mib = timed_score(root / "run", [root / "images.npy"], root / "npy.csv")
    rows = [f"| {len(images):,} PNG files (folder) | {png_seconds:.1f} | {png_mib:.0f} |",
            f"| one .npy of {len(images):,} images | {npy_seconds:.1f} | {npy_mib:.0f} |"]
    lines = header(f"Scoring speed: `angular-dino score` on {len(images):,} Fashion-MNIST test images (28×28)") + [
        f"Model: the `{args.config}` network. Each row is one fresh `score` process (imports included).", "",
        "| input | seconds | peak memory (MiB) |", "|---|---|---|", *rows, "",
        f"Reading and decoding the PNG files alone: {read_seconds:.1f} s."]
    print("\n".join(lines))
    if not args.no_record:
        write_section("score_speed", lines)


if __name__ == "__main__":
    main()
