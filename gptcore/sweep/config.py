"""A sweep's settings, its per-size plans and results, and the budget arithmetic (parameters, FLOPs)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from torch import nn

from gptcore.errors import GptcoreError
from gptcore.runs.checkpoint import unwrap

FORMAT = "gptcore-vocab-sweep"


FORMAT_VERSION = 1


SETTINGS_FILE = "sweep.json"


DONE_FILE = "done.json"


#: The bare byte vocabulary: byte-level BPE with no merges (whatever the backend).
BYTE_VOCAB = 256


#: Config fields the sweep sets itself, per vocabulary.
SWEEP_FIELDS = ("vocab_size", "context_length")


@dataclass
class SweepConfig:
    """Everything that decides a sweep. The CLI's defaults are read from these fields.

    ``budget_bytes`` and ``budget_flops``: give at most one; neither means
    :data:`DEFAULT_BUDGET_BYTES` bytes.
    """

    sources: tuple[str, ...] = ()
    sizes: tuple[int, ...] = (256, 512, 1000, 2000, 4000, 8000)
    backend: str = "hf"
    arch: str | None = "gpt2"
    preset: str | None = None
    model: dict[str, Any] = field(default_factory=dict)
    budget_bytes: int | None = None
    budget_flops: float | None = None
    seeds: int = 3
    context_bytes: int = 512
    batch_size: int = 16
    lr: float = 1e-3
    val_fraction: float = 0.1
    split_seed: int = 0
    device: str = "auto"

    def budget(self) -> tuple[Literal["bytes", "flops"], float]:
        if self.budget_bytes is not None and self.budget_flops is not None:
            raise GptcoreError("give one budget: --bytes or --flops, not both")
        if self.budget_flops is not None:
            return "flops", float(self.budget_flops)
        return "bytes", float(self.budget_bytes if self.budget_bytes is not None else DEFAULT_BUDGET_BYTES)

    def check(self) -> None:
        """One-line errors for settings no sweep can run with."""
        if not self.sources:
            raise GptcoreError("give a corpus: a file, directory or tokenkit corpus name")
        if not self.sizes:
            raise GptcoreError("--vocab: give at least one size")
        if min(self.sizes) < BYTE_VOCAB:
            raise GptcoreError(f"--vocab {min(self.sizes)}: the smallest vocabulary is the "
                               f"{BYTE_VOCAB}-byte alphabet")
        if self.backend not in ("hf", "sentencepiece"):
            raise GptcoreError(f"--backend must be hf or sentencepiece, got {self.backend!r}")
        for name in ("seeds", "context_bytes", "batch_size"):
            if getattr(self, name) < 1:
                raise GptcoreError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if not self.lr > 0:
            raise GptcoreError(f"--lr must be positive, got {self.lr}")
        kind, value = self.budget()
        if not value > 0:
            raise GptcoreError(f"--{kind} must be positive, got {value:g}")
        if kind == "bytes" and value < self.batch_size * self.context_bytes:
            raise GptcoreError(f"--bytes {value:,.0f} is less than one batch ({self.batch_size} sequences "
                               f"of {self.context_bytes} bytes = {self.batch_size * self.context_bytes:,} "
                               "bytes); raise --bytes or lower --batch-size / --context-bytes")
        taken = [k for k in self.model if k in SWEEP_FIELDS]
        if taken:
            raise GptcoreError(f"--set {taken[0]}: the sweep sets it per vocabulary "
                               "(context comes from --context-bytes)")
        if self.arch is None and self.preset is None:
            raise GptcoreError("give --arch or --preset")


#: Training bytes per run when no budget is given.
DEFAULT_BUDGET_BYTES = 2_000_000


@dataclass(frozen=True)
class RunPlan:
    """How one vocabulary is trained: the same for every seed."""

    vocab_size: int
    actual_vocab_size: int
    train_bytes_per_token: float
    context_tokens: int
    sequences: int
    params_embedding: int
    params_rest: int
    flops_per_token: float

    @property
    def tokens(self) -> int:
        return self.sequences * self.context_tokens

    @property
    def train_bytes(self) -> float:
        """Bytes of text the planned tokens stand for (at the training split's bytes per token)."""
        return self.tokens * self.train_bytes_per_token


@dataclass
class RunResult:
    """One (vocabulary size, seed): a row of ``results.csv``."""

    vocab_size: int  # requested
    actual_vocab_size: int
    seed: int
    val_bits_per_byte: float
    val_loss: float  # nats per token
    val_perplexity: float
    val_tokens: int  # targets scored
    val_bytes: int  # UTF-8 bytes those targets stand for
    bytes_per_token: float  # validation text, tokenkit.bits_report
    chars_per_token: float
    compression_ratio: float  # UTF-8 bits / BPE bits (n_tokens * ceil(log2 V)) on the validation text
    bits_per_token: int
    train_bytes_per_token: float
    context_tokens: int
    params_embedding: int
    params_rest: int
    train_tokens: int
    train_bytes: float
    train_flops: float
    tokens_per_second: float
    train_seconds: float
    wall_seconds: float
    warning: str = ""


@dataclass
class SizeSummary:
    vocab_size: int
    actual_vocab_size: int
    seeds: int
    bpb_mean: float
    bpb_std: float
    bpb_min: float
    bpb_max: float
    bytes_per_token: float


@dataclass
class SweepResult:
    settings: dict[str, Any]
    split: dict[str, Any]
    runs: list[RunResult]
    summary: list[SizeSummary]
    warnings: list[str]
    out: Path

    def best(self) -> SizeSummary:
        return min(self.summary, key=lambda s: s.bpb_mean)


@dataclass(frozen=True)
class SweepEvent:
    """What :func:`run_sweep` reports as it goes: ``phase`` (a step starts), ``warning``, or
    ``run`` (``done`` of ``total`` runs finished; ``skipped`` when resumed from disk)."""

    kind: Literal["phase", "warning", "run"]
    message: str
    done: int = 0
    total: int = 0
    skipped: bool = False


Events = Callable[[SweepEvent], None]


def parameter_split(model: nn.Module) -> tuple[int, int]:
    """``(embedding, rest)`` parameter counts; tied tensors are counted once.

    Embedding: every ``nn.Embedding`` (token and position tables) and the output head (a
    top-level ``nn.Linear`` producing ``vocab_size`` logits). These grow with the vocabulary
    (positions with the context in tokens); the rest does not.
    """
    model = unwrap(model)
    vocab_size = model.config.vocab_size
    embedding: set[int] = set()
    for module in model.modules():
        if isinstance(module, nn.Embedding):
            embedding.update(id(p) for p in module.parameters())
    for child in model.children():
        if isinstance(child, nn.Linear) and child.out_features == vocab_size:
            embedding.update(id(p) for p in child.parameters())
    params = list(model.parameters())  # distinct tensors (tied ones once)
    emb = sum(p.numel() for p in params if id(p) in embedding)
    return emb, sum(p.numel() for p in params) - emb


def flops_per_token(model: nn.Module, context_tokens: int) -> float:
    """Training FLOPs per token: ``6 * N_rest + 12 * n_layers * emb_dim * context_tokens``."""
    config = unwrap(model).config
    layers, width = getattr(config, "n_layers", None), getattr(config, "emb_dim", None)
    if not isinstance(layers, int) or not isinstance(width, int):
        raise GptcoreError(f"{type(config).__name__} has no integer n_layers and emb_dim, which the "
                           "attention FLOPs need")
    return 6.0 * parameter_split(model)[1] + 12.0 * layers * width * context_tokens


def plan_budget(kind: Literal["bytes", "flops"], value: float, *, train_bytes_per_token: float,
                context_tokens: int, batch_size: int, flops_per_token: float) -> int:
    """Training sequences (of ``context_tokens``) for a budget, rounded to whole batches.

    ``bytes``: ``value / (context_tokens * bytes per token)``, so every vocabulary reads the same
    text within half a batch. ``flops``: ``value / flops_per_token / context_tokens``. Whole
    batches, because the pretraining loop (:func:`gptcore.training.train`) takes whole steps.
    """
    per_sequence = (context_tokens * train_bytes_per_token if kind == "bytes"
                    else context_tokens * flops_per_token)
    sequences = batch_size * round(value / per_sequence / batch_size)
    if sequences < batch_size:
        raise GptcoreError(f"--{kind} {value:,.4g} buys {sequences} sequences of {context_tokens} tokens, "
                           f"less than one batch of {batch_size}; raise --{kind} or lower --batch-size")
    return sequences
