"""Plugin discovery: model architectures and weight loaders found through entry points.

gptcore knows no model family by name.  Every architecture (GPT-2 included) and every
weight loader is declared as an *entry point* by the distribution that ships it::

    # pyproject.toml of a plugin distribution
    [project.entry-points."gptcore.architectures"]
    llama = "gptcore_llama:ARCHITECTURE"

    [project.entry-points."gptcore.loaders"]
    hf-llama = "gptcore_llama.hf:LOADER"

The entry point's object is an :class:`~gptcore.platform.interfaces.Architecture` /
:class:`~gptcore.platform.interfaces.Loader` instance, or a zero-argument callable returning one.  Its
``name`` must equal the entry point name, and its ``api_version`` must equal
:data:`~gptcore.platform.interfaces.PLUGIN_API_VERSION` (checked at discovery).  The models they build
follow :mod:`gptcore.platform.protocol`.

A plugin that fails to import or is invalid never breaks the others: it is recorded as a
:class:`PluginProblem` (shown by ``gptcore list``) and only asking for it by name raises.
Any exception counts, ``SystemExit`` and other ``BaseException`` subclasses included; only
``KeyboardInterrupt`` goes through, because a user's Ctrl-C while a slow plugin imports
cannot be told apart from a plugin raising it, and Ctrl-C must stop gptcore.
Two distributions declaring the same name make that name unusable, with an error naming both;
so do two architectures defining the same preset.

Nothing is ambiguous and nothing is imported early:

* entry points are imported when a name is asked for (only that name's) or when a command needs
  them all (``gptcore list``, format detection, preset look-up), so a plugin that is slow to
  import costs nothing to commands that do not use it;
* :func:`detect_loader` refuses a path that several loaders accept, naming them;
* an exception a plugin raises while gptcore calls it (``build``, ``load``, an exporter) that
  is not a :class:`GptcoreError` becomes a one-line :class:`PluginError` naming the plugin and
  its distribution.

This module only discovers, looks up and builds.  The interfaces moved to
:mod:`gptcore.plugin` (plugin API version 1 is unchanged); ``gptcore.platform.registry.Architecture``,
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

from gptcore.platform import interfaces as api
from gptcore.platform import kvcache
from gptcore.errors import GptcoreError, PluginError, one_line
from gptcore.platform.hf import hf_model_type
from gptcore.platform.interfaces import ARCH_GROUP, LOADER_GROUP, PLUGIN_API_VERSION
from gptcore.platform.weights import read_json


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
        return f"entry point object is {type(obj).__name__}, expected gptcore.platform.registry.{expected.__name__}"
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


def _resolve(group: str, ep: Any) -> PluginInfo | PluginProblem:
    """Import one entry point; any failure (but Ctrl-C) becomes a :class:`PluginProblem`."""
    dist = _dist_name(ep)
    try:
        obj = ep.load()
        if callable(obj) and not isinstance(obj, (api.Architecture, api.Loader, type)):
            obj = obj()
        error = _check(group, ep.name, obj)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - a plugin may fail in any way, SystemExit included
        obj, error = None, type(exc).__name__ + (f": {one_line(exc)}" if str(exc).strip() else "")
    if error is None:
        return PluginInfo(ep.name, dist, ep.value, obj)
    return PluginProblem(ep.name, dist, ep.value, error)


def discover(group: str, entry_points: Iterable[Any] | None = None) -> Discovery:
    """Load every entry point of ``group``; failures become problems, never exceptions.

    ``entry_points`` replaces ``importlib.metadata`` (for tests): any objects with ``name``,
    ``value``, ``load()`` and optionally ``dist.name``.
    """
    return _combine(group, _entry_points(group) if entry_points is None else _unique(entry_points),
                    cached=entry_points is None)


def _combine(group: str, eps: list[Any], cached: bool) -> Discovery:
    found = Discovery()
    by_name: dict[str, list[PluginInfo | PluginProblem]] = {}
    for ep in eps:
        key = (group, ep.name, ep.value, _dist_name(ep))
        if not cached:
            entry = _resolve(group, ep)
        elif key in _RESOLVED:
            entry = _RESOLVED[key]
        else:
            entry = _RESOLVED[key] = _resolve(group, ep)
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


def _unique(entry_points: Iterable[Any]) -> list[Any]:
    """Entry points without repeats (the same distribution visible twice on ``sys.path``)."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for ep in entry_points:
        key = (ep.name, ep.value, _dist_name(ep))
        if key not in seen:
            seen.add(key)
            out.append(ep)
    return out


