"""A small pretraining loop (the textbook's ch. 5 recipe) for any registered architecture.

AdamW (fused when available), optional bf16 autocast, periodic eval loss, atomic checkpoints and
bit-for-bit resume: the batch order is a pure function of ``(seed, step)`` and the RNG states
(dropout) are stored in every checkpoint.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gptcore.checkpoint import Checkpoint, load_checkpoint, restore_rng, save_checkpoint, unwrap
from gptcore.errors import GptcoreError


@dataclass
class TrainConfig:
    """Optimisation settings; ``seq_len`` defaults to the model's context length.

    The CLI's option defaults are read from these fields.  ``checkpoint_every`` (steps; the
    last step is always saved, 0 = never) applies only when :func:`train` gets an ``out_dir``.

    >>> TrainConfig(steps=200).checkpoint_every
    50
    """

    steps: int = 100
    batch_size: int = 2
    seq_len: int | None = None
    lr: float = 4e-4
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float | None = 1.0
    eval_every: int = 10
    eval_batches: int = 4
    checkpoint_every: int = 50
    seed: int = 123
    bf16: bool = False
    fused: bool = True


@dataclass
class TrainResult:
    """Loss history: dicts with ``step``, ``train_loss`` and, at eval steps, ``val_loss``."""

    history: list[dict[str, float]] = field(default_factory=list)
    step: int = 0
    tokens_per_second: float = 0.0


def split_tokens(ids: list[int] | torch.Tensor, val_fraction: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """Train / validation split at a token boundary (validation is the tail, as in the textbook)."""
    ids = torch.as_tensor(ids, dtype=torch.long)
    cut = int(len(ids) * (1 - val_fraction))
    return ids[:cut], ids[cut:]


def windows(ids: torch.Tensor, seq_len: int) -> torch.Tensor:
    """Start offsets of non-overlapping ``seq_len + 1`` windows (input plus shifted target)."""
    n = (len(ids) - 1) // seq_len
    if n < 1:
        raise GptcoreError(f"{len(ids)} tokens are too few for one sequence of {seq_len} (+1) tokens")
    return torch.arange(n) * seq_len


def batch_at(ids: torch.Tensor, starts: torch.Tensor, step: int, cfg: TrainConfig, seq_len: int
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch for ``step``: a seeded per-epoch shuffle, so resuming replays the same order."""
    per_epoch = max(1, len(starts) // cfg.batch_size)
    epoch, index = divmod(step, per_epoch)
    order = torch.randperm(len(starts), generator=torch.Generator().manual_seed(cfg.seed + epoch))
    picked = order[index * cfg.batch_size:(index + 1) * cfg.batch_size]
    if len(picked) < cfg.batch_size:  # fewer windows than a batch: wrap around
        picked = order[torch.arange(index * cfg.batch_size, (index + 1) * cfg.batch_size) % len(order)]
    rows = torch.stack([ids[s:s + seq_len + 1] for s in starts[picked].tolist()])
    return rows[:, :-1], rows[:, 1:]


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only; fused kernel when the device supports it."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    try:
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, fused=cfg.fused or None)
    except (RuntimeError, ValueError):
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas)


def loss_fn(model: nn.Module, x: torch.Tensor, y: torch.Tensor, bf16: bool = False) -> torch.Tensor:
    """Next-token cross-entropy (computed in float32 even under autocast)."""
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
        logits = model(x)
    return F.cross_entropy(logits.flatten(0, 1).float(), y.flatten())


@torch.no_grad()
def evaluate(model: nn.Module, ids: torch.Tensor, cfg: TrainConfig, seq_len: int) -> float:
    """Mean loss over the first ``eval_batches`` windows of ``ids`` (model left as it was)."""
    was_training = model.training
    model.eval()
    starts = windows(ids, seq_len)[: cfg.eval_batches * cfg.batch_size]
    losses = []
    for i in range(0, len(starts), cfg.batch_size):
        rows = torch.stack([ids[s:s + seq_len + 1] for s in starts[i:i + cfg.batch_size].tolist()])
        losses.append(loss_fn(model, rows[:, :-1], rows[:, 1:], cfg.bf16).item())
    model.train(was_training)
    return sum(losses) / len(losses)


