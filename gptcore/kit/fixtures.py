"""What every kit check starts from: the plugin by name, a tiny model, randomised parameters, one-line errors."""

from __future__ import annotations

import tempfile
import zlib
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gptcore.platform.interfaces import Architecture, Loader
from gptcore.platform.registry import get_architecture, get_loader


def architecture_of(arch: str | Architecture) -> Architecture:
    return get_architecture(arch) if isinstance(arch, str) else arch


def loader_of(loader: str | Loader) -> Loader:
    return get_loader(loader) if isinstance(loader, str) else loader


def fresh_dir(tmp_path: Path, prefix: str) -> Path:
    """A new empty directory under ``tmp_path`` (so every check can run twice)."""
    Path(tmp_path).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix + "-", dir=tmp_path))


def build_tiny(arch: str | Architecture, config: dict[str, Any], seed: int = 0) -> nn.Module:
    """Build ``arch`` with ``config`` overrides, deterministically initialised, in eval mode."""
    a = architecture_of(arch)
    torch.manual_seed(seed)
    return a.build(a.make_config(None, **config)).eval()


def randomize_parameters(model: nn.Module, seed: int = 0, *, matrices: float | None = 1.0,
                         vectors: float = 0.5) -> nn.Module:
    """Give every parameter random values, biases and norms included; returns ``model``.

    A model's own initialisation sets biases to 0 and norm scales to 1, so a round trip that
    drops, zeroes or swaps them still matches.  Here vectors (norm scales around 1, biases
    around 0) get noise of std ``vectors``; matrices get ``N(0, matrices / sqrt(fan_in))``
    (``matrices=None`` keeps them, e.g. a ``transformers`` model initialised at a large
    ``initializer_range``).  Each parameter draws from a generator seeded by its name, so two
    models whose configs differ in one field get the same values wherever shapes agree.
    """
    with torch.no_grad():
        for name, p in model.named_parameters():
            g = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))
            noise = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if p.dim() >= 2:
                if matrices is not None:
                    p.copy_(noise * (matrices / p.shape[-1] ** 0.5))
            elif name.endswith("bias"):
                p.copy_(noise * vectors)
            else:
                p.copy_(1.0 + noise * vectors)
    return model


def assert_one_line_error(exc: BaseException, *needles: str) -> None:
    """The error is a single line that mentions every ``needle`` (file, tensor, shape...)."""
    message = str(exc)
    assert "\n" not in message.strip(), f"error is not one line: {message!r}"
    for needle in needles:
        assert needle in message, f"{needle!r} not in error message {message!r}"


def logits_of(model: nn.Module, length: int = 8, seed: int = 10) -> torch.Tensor:
    ids = torch.randint(0, model.config.vocab_size, (2, length), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return model(ids)