_CACHE: dict[str, Discovery] = {}
_NAMED: dict[tuple[str, str], Discovery] = {}
_EPS: dict[str, list[Any]] = {}
_RESOLVED: dict[tuple[str, str, str, str], PluginInfo | PluginProblem] = {}  # each entry point imported once


def refresh() -> None:
    """Forget discovered plugins (after installing one, or in tests)."""
    _CACHE.clear()
    _NAMED.clear()
    _EPS.clear()
    _RESOLVED.clear()


def _entry_points(group: str) -> list[Any]:
    """The group's entry points as metadata only: nothing is imported here."""
    if group not in _EPS:
        _EPS[group] = _unique(md.entry_points(group=group))
    return _EPS[group]


def _discovery(group: str) -> Discovery:
    if group not in _CACHE:
        _CACHE[group] = discover(group)
    return _CACHE[group]


def _named(group: str, name: str) -> Discovery:
    """Discovery of the entry points called ``name`` only (imports nothing else)."""
    if group in _CACHE:
        return _CACHE[group]
    key = (group, name)
    if key not in _NAMED:
        _NAMED[key] = _combine(group, [ep for ep in _entry_points(group) if ep.name == name], cached=True)
    return _NAMED[key]


def architectures() -> Discovery:
    """All architectures declared under ``gptcore.architectures`` (imports them all; cached)."""
    return _discovery(ARCH_GROUP)


def loaders() -> Discovery:
    """All loaders declared under ``gptcore.loaders`` (imports them all; cached)."""
    return _discovery(LOADER_GROUP)


def preset_conflicts() -> dict[str, list[PluginInfo]]:
    """Presets defined by several architectures -> their owners (such a preset is unusable)."""
    owners: dict[str, list[PluginInfo]] = {}
    for info in architectures().plugins.values():
        for preset in info.plugin.presets:
            owners.setdefault(preset, []).append(info)
    return {p: infos for p, infos in sorted(owners.items()) if len(infos) > 1}


def _owners(infos: Iterable[PluginInfo]) -> str:
    return " and ".join(f"{i.name} [{i.distribution}]" for i in infos)


def distribution_of(plugin: Any) -> str:
    """The distribution that declared ``plugin`` (an Architecture or Loader object), if known."""
    for found in (*_CACHE.values(), *_NAMED.values()):
        for info in found.plugins.values():
            if info.plugin is plugin:
                return info.distribution
    return "<not registered>"


def call_plugin(plugin: Any, what: str, fn: Any, *args: Any) -> Any:
    """``fn(*args)``, with any exception but :class:`GptcoreError` turned into one line.

    The message names the plugin, its distribution and the call (``build``, ``load``,
    ``exporter 'hf'``), so a broken plugin is reported, not shown as a gptcore traceback
    (the original stays attached as ``__cause__``).
    """
    try:
        return fn(*args)
    except GptcoreError:
        raise
    except Exception as exc:
        kind = "architecture" if isinstance(plugin, api.Architecture) else "loader"
        raise PluginError(f"{kind} {plugin.name!r} [{distribution_of(plugin)}] failed in {what}: "
                          f"{type(exc).__name__}: {one_line(exc)}") from exc


def build(architecture: api.Architecture, config: Any) -> nn.Module:
    """``architecture.build(config)`` with plugin failures as one-line :class:`PluginError` errors."""
    return call_plugin(architecture, "build", architecture.build, config)


def _get(group: str, name: str) -> Any:
    found = _named(group, name)
    if name in found.plugins:
        return found.plugins[name].plugin
    for problem in found.problems:
        if problem.name == name:
            raise PluginError(f"plugin {name!r} ({group}) is unusable: {problem.error}")
    kind = "architecture" if group == ARCH_GROUP else "loader"
    known = sorted({ep.name for ep in _entry_points(group)})
    raise PluginError(f"unknown {kind} {name!r} (known: {', '.join(known) or 'none'})")


def get_architecture(name: str) -> api.Architecture:
    """The architecture registered as ``name`` (PluginError if missing/broken/duplicated)."""
    return _get(ARCH_GROUP, name)


