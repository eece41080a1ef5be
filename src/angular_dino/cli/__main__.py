"""`python -m angular_dino.cli ...`, as torchrun launches it."""
import sys

from angular_dino.cli.main import main

sys.exit(main())
