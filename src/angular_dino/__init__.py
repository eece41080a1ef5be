"""AngularDINO: semi-supervised (positive-unlabeled) image anomaly detection with DINO and dual angular margins."""

__version__ = "0.1.0"
