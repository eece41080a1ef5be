"""The package version, where every layer can read it (`angular_dino.__version__` re-exports it)."""
__version__ = "0.1.0"
