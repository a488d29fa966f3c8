"""What shapes a run (:class:`TrainConfig`), what it returns, its learning-rate schedule and optimizer."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from gptcore.data.shards import EpochPlan
from gptcore.errors import GptcoreError

SCHEDULES = ("constant", "cosine", "linear")


ORDERS = ("sequential", "random", "loader")


@dataclass
class TrainConfig:
    """Everything that shapes a run; the CLI's option defaults are read from these fields.

    Budget: give one of ``steps``, ``epochs`` or ``tokens``; none means ``steps=500``.
    ``grad_clip`` 0 or None switches clipping off. ``decay_all`` puts weight decay on every
    parameter (as the textbook's ``AdamW(model.parameters())``) instead of matrices only.
    Evaluations happen after updates ``eval_start``, ``eval_start + eval_every``, ... and after
    the last one (``eval_start=0``: before training, as nanoGPT; 1: after the first update, as
    the textbook). ``order``: ``sequential`` and ``random`` are pure functions of ``(seed,
    step)`` (:meth:`gptcore.data.TokenShards.window_starts`); ``loader`` shuffles each epoch
    as ``torch.utils.data.DataLoader(shuffle=True)`` does, from the global torch RNG (see
    :func:`loader_permutation`), so a run seeded like the textbook sees the textbook's batches.
    ``checkpoint_every`` (into a run, and always after the last step): a number of steps
    (``200``), a duration of training wall time (``"10m"``, ``"600s"``, ``"1h"``; the default
    is every 10 minutes) or ``0`` for the last step only. Saving draws no random numbers and
    forces no log step, so a run's losses do not depend on it.

    >>> TrainConfig(steps=10).total_steps(EpochPlan(windows=8, global_batch=2, steps_per_epoch=4, tokens_per_step=64))
    10
    """

    batch_size: int = 8
    grad_accum: int = 1
    batch_tokens: int | None = None
    seq_len: int | None = None
    stride: int | None = None
    order: str = "sequential"
    steps: int | None = None
    epochs: float | None = None
    tokens: int | None = None
    lr: float = 6e-4
    min_lr: float = 6e-5
    warmup_steps: int = 0
    lr_schedule: str = "cosine"
    weight_decay: float = 0.1
    decay_all: bool = False
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float | None = 1.0
    eval_every: int = 50
    eval_start: int = 0
    eval_batches: int = 10
    log_every: int = 10
    checkpoint_every: int | str = "10m"
    keep_last: int = 2
    sample_prompt: str = "Every effort moves you"
    sample_tokens: int = 24
    seed: int = 1337
    bf16: bool | None = None
    compile: bool = False

    DEFAULT_STEPS = 500

    def check(self) -> None:
        """One-line errors for values no run can use."""
        for name in ("batch_size", "grad_accum", "eval_every", "eval_batches", "log_every"):
            if getattr(self, name) < 1:
                raise GptcoreError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        for name in ("steps", "epochs", "tokens", "batch_tokens", "seq_len", "stride"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise GptcoreError(f"--{name.replace('_', '-')} must be positive, got {value}")
        for name in ("lr", "min_lr", "weight_decay", "beta1", "beta2", "grad_clip", "epochs"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)):
                raise GptcoreError(f"--{name.replace('_', '-')} must be a finite number, got {value}")
        for name in ("warmup_steps", "keep_last", "sample_tokens", "eval_start",
                     "weight_decay", "min_lr"):
            if getattr(self, name) < 0:
                raise GptcoreError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(self, name)}")
        if not self.lr > 0:
            raise GptcoreError(f"--lr must be positive, got {self.lr}")
        if self.lr_schedule != "constant" and self.min_lr > self.lr:
            raise GptcoreError(f"--min-lr {self.min_lr} is above --lr {self.lr}: the {self.lr_schedule} "
                               "schedule would raise the rate as it decays; give --min-lr <= --lr")
        self.cadence()
        try:
            self.sample_prompt.encode("utf-8")
        except UnicodeEncodeError:
            raise GptcoreError(f"--sample-prompt {self.sample_prompt!r} is not valid Unicode "
                               "(a lone surrogate)") from None
        if self.order not in ORDERS:
            raise GptcoreError(f"--order must be one of {', '.join(ORDERS)}, got {self.order!r}")
        if self.lr_schedule not in SCHEDULES:
            raise GptcoreError(f"--lr-schedule must be one of {', '.join(SCHEDULES)}, got {self.lr_schedule!r}")
        if sum(v is not None for v in (self.steps, self.epochs, self.tokens)) > 1:
            raise GptcoreError("give one budget: --steps, --epochs or --tokens")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise GptcoreError(f"betas must lie in [0, 1), got ({self.beta1}, {self.beta2})")
        if self.grad_clip is not None and self.grad_clip < 0:
            raise GptcoreError(f"--grad-clip must be >= 0 (0 = off), got {self.grad_clip}")

    def cadence(self) -> tuple[int, float]:
        """``checkpoint_every`` as ``(steps, seconds)``, either 0 (off); one-line error when unusable."""
        return parse_cadence(self.checkpoint_every)

    def accumulation(self, seq_len: int, world_size: int) -> int:
        """Micro-batches per step: ``grad_accum``, or as many as reach ``batch_tokens``."""
        if self.batch_tokens is None:
            return self.grad_accum
        per_micro = self.batch_size * seq_len * world_size
        if self.batch_tokens % per_micro:
            raise GptcoreError(f"--batch-tokens {self.batch_tokens} is not a multiple of batch_size x seq_len "
                               f"x world_size = {per_micro}")
        return self.batch_tokens // per_micro

    def total_steps(self, plan: EpochPlan) -> int:
        """Optimizer steps for the budget (``plan`` describes one epoch of the train split)."""
        if self.steps is not None:
            return self.steps
        if self.epochs is not None or self.tokens is not None:
            return plan.steps(epochs=self.epochs, tokens=self.tokens)
        return self.DEFAULT_STEPS


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_cadence(value: int | str) -> tuple[int, float]:
    """``200`` -> (200, 0); ``"10m"`` -> (0, 600.0); ``0`` -> (0, 0): steps or seconds between
    checkpoints.

    >>> parse_cadence("1.5h"), parse_cadence("250"), parse_cadence(0)
    ((0, 5400.0), (250, 0.0), (0, 0.0))
    """
    text = str(value).strip().lower()
    bad = GptcoreError(f"--checkpoint-every must be a number of steps (200), a duration (10m, 600s, 1h) "
                       f"or 0 for the last step only, got {str(value)[:40]!r}")
    if isinstance(value, bool):
        raise bad
    if text.isdigit():
        return int(text), 0.0
    if text[-1:] in _UNITS:
        try:
            amount = float(text[:-1])
        except ValueError:
            raise bad from None
        if math.isfinite(amount) and amount > 0:
            return 0, amount * _UNITS[text[-1]]
    raise bad


@dataclass
class TrainResult:
    """``history``: the metrics records (log steps and eval steps) in order."""

    history: list[dict[str, Any]] = field(default_factory=list)
    step: int = 0
    tokens_per_second: float = 0.0
    train_seconds: float = 0.0


Event = Callable[[dict[str, Any]], None]


def get_lr(step: int, cfg: TrainConfig, total_steps: int) -> float:
    """Learning rate for update ``step`` (0-based): linear warmup, then the schedule to ``min_lr``.

    >>> cfg = TrainConfig(lr=1.0, min_lr=0.0, warmup_steps=10, lr_schedule="cosine")
    >>> get_lr(10, cfg, 110), get_lr(60, cfg, 110), get_lr(110, cfg, 110)
    (1.0, 0.5, 0.0)
    """
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / (cfg.warmup_steps + 1)
    if cfg.lr_schedule == "constant":
        return cfg.lr
    span = max(1, total_steps - cfg.warmup_steps)
    ratio = min(1.0, (step - cfg.warmup_steps) / span)
    if cfg.lr_schedule == "linear":
        return cfg.lr - ratio * (cfg.lr - cfg.min_lr)
    return cfg.min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (cfg.lr - cfg.min_lr)


def make_optimizer(model: nn.Module, cfg: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW, fused where the device has the kernel; decay on matrices only unless ``decay_all``."""
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.decay_all:
        groups: list[dict[str, Any]] = [{"params": params, "weight_decay": cfg.weight_decay}]
    else:
        groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
                  {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    betas = (cfg.beta1, cfg.beta2)
    try:
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=betas, fused=True)
    except (RuntimeError, ValueError):  # no fused kernel for this device / dtype
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=betas)
