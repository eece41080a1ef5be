"""The original entry point: `python angular_dino_train.py --config config.yml` (same code as `angular-dino train`)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from angular_dino.cli import main  # noqa: E402 - after making the source tree importable

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
