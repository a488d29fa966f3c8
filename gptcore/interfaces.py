"""What a plugin hands to gptcore: an :class:`Architecture` (a model family) or a
:class:`Loader` (a weight format), and the :class:`LoadResult` a loader returns.

Plugin authors import these from :mod:`gptcore.plugin`; the model an architecture builds
follows :mod:`gptcore.protocol`.  Discovery (entry points) lives in :mod:`gptcore.registry`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from gptcore.errors import GptcoreError

PLUGIN_API_VERSION = 1
"""Version of this interface; a plugin whose ``api_version`` differs is rejected."""

ARCH_GROUP = "gptcore.architectures"
LOADER_GROUP = "gptcore.loaders"


@dataclass(frozen=True)
class Architecture:
    """A model family: config dataclass + named presets + ``nn.Module`` factory.

    Attributes:
        name: registry name; equals the entry point name (e.g. ``"gpt2"``).
        config_class: a ``@dataclass`` with JSON-scalar fields incl. ``vocab_size`` and
            ``context_length``; every field has a default so presets can be partial.
        presets: preset name -> field overrides (e.g. ``{"gpt2-small": {"emb_dim": 768}}``).
            Preset names are global: two architectures must not share one.
        build: ``config -> nn.Module`` obeying :mod:`gptcore.protocol`.
        exporters: format name -> ``(model, out_dir: Path) -> None`` writing a foreign format
            (e.g. ``"hf"``) into ``out_dir`` (an empty temporary directory gptcore renames).
        description: one line for ``gptcore list``.
        api_version: must equal :data:`PLUGIN_API_VERSION`.
    """

    name: str
    config_class: type
    presets: Mapping[str, Mapping[str, Any]]
    build: Callable[[Any], nn.Module]
    exporters: Mapping[str, Callable[[nn.Module, Path], None]] = field(default_factory=dict)
    description: str = ""
    api_version: int = PLUGIN_API_VERSION

    def make_config(self, preset: str | None = None, **overrides: Any) -> Any:
        """Config from defaults, then ``preset``, then ``overrides`` (unknown keys error)."""
        values: dict[str, Any] = {}
        if preset is not None:
            if preset not in self.presets:
                raise GptcoreError(
                    f"unknown preset {preset!r} for architecture {self.name!r} "
                    f"(known: {', '.join(sorted(self.presets))})")
            values.update(self.presets[preset])
        known = {f.name for f in dataclasses.fields(self.config_class)}
        bad = sorted(set(overrides) - known)
        if bad:
            raise GptcoreError(f"unknown config field(s) {', '.join(bad)} for architecture "
                               f"{self.name!r} (known: {', '.join(sorted(known))})")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return self.config_class(**values)

    def config_from_dict(self, values: Mapping[str, Any]) -> Any:
        """Rebuild a config saved with ``dataclasses.asdict`` (unknown keys error)."""
        return self.make_config(None, **dict(values))


@dataclass(frozen=True)
class LoadResult:
    """What a loader returns.

    Attributes:
        model: the built model with weights loaded (eval mode, on CPU, float32 unless stored so).
        architecture: registry name of the model's architecture.
        vocabulary: tokenkit vocabulary reference stored with the weights, if any.
        extra: loader-specific data (e.g. a checkpoint's step and optimizer state).
    """

    model: nn.Module
    architecture: str
    vocabulary: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Loader:
    """A weight format: detects it, reads it safely, maps it onto an architecture.

    Attributes:
        name: registry name; equals the entry point name (e.g. ``"hf-gpt2"``).
        detect: ``path -> bool``, cheap and side-effect free (look at file names / headers /
            ``config.json``); must not raise for paths of other formats.
        load: ``(path, overrides: dict) -> LoadResult``.  ``overrides`` are config fields the
            format cannot record (e.g. ``n_heads``).  Must never unpickle: use safetensors or
            ``torch.load(weights_only=True)``.  A missing file raises :class:`GptcoreError`
            naming the path; a shape/key mismatch names the tensor and both shapes.
        architectures: names of the architectures it produces (for ``gptcore list``).
        description: one line for ``gptcore list``.
        api_version: must equal :data:`PLUGIN_API_VERSION`.
    """

    name: str
    detect: Callable[[Path], bool]
    load: Callable[[Path, dict[str, Any]], LoadResult]
    architectures: tuple[str, ...] = ()
    description: str = ""
    api_version: int = PLUGIN_API_VERSION


__all__ = ["ARCH_GROUP", "LOADER_GROUP", "PLUGIN_API_VERSION", "Architecture", "LoadResult", "Loader"]