def train(model: nn.Module, train_ids: torch.Tensor, val_ids: torch.Tensor | None, cfg: TrainConfig, *,
          optimizer: torch.optim.Optimizer | None = None, start_step: int = 0,
          out_dir: str | Path | None = None, vocabulary: str | None = None,
          on_log: Callable[[dict[str, float]], None] | None = None) -> TrainResult:
    """Train ``model`` from ``start_step`` to ``cfg.steps``; checkpoints go to ``out_dir/checkpoint``."""
    seq_len = cfg.seq_len or unwrap(model).config.context_length
    if seq_len > unwrap(model).config.context_length:
        raise GptcoreError(f"seq_len {seq_len} exceeds the model's context_length "
                           f"{unwrap(model).config.context_length}")
    starts = windows(train_ids, seq_len)
    optimizer = optimizer or make_optimizer(model, cfg)
    result = TrainResult(step=start_step)
    model.train()
    t0, tokens = time.perf_counter(), 0
    for step in range(start_step, cfg.steps):
        x, y = batch_at(train_ids, starts, step, cfg, seq_len)
        loss = loss_fn(model, x, y, cfg.bf16)
        if not math.isfinite(loss.item()):
            raise GptcoreError(f"loss became {loss.item()} at step {step + 1}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        tokens += x.numel()
        done = step + 1
        record: dict[str, float] = {"step": done, "train_loss": loss.item()}
        if val_ids is not None and len(val_ids) > seq_len and cfg.eval_every and (
                done % cfg.eval_every == 0 or done == cfg.steps):
            record["val_loss"] = evaluate(model, val_ids, cfg, seq_len)
        result.history.append(record)
        result.step = done
        if on_log is not None:
            on_log(record)
        if out_dir is not None and cfg.checkpoint_every and (done % cfg.checkpoint_every == 0 or done == cfg.steps):
            save_checkpoint(Path(out_dir) / "checkpoint", model, optimizer, step=done, vocabulary=vocabulary,
                            extra={"train_config": dataclasses.asdict(cfg)})
    result.tokens_per_second = tokens / max(time.perf_counter() - t0, 1e-9)
    return result


def resume(path: str | Path, cfg: TrainConfig | None = None) -> tuple[Checkpoint, torch.optim.Optimizer, TrainConfig]:
    """Model, optimizer (state restored) and config from a checkpoint; RNG states are restored.

    ``cfg`` overrides the stored training config (e.g. more ``steps``).
    """
    ckpt = load_checkpoint(path)
    stored = ckpt.extra.get("train_config")
    if cfg is None:
        if stored is None:
            raise GptcoreError(f"checkpoint {path} has no training config; pass one")
        stored = dict(stored, betas=tuple(stored["betas"]))
        cfg = TrainConfig(**stored)
    ckpt.model.train()
    optimizer = make_optimizer(ckpt.model, cfg)
    if ckpt.optimizer_state is None:
        raise GptcoreError(f"checkpoint {path} has no optimizer state to resume from")
    try:
        optimizer.load_state_dict(ckpt.optimizer_state)
    except (ValueError, KeyError) as exc:
        raise GptcoreError(f"optimizer state in {path} does not fit the model: {exc}") from None
    if ckpt.rng is not None:
        restore_rng(ckpt.rng)
    return ckpt, optimizer, cfg


def describe(result: TrainResult) -> dict[str, Any]:
    """Summary numbers for the CLI."""
    last = result.history[-1] if result.history else {}
    vals = [r["val_loss"] for r in result.history if "val_loss" in r]
    return {"step": result.step, "train_loss": last.get("train_loss"),
            "val_loss": vals[-1] if vals else None, "tokens_per_second": result.tokens_per_second}
