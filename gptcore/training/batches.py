"""Which windows of the shards each optimizer step and rank reads: a pure function of ``(seed, step)``."""

from __future__ import annotations

import numpy as np
import torch

from gptcore.data.shards import TokenShards
from gptcore.training.config import TrainConfig
from gptcore.training.distributed import Dist


def loader_permutation(windows: int, where: Dist | None = None) -> torch.Tensor:
    """An epoch's shuffle drawn as ``DataLoader(shuffle=True)`` draws it from the global RNG.

    Starting an iterator draws its base seed, then ``RandomSampler`` draws the seed of the
    generator behind ``randperm``: two int64 draws. The textbook's loop starts such an iterator
    each epoch and for each training-loss estimate; mirroring the draws keeps its RNG stream
    (and so its dropout masks) in step. Under DDP rank 0's permutation is broadcast.
    """
    torch.empty((), dtype=torch.int64).random_()  # the iterator's base seed
    seed = int(torch.empty((), dtype=torch.int64).random_().item())
    perm = torch.randperm(windows, generator=torch.Generator().manual_seed(seed))
    if where is not None and where.enabled:
        torch.distributed.broadcast(perm, 0)
    return perm


def rows_at(data: TokenShards, split: str, windows: torch.Tensor, seq_len: int, stride: int
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets for window indices ``windows`` (window ``w`` starts at ``w * stride``)."""
    rows = torch.from_numpy(np.stack([data.read(split, int(w) * stride, seq_len + 1) for w in windows]))
    return rows[:, :-1], rows[:, 1:]


def get_batch(data: TokenShards, step: int, micro: int, accum: int, cfg: TrainConfig, seq_len: int,
              where: Dist, perm: torch.Tensor | None = None, index: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Micro-batch ``micro`` of this rank at ``step``: rows of the global batch, on the device.

    The global batch is drawn for ``world_size x accum`` virtual ranks; micro-step ``m`` of rank
    ``r`` is virtual rank ``m x world_size + r``, so one process with ``grad_accum`` N sees the
    same windows as N processes. With ``perm`` (order ``loader``) the global batch is batch
    ``index`` of that epoch permutation.
    """
    virtual = micro * where.world_size + where.rank
    if perm is not None:
        global_batch = cfg.batch_size * accum * where.world_size
        mine = perm[index * global_batch:(index + 1) * global_batch][virtual * cfg.batch_size:(virtual + 1) * cfg.batch_size]
        x, y = rows_at(data, "train", mine, seq_len, cfg.stride or seq_len)
    else:
        x, y = data.batch_at("train", step, batch_size=cfg.batch_size, context_length=seq_len, rank=virtual,
                             world_size=where.world_size * accum, seed=cfg.seed, order=cfg.order,  # type: ignore[arg-type]
                             stride=cfg.stride)
    if where.device.type == "cuda":
        return x.pin_memory().to(where.device, non_blocking=True), y.pin_memory().to(where.device, non_blocking=True)
    return x.to(where.device), y.to(where.device)