def get_loader(name: str) -> api.Loader:
    """The loader registered as ``name`` (PluginError if missing/broken/duplicated)."""
    return _get(LOADER_GROUP, name)


def find_preset(preset: str) -> api.Architecture:
    """The architecture that defines ``preset`` (preset names are global)."""
    owners = [info for info in architectures().plugins.values() if preset in info.plugin.presets]
    if not owners:
        known = sorted(p for i in architectures().plugins.values() for p in i.plugin.presets)
        raise GptcoreError(f"unknown preset {preset!r} (known: {', '.join(known)})")
    if len(owners) > 1:
        raise PluginError(f"preset {preset!r} is defined by architectures {_owners(owners)}; "
                          f"it is unusable until one is removed (use --arch NAME --set ...)")
    return owners[0].plugin


def architecture_for(model_or_config: Any) -> api.Architecture:
    """The architecture whose ``config_class`` is the type of ``model.config`` (or of a config)."""
    config = getattr(model_or_config, "config", model_or_config)
    loaded = [f.plugins.values() for f in (*_CACHE.values(), *_NAMED.values())]
    for infos in (*loaded, architectures().plugins.values()):  # imported ones first: no import
        for info in infos:
            if isinstance(info.plugin, api.Architecture) and type(config) is info.plugin.config_class:
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
    return build(architecture, architecture.make_config(preset, **overrides))


def detect_loader(path: str | Path) -> api.Loader:
    """The one loader whose ``detect`` accepts ``path``.

    Several accepting loaders are an error naming them all (choose one with
    ``load_model(path, loader=NAME)`` / ``--loader NAME``): picking one by name order would
    let any plugin with a broad ``detect`` take over every path.  A ``detect`` that raises
    counts as a no.
    """
    path = Path(path)
    if not path.exists():
        raise GptcoreError(f"model path not found: {path}")
    found = loaders().plugins
    accepting = []
    for name in sorted(found):
        try:
            if found[name].plugin.detect(path):
                accepting.append(found[name])
        except KeyboardInterrupt:
            raise
        except BaseException:  # noqa: BLE001 - a broken detect must not hide other loaders
            continue
    if len(accepting) > 1:
        names = ", ".join(f"{i.name} [{i.distribution}]" for i in accepting)
        raise GptcoreError(f"several loaders accept {path}: {names}; choose one with --loader NAME")
    if not accepting:
        hint = ""
        config = path / "config.json"
        if path.is_dir() and config.is_file():
            read_json(config)  # a broken config.json is why nothing detects it: name its error and line
            model_type = hf_model_type(path)
            if model_type is not None:
                hint = f"; its config.json says model_type {model_type!r}: is that family's plugin installed?"
        raise GptcoreError(f"no loader recognises {path} (known loaders: {', '.join(sorted(found))}){hint}")
    return accepting[0].plugin


def load_model(path: str | Path, loader: str | None = None, **overrides: Any) -> api.LoadResult:
    """Load weights from ``path`` with the named loader, or the one that detects the format.

    ``overrides`` are config fields for the loader (e.g. a shorter ``context_length``).
    """
    chosen = get_loader(loader) if loader else detect_loader(path)
    return call_plugin(chosen, "load", chosen.load, Path(path), dict(overrides))


# Plugin API 1 documented these as gptcore.platform.registry.X; they live in their own modules now.
_MOVED = {"Architecture": api, "Loader": api, "LoadResult": api, "KVCache": kvcache}


def __getattr__(name: str) -> Any:
    """Old import paths of moved names keep working, with a ``DeprecationWarning``."""
    if name in _MOVED:
        warnings.warn(f"gptcore.platform.registry.{name} is deprecated: import it from gptcore.plugin",
                      DeprecationWarning, stacklevel=2)
        return getattr(_MOVED[name], name)
    raise AttributeError(f"module 'gptcore.platform.registry' has no attribute {name!r}")


__all__ = [
    "ARCH_GROUP", "LOADER_GROUP", "PLUGIN_API_VERSION", "Discovery", "GptcoreError", "PluginError",
    "PluginInfo", "PluginProblem", "architecture_for", "architectures", "build", "build_model",
    "call_plugin", "detect_loader", "discover", "distribution_of", "find_preset", "get_architecture",
    "get_loader", "load_model", "loaders", "preset_conflicts", "refresh",
]
