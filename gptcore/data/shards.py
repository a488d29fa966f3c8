"""Reading token shards: the memory-mapped splits and the windows each ``(step, rank)`` reads."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

import tokenkit
from tokenkit.atomic import readable

from gptcore.data.fingerprint import vocabulary_sha256
from gptcore.data.manifest import read_manifest
from gptcore.errors import GptcoreError


@dataclass(frozen=True)
class EpochPlan:
    """How a split divides into steps: windows of ``context_length + 1`` tokens at ``stride``."""

    windows: int
    global_batch: int
    steps_per_epoch: int
    tokens_per_step: int

    @property
    def tokens_per_epoch(self) -> int:
        return self.steps_per_epoch * self.tokens_per_step

    def epoch(self, step: int) -> int:
        return step // self.steps_per_epoch

    def steps(self, *, epochs: float | None = None, tokens: int | None = None) -> int:
        """Steps for a budget in epochs or in (input) tokens, rounded up."""
        if (epochs is None) == (tokens is None):
            raise GptcoreError("give exactly one budget: epochs or tokens")
        if epochs is not None:
            return max(1, int(np.ceil(epochs * self.steps_per_epoch)))
        return max(1, -(-int(tokens) // self.tokens_per_step))  # type: ignore[arg-type]


class TokenShards:
    """A prepared directory, opened as read-only memory maps (nothing loaded up front)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = readable(path)  # mid-swap: the complete copy, untouched (readers never recover)
        self.manifest = read_manifest(self.path)
        self.dtype = np.dtype(self.manifest.dtype).newbyteorder("<")
        self._maps: dict[str, list[np.memmap]] = {}
        self._offsets: dict[str, np.ndarray] = {}
        for split, info in self.manifest.splits.items():
            maps = []
            for shard in info.shards:
                file = self.path / shard.file
                if file.is_symlink():
                    raise GptcoreError(f"shard {file} is a symbolic link; a shard directory's files "
                                       "must be its own")
                expected = shard.tokens * self.dtype.itemsize
                if not file.is_file() or file.stat().st_size != expected:
                    have = file.stat().st_size if file.is_file() else "no file"
                    raise GptcoreError(f"shard {file} should hold {expected} bytes ({shard.tokens} "
                                       f"tokens), found {have}; prepare the data again")
                maps.append(np.memmap(file, dtype=self.dtype, mode="r", shape=(shard.tokens,)))
            self._maps[split] = maps
            self._offsets[split] = np.cumsum([0] + [s.tokens for s in info.shards])
        self._perm_cache: tuple[tuple[str, int, int, int], torch.Tensor] | None = None

    def tokens(self, split: str) -> int:
        return int(self._offsets[self._split(split)][-1])

    def _split(self, split: str) -> str:
        if split not in self._maps:
            raise GptcoreError(f"{self.path} has no split {split!r} (has {', '.join(self._maps)})")
        return split

    def read(self, split: str, start: int, length: int) -> np.ndarray:
        """Tokens ``[start, start + length)`` of a split as int64 (may span shard files)."""
        offsets, maps = self._offsets[self._split(split)], self._maps[split]
        if start < 0 or length < 0 or start + length > offsets[-1]:
            raise GptcoreError(f"tokens {start}..{start + length} are outside split {split} "
                               f"({int(offsets[-1])} tokens)")
        out = np.empty(length, dtype=np.int64)
        i, done = int(np.searchsorted(offsets, start, side="right")) - 1, 0
        while done < length:
            lo = start + done - int(offsets[i])
            take = min(length - done, len(maps[i]) - lo)
            out[done:done + take] = maps[i][lo:lo + take]
            done += take
            i += 1
        return out

    def check_ids(self, vocab_size: int, what: str = "the model's embedding") -> None:
        """Refuse ids at or above ``vocab_size`` (a shard written by another tool, or edited):
        found when the data is opened, not as an index error deep inside a training step.
        Reads every shard once, in blocks."""
        block = 1 << 24
        for split, maps in self._maps.items():
            for shard, data in zip(self.manifest.splits[split].shards, maps):
                for start in range(0, len(data), block):
                    chunk = data[start:start + block]
                    if len(chunk) and int(chunk.max()) >= vocab_size:
                        raise GptcoreError(f"shard {self.path / shard.file} holds id {int(chunk.max())}, "
                                           f"outside {what} ({vocab_size} ids)")

    def check_vocabulary(self, vocab: tokenkit.Vocabulary) -> None:
        """Refuse a vocabulary other than the one the shards were encoded with."""
        sha = vocabulary_sha256(vocab)
        if sha != self.manifest.tokenizer.sha256:
            raise GptcoreError(f"{self.path} was encoded with vocabulary {self.manifest.tokenizer.name} "
                               f"(sha256 {self.manifest.tokenizer.sha256[:12]}), not {vocab.name} "
                               f"(sha256 {sha[:12]})")

    def plan(self, split: str, *, batch_size: int, context_length: int, world_size: int = 1,
             stride: int | None = None) -> EpochPlan:
        """Windows, steps per epoch (whole global batches only) and tokens per step."""
        if batch_size < 1 or context_length < 1 or world_size < 1:
            raise GptcoreError(f"batch_size ({batch_size}), context_length ({context_length}) and "
                               f"world_size ({world_size}) must be positive")
        stride = stride or context_length
        if stride < 1:
            raise GptcoreError(f"stride must be positive, got {stride}")
        n = self.tokens(split)
        if n < context_length + 1:
            raise GptcoreError(f"split {split} of {self.path} has {n} tokens; one sequence of "
                               f"context {context_length} needs {context_length + 1}")
        windows = (n - context_length - 1) // stride + 1
        global_batch = batch_size * world_size
        if windows < global_batch:
            raise GptcoreError(f"split {split} of {self.path} has {windows} windows of {context_length} "
                               f"tokens, fewer than one global batch of {global_batch}; it needs "
                               f"{(global_batch - 1) * stride + context_length + 1} tokens")
        return EpochPlan(windows, global_batch, windows // global_batch, global_batch * context_length)

    def _permutation(self, split: str, windows: int, seed: int, epoch: int) -> torch.Tensor:
        key = (split, windows, seed, epoch)
        if self._perm_cache is None or self._perm_cache[0] != key:
            perm = torch.randperm(windows, generator=torch.Generator().manual_seed(seed + epoch))
            self._perm_cache = (key, perm)
        return self._perm_cache[1]

    def window_starts(self, split: str, step: int, *, batch_size: int, context_length: int,
                      rank: int = 0, world_size: int = 1, seed: int = 0,
                      order: Literal["sequential", "random"] = "sequential",
                      stride: int | None = None) -> np.ndarray:
        """Start offsets of this rank's rows at ``step`` (a pure function of the arguments).

        ``sequential``: windows at ``stride`` (default: the context, as the textbook), every one
        once per epoch in a permutation seeded by ``seed + epoch``. ``random``: starts drawn
        uniformly, seeded by ``(seed, step)``. Either way the global batch is drawn first and
        rank ``r`` takes rows ``r*batch_size ... (r+1)*batch_size - 1``.
        """
        if step < 0:
            raise GptcoreError(f"step must be >= 0, got {step}")
        if not 0 <= rank < world_size:
            raise GptcoreError(f"rank {rank} is outside world size {world_size}")
        plan = self.plan(split, batch_size=batch_size, context_length=context_length,
                         world_size=world_size, stride=stride)
        if order == "sequential":
            epoch, index = divmod(step, plan.steps_per_epoch)
            perm = self._permutation(split, plan.windows, seed, epoch)
            picked = perm[index * plan.global_batch:(index + 1) * plan.global_batch].numpy()
            starts = picked.astype(np.int64) * (stride or context_length)
        elif order == "random":
            rng = np.random.Generator(np.random.PCG64([seed, step]))
            starts = rng.integers(0, self.tokens(split) - context_length, size=plan.global_batch)
        else:
            raise GptcoreError(f"order must be 'sequential' or 'random', got {order!r}")
        return starts[rank * batch_size:(rank + 1) * batch_size]

    def batch_at(self, split: str, step: int, *, batch_size: int, context_length: int,
                 rank: int = 0, world_size: int = 1, seed: int = 0,
                 order: Literal["sequential", "random"] = "sequential",
                 stride: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs and next-token targets ``[batch_size, context_length]`` for ``(step, rank)``."""
        starts = self.window_starts(split, step, batch_size=batch_size, context_length=context_length,
                                    rank=rank, world_size=world_size, seed=seed, order=order,
                                    stride=stride)
        rows = torch.from_numpy(np.stack([self.read(split, int(s), context_length + 1) for s in starts]))
        return rows[:, :-1], rows[:, 1:]
