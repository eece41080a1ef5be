"""The `angular-dino` command line (`main` is the console script's entry point)."""
from angular_dino.cli.main import main

__all__ = ["main"]
