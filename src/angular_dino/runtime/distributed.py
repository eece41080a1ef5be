"""Data-parallel training across processes started by `torchrun` (DDP); a no-op in a single process.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; without them (or with WORLD_SIZE=1) nothing here
creates a process group, so a plain `angular-dino train` never needs one. Every rank runs the same
program on the same data; each iteration's global batch (batch_size × world size) is drawn
identically on every rank and split by rank, gradients are averaged by DDP, the teacher centres
are all-reduced (METHOD §5), and only rank 0 writes files and prints.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import torch
import torch.distributed as dist
from torch import nn

from angular_dino.errors import UserError


@dataclass(frozen=True)
class Distributed:
    """This process's place among the training processes."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    @contextmanager
    def main_first(self) -> Iterator[None]:
        """Rank 0 runs the block first (e.g. a download into a shared cache), then the others."""
        if not self.is_main:
            self.barrier()
        yield
        if self.is_main:
            self.barrier()

    def mean(self, tensor: torch.Tensor) -> torch.Tensor:
        """The mean of `tensor` over all ranks (a new tensor; `tensor` itself is unchanged)."""
        if not self.enabled:
            return tensor
        total = tensor.clone()
        dist.all_reduce(total)
        return total / self.world_size

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every rank when `flag` is true on at least one (so all ranks stop at the same step)."""
        return self.any_each((flag,), device)[0]

    def any_each(self, flags: tuple[bool, ...], device: torch.device) -> tuple[bool, ...]:
        """`any` of each flag, in one all-reduce."""
        if not self.enabled:
            return flags
        values = torch.tensor([float(flag) for flag in flags], device=device)
        dist.all_reduce(values, op=dist.ReduceOp.MAX)
        return tuple(bool(v) for v in values.tolist())

    def from_main(self, obj: Any) -> Any:
        """Rank 0's `obj` on every rank (picklable plain values)."""
        if not self.enabled:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's `obj`, in rank order, on every rank."""
        if not self.enabled:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def broadcast_buffers(self, module: nn.Module) -> None:
        """Copy rank 0's buffers (BatchNorm running statistics) to every rank."""
        if self.enabled:
            for buffer in module.buffers():
                dist.broadcast(buffer, src=0)


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise UserError(f"environment variable {name}={text!r} is not a whole number; launch with torchrun") from None


def init_distributed(device: torch.device) -> Distributed:
    """Join torchrun's process group (gloo on CPU, nccl on CUDA), or return the single-process setup."""
    world_size = _env_int("WORLD_SIZE", 1)
    if world_size <= 1:
        return Distributed()
    context = Distributed(_env_int("RANK", 0), world_size, _env_int("LOCAL_RANK", 0))
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(local_device(device, context))
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return context


def local_device(device: torch.device, context: Distributed) -> torch.device:
    """This rank's GPU (torchrun's LOCAL_RANK) when training on CUDA; `device` otherwise."""
    return torch.device("cuda", context.local_rank) if device.type == "cuda" else device


def shutdown_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


class _ViewsForward(nn.Module):
    """Routes `forward_views` through `forward`, which is the call DDP hooks for gradient averaging."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, views: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.forward_views(views)


def synchronise_batchnorm(net: nn.Module, context: Distributed, device: torch.device) -> nn.Module:
    """BatchNorm statistics over the global batch when distributed on CUDA (SyncBatchNorm).

    PyTorch's SyncBatchNorm has no CPU kernel, so on CPU each rank normalises with its own share of
    the batch; rank 0's running statistics are the ones kept (DDP broadcasts the student's, and the
    trainer broadcasts the teacher's before using them).
    """
    if context.enabled and device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(net)
    return net


def data_parallel(net: nn.Module, context: Distributed, device: torch.device) -> nn.Module:
    """`net` (an AngularDINONet) for training, called with a list of views; DDP-wrapped when distributed."""
    if not context.enabled:
        return _ViewsForward(net)
    return nn.parallel.DistributedDataParallel(_ViewsForward(net),
                                               device_ids=[device.index] if device.type == "cuda" else None)
