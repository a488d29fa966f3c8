"""Plugin registry: model architectures and weight loaders found through entry points.

gptcore knows no model family by name.  Every architecture (GPT-2 included) and every
weight loader is declared as an *entry point* by the distribution that ships it::

    # pyproject.toml of a plugin distribution
    [project.entry-points."gptcore.architectures"]
    llama = "gptcore_llama.model:ARCHITECTURE"

    [project.entry-points."gptcore.loaders"]
    hf-llama = "gptcore_llama.loader:LOADER"

The entry point's object is an :class:`Architecture` / :class:`Loader` instance, or a
zero-argument callable returning one.  Its ``name`` must equal the entry point name, and its
``api_version`` must equal :data:`PLUGIN_API_VERSION` (checked at discovery).

A plugin that fails to import or is invalid never breaks the others: it is recorded as a
:class:`PluginProblem` (shown by ``gptcore list``) and only asking for it by name raises.
Two distributions declaring the same name make that name unusable, with an error naming both.

Model protocol (what gptcore's generate / next / pretrain / checkpoint / export rely on)
---------------------------------------------------------------------------------------
An architecture's ``build(config)`` returns a ``torch.nn.Module`` ``model`` such that:

* ``model.config`` is the config dataclass instance it was built from.  The config class is a
  ``@dataclass`` whose fields are JSON scalars (int, float, str, bool, None) and that has at
  least ``vocab_size: int`` and ``context_length: int``.  Checkpoints store
  ``dataclasses.asdict(model.config)`` and the architecture name (found with
  :func:`architecture_for`, which matches ``type(model.config)``), and rebuild the model with
  ``arch.build(arch.config_class(**fields))``.
* ``model(input_ids, cache=None) -> logits``: ``input_ids`` is a ``LongTensor [B, T]``,
  the result a float tensor ``[B, T, vocab_size]``.  Attention is causal.
* With a :class:`KVCache` ``cache``: the tokens in ``input_ids`` come *after* the
  ``cache.seq_len`` tokens already cached (their positions start at ``cache.seq_len``, read it
  before updating).  Every attention layer ``i`` calls ``k, v = cache.update(i, k, v)`` with
  its new keys/values shaped ``[B, H_kv, T, D]`` and attends over the returned full tensors;
  queries at position ``p`` may see keys ``<= p``.  gptcore calls it in two patterns: prefill
  (empty cache, ``T >= 1``) and decode (``T == 1``); it never exceeds ``context_length``.
* ``state_dict()`` names are stable (they are the checkpoint format).  Tied parameters may be
  reported under several names: gptcore stores each distinct tensor once and re-ties on load.
* Training uses ``model(input_ids)`` and a cross-entropy over the logits; nothing else.

So a new family plugs into every command by implementing ``forward(input_ids, cache=None)``
and registering an :class:`Architecture`; no gptcore change is needed.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata as md
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

PLUGIN_API_VERSION = 1
"""Version of this interface; a plugin whose ``api_version`` differs is rejected."""

ARCH_GROUP = "gptcore.architectures"
LOADER_GROUP = "gptcore.loaders"


class GptcoreError(Exception):
    """A user-facing error: its message is one line that names the file, tensor or value."""


class PluginError(GptcoreError):
    """A plugin is missing, broken, invalid, or its name is claimed twice."""


# --------------------------------------------------------------------------------------------
# KV cache shared by all architectures
# --------------------------------------------------------------------------------------------


class KVCache:
    """Per-layer key/value store for incremental decoding.

    Keys and values are ``[B, H_kv, T, D]``.  Storage is preallocated in chunks and grown
    geometrically, so a decode step writes in place instead of re-concatenating the history.
    """

    def __init__(self, max_length: int | None = None) -> None:
        self.max_length = max_length
        self._k: list[torch.Tensor] = []
        self._v: list[torch.Tensor] = []
        self._len: list[int] = []

    @property
    def seq_len(self) -> int:
        """Number of positions already cached (0 when empty)."""
        return self._len[0] if self._len else 0

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append this layer's new ``k``/``v`` and return the full cached tensors."""
        t_new = k.shape[-2]
        if layer == len(self._k):
            cap = max(t_new, self.max_length or 0, 16)
            shape_k = (*k.shape[:-2], cap, k.shape[-1])
            shape_v = (*v.shape[:-2], cap, v.shape[-1])
            self._k.append(k.new_empty(shape_k))
            self._v.append(v.new_empty(shape_v))
            self._len.append(0)
        elif layer > len(self._k):
            raise ValueError(f"KVCache.update: layer {layer} called before layer {len(self._k)}")
        start = self._len[layer]
        end = start + t_new
        if end > self._k[layer].shape[-2]:
            cap = max(end, 2 * self._k[layer].shape[-2])
            for store in (self._k, self._v):
                old = store[layer]
                new = old.new_empty((*old.shape[:-2], cap, old.shape[-1]))
                new[..., :start, :] = old[..., :start, :]
                store[layer] = new
        self._k[layer][..., start:end, :] = k
        self._v[layer][..., start:end, :] = v
        self._len[layer] = end
        return self._k[layer][..., :end, :], self._v[layer][..., :end, :]

    def reset(self) -> None:
        """Forget everything (storage is released)."""
        self._k.clear()
        self._v.clear()
        self._len.clear()


