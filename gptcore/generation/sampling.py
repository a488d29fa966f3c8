"""Logit processors and token sampling (pure functions on ``[batch, vocab]`` logits).

Filters return logits with removed tokens set to ``-inf`` so they compose; the order used by
:func:`process_logits` is repetition penalty -> temperature -> top-k -> top-p -> min-p -> epsilon,
i.e. every probability-based filter sees the temperature-scaled distribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

NEG_INF = float("-inf")


@dataclass(frozen=True)
class SamplingConfig:
    """How to turn logits into the next token.  ``temperature == 0`` (or ``greedy``) is argmax."""

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    min_p: float | None = None
    epsilon: float | None = None
    repetition_penalty: float = 1.0
    greedy: bool = False

    def __post_init__(self) -> None:
        for name in ("temperature", "top_p", "min_p", "epsilon", "repetition_penalty"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value)):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if self.top_k is not None and (isinstance(self.top_k, bool) or not isinstance(self.top_k, int)):
            raise ValueError(f"top_k must be an integer, got {self.top_k!r}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {self.top_k}")
        for name in ("top_p", "min_p", "epsilon"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if self.repetition_penalty <= 0:
            raise ValueError(f"repetition_penalty must be > 0, got {self.repetition_penalty}")

    @property
    def is_greedy(self) -> bool:
        return self.greedy or self.temperature == 0.0


def repetition_penalty(logits: torch.Tensor, previous: torch.Tensor, penalty: float) -> torch.Tensor:
    """CTRL-style penalty on tokens already present in ``previous`` ``[B, T]``.

    Positive logits are divided by ``penalty`` and negative ones multiplied, so a penalty > 1
    always makes a seen token less likely.
    """
    if penalty == 1.0 or previous.numel() == 0:
        return logits
    seen = torch.gather(logits, 1, previous)
    seen = torch.where(seen > 0, seen / penalty, seen * penalty)
    return logits.scatter(1, previous, seen)


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k`` largest logits per row (ties at the k-th value are kept)."""
    k = min(k, logits.shape[-1])
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, NEG_INF)


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filter: keep the smallest most-probable set whose mass reaches ``p``."""
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits, dim=-1)
    mass_before = torch.cumsum(probs, dim=-1) - probs
    drop_sorted = mass_before >= p
    drop_sorted[..., 0] = False  # the most likely token always survives
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, NEG_INF)


def min_p_filter(logits: torch.Tensor, min_p: float) -> torch.Tensor:
    """Keep tokens whose probability is at least ``min_p`` times the top token's."""
    probs = torch.softmax(logits, dim=-1)
    threshold = min_p * probs.max(dim=-1, keepdim=True).values
    return logits.masked_fill(probs < threshold, NEG_INF)


def epsilon_filter(logits: torch.Tensor, epsilon: float) -> torch.Tensor:
    """Epsilon sampling: drop tokens with probability below ``epsilon`` (never the top one)."""
    probs = torch.softmax(logits, dim=-1)
    drop = probs < epsilon
    drop.scatter_(-1, probs.argmax(dim=-1, keepdim=True), False)
    return logits.masked_fill(drop, NEG_INF)


def process_logits(logits: torch.Tensor, cfg: SamplingConfig,
                   previous: torch.Tensor | None = None) -> torch.Tensor:
    """Apply every configured processor to float logits ``[B, V]``."""
    logits = logits.float()
    if previous is not None:
        logits = repetition_penalty(logits, previous, cfg.repetition_penalty)
    if cfg.is_greedy:
        return logits
    if cfg.temperature != 1.0:
        logits = logits / cfg.temperature
    if cfg.top_k is not None:
        logits = top_k_filter(logits, cfg.top_k)
    if cfg.top_p is not None and cfg.top_p < 1.0:
        logits = top_p_filter(logits, cfg.top_p)
    if cfg.min_p:
        logits = min_p_filter(logits, cfg.min_p)
    if cfg.epsilon:
        logits = epsilon_filter(logits, cfg.epsilon)
    return logits


def sample(logits: torch.Tensor, cfg: SamplingConfig, previous: torch.Tensor | None = None,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Next token id per row ``[B]`` from raw logits ``[B, V]``."""
    logits = process_logits(logits, cfg, previous)
    if cfg.is_greedy:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def next_token_distribution(logits: torch.Tensor, temperature: float = 1.0,
                            top_k: int | None = None) -> list[tuple[int, float]]:
    """``(id, probability)`` pairs, most likely first, for one row of logits ``[V]``.

    With ``top_k`` the distribution is renormalised over the kept tokens (as sampling would).
    """
    if not temperature > 0 or not math.isfinite(temperature):
        raise ValueError(f"temperature must be a finite number > 0 to define a distribution, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    scaled = logits.float() / temperature
    if top_k is not None:
        scaled = top_k_filter(scaled[None], top_k)[0]
    probs = torch.softmax(scaled, dim=-1)
    values, ids = torch.sort(probs, descending=True)
    keep = values > 0
    if top_k is not None:
        keep &= torch.arange(len(values)) < top_k
    return [(int(i), float(p)) for i, p in zip(ids[keep], values[keep])]
