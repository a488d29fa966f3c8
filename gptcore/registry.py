"""Plugin discovery: model architectures and weight loaders found through entry points.

gptcore knows no model family by name.  Every architecture (GPT-2 included) and every
weight loader is declared as an *entry point* by the distribution that ships it::

    # pyproject.toml of a plugin distribution
    [project.entry-points."gptcore.architectures"]
    llama = "gptcore_llama:ARCHITECTURE"

    [project.entry-points."gptcore.loaders"]
    hf-llama = "gptcore_llama.hf:LOADER"

The entry point's object is an :class:`~gptcore.interfaces.Architecture` /
:class:`~gptcore.interfaces.Loader` instance, or a zero-argument callable returning one.  Its
``name`` must equal the entry point name, and its ``api_version`` must equal
:data:`~gptcore.interfaces.PLUGIN_API_VERSION` (checked at discovery).  The models they build
follow :mod:`gptcore.protocol`.

A plugin that fails to import or is invalid never breaks the others: it is recorded as a
:class:`PluginProblem` (shown by ``gptcore list``) and only asking for it by name raises.
Two distributions declaring the same name make that name unusable, with an error naming both.

This module only discovers, looks up and builds.  The interfaces moved to
:mod:`gptcore.plugin` (plugin API version 1 is unchanged); ``gptcore.registry.Architecture``,
``Loader``, ``LoadResult`` and ``KVCache`` still work for existing plugins, with a
``DeprecationWarning``.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata as md
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from gptcore import interfaces as api
from gptcore import kvcache
from gptcore.errors import GptcoreError, PluginError, one_line
from gptcore.interfaces import ARCH_GROUP, LOADER_GROUP, PLUGIN_API_VERSION


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
    expected = api.Architecture if group == ARCH_GROUP else api.Loader
    if not isinstance(obj, expected):
        # the message keeps the import path of plugin API 1's guide (it still works)
        return f"entry point object is {type(obj).__name__}, expected gptcore.registry.{expected.__name__}"
    if obj.api_version != PLUGIN_API_VERSION:
        return (f"plugin API version {obj.api_version} is not supported "
                f"(gptcore supports {PLUGIN_API_VERSION})")
    if obj.name != name:
        return f"object name {obj.name!r} differs from entry point name {name!r}"
    if isinstance(obj, api.Architecture):
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
            if callable(obj) and not isinstance(obj, (api.Architecture, api.Loader, type)):
                obj = obj()
            error = _check(group, ep.name, obj)
        except Exception as exc:  # noqa: BLE001 - a plugin may fail in any way
            obj, error = None, type(exc).__name__ + (f": {one_line(exc)}" if str(exc).strip() else "")
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


def get_architecture(name: str) -> api.Architecture:
    """The architecture registered as ``name`` (PluginError if missing/broken/duplicated)."""
    return _get(ARCH_GROUP, name)


def get_loader(name: str) -> api.Loader:
    """The loader registered as ``name`` (PluginError if missing/broken/duplicated)."""
    return _get(LOADER_GROUP, name)


def find_preset(preset: str) -> api.Architecture:
    """The architecture that defines ``preset`` (preset names are global)."""
    owners = [info.plugin for info in architectures().plugins.values() if preset in info.plugin.presets]
    if not owners:
        known = sorted(p for i in architectures().plugins.values() for p in i.plugin.presets)
        raise GptcoreError(f"unknown preset {preset!r} (known: {', '.join(known)})")
    if len(owners) > 1:
        raise PluginError(f"preset {preset!r} is defined by architectures "
                          f"{' and '.join(a.name for a in owners)}")
    return owners[0]


def architecture_for(model_or_config: Any) -> api.Architecture:
    """The architecture whose ``config_class`` is the type of ``model.config`` (or of a config)."""
    config = getattr(model_or_config, "config", model_or_config)
    for info in architectures().plugins.values():
        if type(config) is info.plugin.config_class:
            return info.plugin
    raise PluginError(f"no registered architecture uses config class {type(config).__qualname__}")


def build_model(arch: str | None = None, preset: str | None = None, **overrides: Any) -> nn.Module:
    """Build a fresh model from an architecture name and/or a preset plus field overrides.

    >>> model = build_model(preset="gpt2-small", n_layers=1, context_length=16)
    >>> type(model).__name__, model.config.n_layers, model.config.vocab_size
    ('GPT2', 1, 50257)
    """
    if arch is None and preset is None:
        raise GptcoreError("give an architecture or a preset")
    architecture = get_architecture(arch) if arch is not None else find_preset(preset)  # type: ignore[arg-type]
    return architecture.build(architecture.make_config(preset, **overrides))


def detect_loader(path: str | Path) -> api.Loader:
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


def load_model(path: str | Path, loader: str | None = None, **overrides: Any) -> api.LoadResult:
    """Load weights from ``path`` with the named loader, or the one that detects the format."""
    chosen = get_loader(loader) if loader else detect_loader(path)
    return chosen.load(Path(path), dict(overrides))


# Plugin API 1 documented these as gptcore.registry.X; they live in their own modules now.
_MOVED = {"Architecture": api, "Loader": api, "LoadResult": api, "KVCache": kvcache}


def __getattr__(name: str) -> Any:
    """Old import paths of moved names keep working, with a ``DeprecationWarning``."""
    if name in _MOVED:
        warnings.warn(f"gptcore.registry.{name} is deprecated: import it from gptcore.plugin",
                      DeprecationWarning, stacklevel=2)
        return getattr(_MOVED[name], name)
    raise AttributeError(f"module 'gptcore.registry' has no attribute {name!r}")


__all__ = [
    "ARCH_GROUP", "LOADER_GROUP", "PLUGIN_API_VERSION", "Discovery", "GptcoreError", "PluginError",
    "PluginInfo", "PluginProblem", "architecture_for", "architectures", "build_model",
    "detect_loader", "discover", "find_preset", "get_architecture", "get_loader", "load_model",
    "loaders", "refresh",
]
