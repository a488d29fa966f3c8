"""Process-group plumbing, written once: torchrun's environment in, a :class:`Dist` out.

Under ``torchrun`` (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE`` set) :func:`setup` joins the
process group (NCCL on CUDA, gloo on the CPU) and pins the process to ``cuda:LOCAL_RANK``;
without it, it is a one-process "group" of size 1 and nothing distributed is touched. Only rank
0 writes files or prints (:attr:`Dist.is_main`, :func:`print0`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from gptcore.errors import GptcoreError

DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class Dist:
    """Where this process sits: its rank, the world size and the device it computes on."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` picks CUDA, then MPS, then the CPU; an unavailable choice is a one-line error."""
    if name not in DEVICES:
        raise GptcoreError(f"--device must be one of {', '.join(DEVICES)}, got {name!r}")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise GptcoreError("--device cuda: no CUDA device is available to this torch build")
        return torch.device("cuda", local_rank)
    if name == "mps" and not torch.backends.mps.is_available():
        raise GptcoreError("--device mps: MPS is not available on this machine")
    return torch.device(name)


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def setup(device: str = "auto") -> Dist:
    """Join torchrun's process group when launched by it; otherwise a single process."""
    if not launched_by_torchrun():
        return Dist(device=resolve_device(device))
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    where = resolve_device(device, local_rank)
    if where.type == "mps" and world > 1:
        raise GptcoreError("torchrun with --device mps is not supported (no MPS process-group backend)")
    if where.type == "cuda":
        torch.cuda.set_device(where)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if where.type == "cuda" else "gloo",
                                rank=rank, world_size=world)
    return Dist(rank=rank, local_rank=local_rank, world_size=world, device=where)


def teardown() -> None:
    """Leave the process group (a no-op for a single process)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: nn.Module, where: Dist) -> nn.Module:
    """DistributedDataParallel around ``model`` when there are several ranks."""
    if not where.enabled:
        return model
    ids = [where.device.index] if where.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def barrier(where: Dist) -> None:
    if where.enabled:
        dist.barrier()


def mean(value: torch.Tensor, where: Dist) -> torch.Tensor:
    """The mean of ``value`` over ranks (``value`` itself for one process)."""
    if not where.enabled:
        return value
    value = value.detach().clone()
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value / where.world_size


def broadcast_flag(flag: bool, where: Dist) -> bool:
    """Rank 0's ``flag`` on every rank (e.g. "stop now")."""
    if not where.enabled:
        return flag
    t = torch.tensor([int(flag)], device=where.device)
    dist.broadcast(t, 0)
    return bool(t.item())


def any_rank(flag: bool, where: Dist) -> bool:
    """True on every rank when ``flag`` is True on any rank (a barrier that carries a flag)."""
    if not where.enabled:
        return flag
    t = torch.tensor([int(flag)])  # gloo: prepare's processes run on the CPU
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def print0(where: Dist, *args: object) -> None:
    """``print`` on rank 0 only (for scripts; the CLI prints through its console)."""
    if where.is_main:
        print(*args, flush=True)


__all__ = ["DEVICES", "Dist", "any_rank", "barrier", "broadcast_flag", "launched_by_torchrun", "mean", "print0",
           "resolve_device", "setup", "teardown", "wrap"]
