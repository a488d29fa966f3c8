"""Validation loss, perplexity and bits per byte: the number that compares vocabularies.

Loss per token depends on how much text a token holds, so models with different vocabularies
cannot be compared by it. Bits per byte can: the summed negative log-likelihood (nats) of the
evaluated tokens, over ln 2, over the UTF-8 bytes those tokens stand for. The bytes come from
a per-id table (:func:`token_bytes`), so any window of ids can be scored without its text.
Special ids (end-of-text separators, control tokens) stand for no text: they count 0 bytes,
and their nats are left out of bits per byte (they are in ``loss``, which is the training
loss: the mean over every target).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import tokenkit

from gptcore.data.shards import TokenShards
from gptcore.errors import GptcoreError


@dataclass(frozen=True)
class EvalResult:
    """``tokens``: targets scored; ``bytes``: the UTF-8 bytes they decode to."""

    loss: float
    perplexity: float
    bits_per_byte: float
    tokens: int
    bytes: int


def token_bytes(vocab: tokenkit.Vocabulary) -> torch.Tensor:
    """Bytes each id decodes to (int64 ``[vocab_size]``); special and control ids count 0."""
    specials = set(vocab.specials.values())
    sizes = [0 if i in specials else len(vocab.token_bytes(i) or b"") for i in range(vocab.vocab_size)]
    return torch.tensor(sizes, dtype=torch.long)


def token_losses(model: nn.Module, x: torch.Tensor, y: torch.Tensor, bf16: bool = False) -> torch.Tensor:
    """Per-target nats ``[B, T]``: :func:`gptcore.training.loss_fn` before its mean."""
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
        logits = model(x)  # [B, T, V]
    return F.cross_entropy(logits.flatten(0, 1).float(), y.flatten(), reduction="none").view_as(y)


def _windows(n_tokens: int, context_length: int, full_only: bool) -> list[tuple[int, int]]:
    """(start, length) of consecutive windows covering every target once (stride = context)."""
    out = [(s, context_length + 1) for s in range(0, n_tokens - context_length, context_length)]
    covered = out[-1][0] + context_length if out else 0
    if not full_only and n_tokens - covered >= 2:
        out.append((covered, n_tokens - covered))
    return out


@torch.no_grad()
def evaluate(model: nn.Module, data: TokenShards | Sequence[int] | np.ndarray | torch.Tensor,
             bytes_per_id: torch.Tensor | tokenkit.Vocabulary, *, split: str = "val",
             batch_size: int = 8, context_length: int | None = None, max_batches: int | None = None,
             full_windows_only: bool = False, bf16: bool = False, rank: int = 0,
             world_size: int = 1) -> EvalResult:
    """Score ``data`` (a split of token shards, or ids) with ``model`` in eval mode.

    Windows of ``context_length`` (default: the model's) follow each other so every target is
    scored once; the last, shorter one is kept unless ``full_windows_only`` (the textbook drops
    it). Under ``torch.distributed`` rank ``r`` of ``world_size`` scores windows ``r, r + w, ...``
    and the sums are all-reduced, so every rank returns the same result.
    """
    table = token_bytes(bytes_per_id) if isinstance(bytes_per_id, tokenkit.Vocabulary) else bytes_per_id
    config = getattr(model, "config", None)
    supported = getattr(config, "context_length", None)
    context_length = context_length or supported
    if context_length is None:
        raise GptcoreError("give context_length: the model has no config.context_length")
    if isinstance(supported, int) and context_length > supported:
        raise GptcoreError(f"--context-length {context_length} exceeds the model's context_length {supported}")
    for name, value in (("context_length", context_length), ("batch_size", batch_size),
                        ("max_batches", 1 if max_batches is None else max_batches)):
        if value < 1:
            raise GptcoreError(f"{name} must be positive, got {value}")
    if not 0 <= rank < world_size:
        raise GptcoreError(f"rank {rank} is outside world size {world_size}")
    if isinstance(data, TokenShards):
        n_tokens = data.tokens(split)

        def read(start: int, length: int) -> torch.Tensor:
            return torch.from_numpy(data.read(split, start, length))
    else:
        ids = torch.as_tensor(np.asarray(data), dtype=torch.long).flatten()
        n_tokens = len(ids)

        def read(start: int, length: int) -> torch.Tensor:
            return ids[start:start + length]
    windows = _windows(n_tokens, context_length, full_windows_only)
    if not windows:
        raise GptcoreError(f"{n_tokens} tokens are too few to evaluate: one window of context "
                           f"{context_length} needs {context_length + 1 if full_windows_only else 2}")
    if table.numel() < (vocab_size := getattr(config, "vocab_size", table.numel())):
        raise GptcoreError(f"token-bytes table has {table.numel()} ids; the model has {vocab_size}")
    mine = windows[rank::world_size]
    device = next(model.parameters()).device
    table = table.to(device)
    sums = torch.zeros(4, dtype=torch.float64, device=device)  # nats, text nats, targets, bytes
    was_training = model.training
    model.eval()
    try:
        batches = 0
        i = 0
        while i < len(mine) and (max_batches is None or batches < max_batches):
            length = mine[i][1]
            group = [w for w in mine[i:i + batch_size] if w[1] == length]  # same-length rows
            rows = torch.stack([read(s, n) for s, n in group]).to(device)
            x, y = rows[:, :-1], rows[:, 1:]
            nats = token_losses(model, x, y, bf16).double()
            nbytes = table[y]
            sums += torch.stack([nats.sum(), (nats * (nbytes > 0)).sum(),
                                 torch.tensor(float(y.numel()), device=device, dtype=torch.float64),
                                 nbytes.sum().double()])
            i += len(group)
            batches += 1
    finally:
        model.train(was_training)
    if world_size > 1 and torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.all_reduce(sums)
    nats, text_nats, targets, n_bytes = sums.tolist()
    loss = nats / targets
    return EvalResult(loss=loss, perplexity=math.exp(min(loss, 700.0)),
                      bits_per_byte=text_nats / math.log(2) / n_bytes if n_bytes else float("nan"),
                      tokens=int(targets), bytes=int(n_bytes))


__all__ = ["EvalResult", "evaluate", "token_bytes", "token_losses"]
