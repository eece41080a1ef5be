"""AngularDINO: semi-supervised (positive-unlabeled) image anomaly detection with DINO and dual angular margins."""

__version__ = "0.1.0"

from angular_dino.api import AngularDINO  # noqa: E402  (after __version__, which train.py imports)
from angular_dino.detector import load_detector  # noqa: E402

__all__ = ["AngularDINO", "load_detector", "__version__"]
