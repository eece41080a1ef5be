"""Numeric settings of a run: determinism and mixed precision, resolved for the device in use.

Determinism is process-wide in PyTorch (`torch.use_deterministic_algorithms`, cuDNN flags and the
cuBLAS workspace), so it is applied once when a trainer is built. It costs speed on CUDA, hence its
default: on for CPU (where it is nearly free), off for CUDA.
"""
from __future__ import annotations

import os
from contextlib import nullcontext
from typing import ContextManager

import torch

from angular_dino.errors import UserError

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(name: str) -> torch.device:
    """`auto` -> a CUDA GPU when present, else the CPU; `cuda` without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device: cuda was requested but no CUDA GPU is available; use device: auto or cpu")
    return torch.device(name)


def use_determinism(requested: bool | None, device: torch.device) -> bool:
    """Switch deterministic algorithms on or off for this process; returns the resolved setting."""
    enabled = device.type == "cpu" if requested is None else requested
    if enabled and device.type == "cuda":
        # cuBLAS needs a fixed workspace to be deterministic; it must be set before its first use.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    # warn_only: an operation without a deterministic kernel (on some GPU) warns and names itself
    # instead of stopping a long run part-way.
    torch.use_deterministic_algorithms(enabled, warn_only=True)
    # Deterministic mode also fills every new tensor with NaN to expose reads of uninitialised memory; no
    # kernel here reads such memory, so the fill only costs time (about 10 % of a CPU step) and changes no bit.
    torch.utils.deterministic.fill_uninitialized_memory = False
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = not enabled
    return enabled


def has_fast_bf16(device: torch.device) -> bool:
    """Whether `device` is a CPU that multiplies bfloat16 natively (AMX or AVX-512-BF16); on other CPUs bf16
    autocast is emulated and slower than fp32."""
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")  # torch.cpu's own checks (private: getattr)
    return device.type == "cpu" and any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def resolve_precision(requested: str, device: torch.device) -> str:
    """`auto` -> bf16 on CUDA and on CPUs that multiply bf16 natively (1.7-2.2x faster training there, same
    development AUROC: BENCHMARKS.md), fp32 elsewhere; fp16 needs CUDA (its gradient scaler is CUDA's)."""
    if requested == "auto":
        return "bf16" if device.type == "cuda" or has_fast_bf16(device) else "fp32"
    if requested == "fp16" and device.type != "cuda":
        raise UserError("precision: fp16 needs a CUDA GPU; use bf16 or fp32 on the CPU")
    return requested


def emulated_bf16_notice(precision: str, device: torch.device, key: str = "precision") -> str | None:
    """The notice for bf16 arithmetic (resolved from config key `key`) on a CPU that does not multiply bf16
    natively, or None. It is kept as asked (a run's arithmetic is what its config says), but there it is several
    times slower than fp32 (on an AVX2-only CPU one step of the original config.yml took over 5 minutes)."""
    if precision != "bf16" or device.type != "cpu" or has_fast_bf16(device):
        return None
    return ("note: bf16 on this CPU is emulated (it has neither AMX nor AVX-512 BF16) and several times slower than fp32; "
            f"set {key}: auto (fp32 here) unless you need bf16's numbers")


def autocast(precision: str, device: torch.device) -> ContextManager:
    """bf16 or fp16 autocast on `device` for a resolved `precision`; nothing (float32) for fp32."""
    if precision == "fp32":
        return nullcontext()
    return torch.autocast(device.type, dtype=AUTOCAST_DTYPES[precision])


class MixedPrecision:
    """Autocast for the forward passes and, for fp16 only, a gradient scaler (bf16 needs none)."""

    def __init__(self, precision: str, device: torch.device) -> None:
        self.precision = precision
        self.device = device
        self.scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None

    def autocast(self) -> ContextManager:
        return autocast(self.precision, self.device)

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler else loss).backward()

    def unscale(self, optimizer: torch.optim.Optimizer) -> None:
        """Bring gradients to their true scale before clipping."""
        if self.scaler:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        if self.scaler:
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            optimizer.step()

    def state_dict(self) -> dict:
        return self.scaler.state_dict() if self.scaler else {}

    def load_state_dict(self, state: dict) -> None:
        if self.scaler and state:
            self.scaler.load_state_dict(state)
