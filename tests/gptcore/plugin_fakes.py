"""Entry points injected into ``importlib.metadata`` as gptcore sees them (no installation)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch import nn

from gptcore.platform import registry
from gptcore.plugin import Architecture, KVCache


class FakeEntryPoint:
    """``name``/``value``/``dist.name`` and a ``load()`` that returns ``obj`` (or calls it if it
    is a zero-argument function standing for an import)."""

    def __init__(self, name: str, obj: Any, dist: str = "fake-dist", group: str = registry.ARCH_GROUP,
                 value: str | None = None, on_load: Callable[[], Any] | None = None) -> None:
        self.name, self.group, self._obj, self._on_load = name, group, obj, on_load
        self.value = value or f"fake_{name.replace('-', '_')}:OBJ"
        self.dist = SimpleNamespace(name=dist)

    def load(self) -> Any:
        if self._on_load is not None:
            self._on_load()
        return self._obj


def inject(monkeypatch: pytest.MonkeyPatch, *eps: FakeEntryPoint) -> None:
    """Add ``eps`` to the real entry points and forget what the registry discovered."""
    real = registry.md.entry_points

    def fake(**params: Any) -> list[Any]:
        return list(real(**params)) + [ep for ep in eps if ep.group == params.get("group")]

    monkeypatch.setattr(registry.md, "entry_points", fake)
    registry.refresh()


@dataclass
class WindowConfig:
    vocab_size: int = 32
    context_length: int = 16
    emb_dim: int = 8
    sliding_window: int | None = 4096  # Mistral-style: None means "no window"


class WindowModel(nn.Module):
    """A tiny model whose config has an ``int | None`` field (each position sees itself only)."""

    def __init__(self, config: WindowConfig) -> None:
        super().__init__()
        self.config = config
        self.emb = nn.Embedding(config.vocab_size, config.emb_dim)
        self.head = nn.Linear(config.emb_dim, config.vocab_size)

    def forward(self, input_ids: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        if cache is not None:
            x = input_ids[:, None, :, None].float()
            cache.update(0, x, x)
        return self.head(self.emb(input_ids))


WINDOW = Architecture("window", WindowConfig, {"window-tiny": {"emb_dim": 4}}, WindowModel,
                      description="test family with an optional field", api_version=1)
