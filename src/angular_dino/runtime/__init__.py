"""Where a run computes: device, precision and determinism; processes under torchrun; stop signals."""