# --------------------------------------------------------------------------------------------
# Plugin interfaces
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Architecture:
    """A model family: config dataclass + named presets + ``nn.Module`` factory.

    Attributes:
        name: registry name; equals the entry point name (e.g. ``"gpt2"``).
        config_class: a ``@dataclass`` with JSON-scalar fields incl. ``vocab_size`` and
            ``context_length``; every field has a default so presets can be partial.
        presets: preset name -> field overrides (e.g. ``{"gpt2-small": {"emb_dim": 768}}``).
            Preset names are global: two architectures must not share one.
        build: ``config -> nn.Module`` obeying the model protocol in this module's docstring.
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


# --------------------------------------------------------------------------------------------
# Discovery
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PluginInfo:
    """A successfully loaded plugin and where it comes from."""

    name: str
    distribution: str
    value: str
    plugin: Any


@dataclass(frozen=True)
class PluginProblem:
    """A plugin that could not be used, with a one-line reason."""

    name: str
    distribution: str
    value: str
    error: str


@dataclass
class Discovery:
    """Result of scanning one entry-point group."""

    plugins: dict[str, PluginInfo] = field(default_factory=dict)
    problems: list[PluginProblem] = field(default_factory=list)
    conflicts: dict[str, list[PluginInfo | PluginProblem]] = field(default_factory=dict)


def _dist_name(ep: Any) -> str:
    dist = getattr(ep, "dist", None)
    return getattr(dist, "name", None) or "<unknown>"


def _check(group: str, name: str, obj: Any) -> str | None:
    """Why ``obj`` is not a valid plugin for ``group`` (None if it is)."""
    expected = Architecture if group == ARCH_GROUP else Loader
    if not isinstance(obj, expected):
        return f"entry point object is {type(obj).__name__}, expected gptcore.registry.{expected.__name__}"
    if obj.api_version != PLUGIN_API_VERSION:
        return (f"plugin API version {obj.api_version} is not supported "
                f"(gptcore supports {PLUGIN_API_VERSION})")
    if obj.name != name:
        return f"object name {obj.name!r} differs from entry point name {name!r}"
    if isinstance(obj, Architecture):
        if not dataclasses.is_dataclass(obj.config_class):
            return "config_class is not a dataclass"
        fields = {f.name for f in dataclasses.fields(obj.config_class)}
        missing = {"vocab_size", "context_length"} - fields
        if missing:
            return f"config_class lacks field(s) {', '.join(sorted(missing))}"
        for preset, values in obj.presets.items():
            unknown = set(values) - fields
            if unknown:
                return f"preset {preset!r} sets unknown field(s) {', '.join(sorted(unknown))}"
    return None


def discover(group: str, entry_points: Iterable[Any] | None = None) -> Discovery:
    """Load every entry point of ``group``; failures become problems, never exceptions.

    ``entry_points`` replaces ``importlib.metadata`` (for tests): any objects with ``name``,
    ``value``, ``load()`` and optionally ``dist.name``.
    """
    eps = list(md.entry_points(group=group) if entry_points is None else entry_points)
    found = Discovery()
    seen: set[tuple[str, str, str]] = set()
    by_name: dict[str, list[PluginInfo | PluginProblem]] = {}
    for ep in eps:
        dist = _dist_name(ep)
        key = (ep.name, ep.value, dist)
        if key in seen:  # the same distribution visible twice on sys.path
            continue
        seen.add(key)
        try:
            obj = ep.load()
            if callable(obj) and not isinstance(obj, (Architecture, Loader, type)):
                obj = obj()
            error = _check(group, ep.name, obj)
        except Exception as exc:  # noqa: BLE001 - a plugin may fail in any way
            obj, error = None, f"{type(exc).__name__}: {exc}".splitlines()[0]
        entry: PluginInfo | PluginProblem
        if error is None:
            entry = PluginInfo(ep.name, dist, ep.value, obj)
        else:
            entry = PluginProblem(ep.name, dist, ep.value, error)
        by_name.setdefault(ep.name, []).append(entry)
    for name, entries in by_name.items():
        if len(entries) > 1:
            found.conflicts[name] = entries
            who = " and ".join(f"{e.distribution} ({e.value})" for e in entries)
            found.problems.append(PluginProblem(name, "/".join(e.distribution for e in entries),
                                                ", ".join(e.value for e in entries),
                                                f"name {name!r} is claimed by {who}"))
        elif isinstance(entries[0], PluginInfo):
            found.plugins[name] = entries[0]
        else:
            found.problems.append(entries[0])
    return found


_CACHE: dict[str, Discovery] = {}


def refresh() -> None:
    """Forget discovered plugins (after installing one, or in tests)."""
    _CACHE.clear()


def _discovery(group: str) -> Discovery:
    if group not in _CACHE:
        _CACHE[group] = discover(group)
    return _CACHE[group]


def architectures() -> Discovery:
    """All architectures declared under ``gptcore.architectures`` (cached)."""
    return _discovery(ARCH_GROUP)


def loaders() -> Discovery:
    """All loaders declared under ``gptcore.loaders`` (cached)."""
    return _discovery(LOADER_GROUP)


def _get(group: str, name: str) -> Any:
    found = _discovery(group)
    if name in found.plugins:
        return found.plugins[name].plugin
    for problem in found.problems:
        if problem.name == name:
            raise PluginError(f"plugin {name!r} ({group}) is unusable: {problem.error}")
    kind = "architecture" if group == ARCH_GROUP else "loader"
    raise PluginError(f"unknown {kind} {name!r} (known: {', '.join(sorted(found.plugins)) or 'none'})")


def get_architecture(name: str) -> Architecture:
    """The architecture registered as ``name`` (PluginError if missing/broken/duplicated)."""
    return _get(ARCH_GROUP, name)


def get_loader(name: str) -> Loader:
    """The loader registered as ``name`` (PluginError if missing/broken/duplicated)."""
    return _get(LOADER_GROUP, name)


def find_preset(preset: str) -> Architecture:
    """The architecture that defines ``preset`` (preset names are global)."""
    owners = [info.plugin for info in architectures().plugins.values() if preset in info.plugin.presets]
    if not owners:
        known = sorted(p for i in architectures().plugins.values() for p in i.plugin.presets)
        raise GptcoreError(f"unknown preset {preset!r} (known: {', '.join(known)})")
    if len(owners) > 1:
        raise PluginError(f"preset {preset!r} is defined by architectures "
                          f"{' and '.join(a.name for a in owners)}")
    return owners[0]


def architecture_for(model_or_config: Any) -> Architecture:
    """The architecture whose ``config_class`` is the type of ``model.config`` (or of a config)."""
    config = getattr(model_or_config, "config", model_or_config)
    for info in architectures().plugins.values():
        if type(config) is info.plugin.config_class:
            return info.plugin
    raise PluginError(f"no registered architecture uses config class {type(config).__qualname__}")


def build_model(arch: str | None = None, preset: str | None = None, **overrides: Any) -> nn.Module:
    """Build a fresh model from an architecture name and/or a preset plus field overrides."""
    if arch is None and preset is None:
        raise GptcoreError("give an architecture or a preset")
    architecture = get_architecture(arch) if arch is not None else find_preset(preset)  # type: ignore[arg-type]
    return architecture.build(architecture.make_config(preset, **overrides))


def detect_loader(path: str | Path) -> Loader:
    """The first loader (by name) whose ``detect`` accepts ``path``."""
    path = Path(path)
    if not path.exists():
        raise GptcoreError(f"model path not found: {path}")
    for name in sorted(loaders().plugins):
        loader = loaders().plugins[name].plugin
        try:
            if loader.detect(path):
                return loader
        except Exception:  # noqa: BLE001 - a broken detect must not hide other loaders
            continue
    raise GptcoreError(f"no loader recognises {path} (known loaders: {', '.join(sorted(loaders().plugins))})")


def load_model(path: str | Path, loader: str | None = None, **overrides: Any) -> LoadResult:
    """Load weights from ``path`` with the named loader, or the one that detects the format."""
    chosen = get_loader(loader) if loader else detect_loader(path)
    return chosen.load(Path(path), dict(overrides))


__all__ = [
    "ARCH_GROUP", "LOADER_GROUP", "PLUGIN_API_VERSION", "Architecture", "Discovery", "GptcoreError",
    "KVCache", "LoadResult", "Loader", "PluginError", "PluginInfo", "PluginProblem",
    "architecture_for", "architectures", "build_model", "detect_loader", "discover",
    "find_preset", "get_architecture", "get_loader", "load_model", "loaders", "refresh",
]
