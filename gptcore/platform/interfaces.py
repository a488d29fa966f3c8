"""What a plugin hands to gptcore: an :class:`Architecture` (a model family) or a
:class:`Loader` (a weight format), and the :class:`LoadResult` a loader returns.

Plugin authors import these from :mod:`gptcore.plugin`; the model an architecture builds
follows :mod:`gptcore.platform.protocol`.  Discovery (entry points) lives in :mod:`gptcore.platform.registry`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Collection, Mapping
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
        build: ``config -> nn.Module`` obeying :mod:`gptcore.platform.protocol`.
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
        """Config from defaults, then ``preset``, then ``overrides``.

        Unknown keys and values of the wrong type are one-line :class:`GptcoreError` errors; an
        explicit ``None`` is kept (``sliding_window=None`` means "no window", not "default");
        the config's own ``__post_init__`` checks still raise ``ValueError``.
        """
        values: dict[str, Any] = {}
        if preset is not None:
            if preset not in self.presets:
                raise GptcoreError(
                    f"unknown preset {preset!r} for architecture {self.name!r} "
                    f"(known: {', '.join(sorted(self.presets))})")
            values.update(self.presets[preset])
        values.update(coerce_overrides(self.config_class, overrides, f"architecture {self.name!r}"))
        return self.config_class(**values)

    def config_from_dict(self, values: Mapping[str, Any]) -> Any:
        """Rebuild a config saved with ``dataclasses.asdict``: every field exactly as saved
        (``None`` included; unknown keys error). Saved JSON is typed already, so a string where
        the field is not a string is an error, not parsed as ``--set`` text would be."""
        types_ = _field_types(self.config_class)
        for key, value in values.items():
            hint = types_.get(key)
            if isinstance(value, str) and hint is not None and hint is not Any \
                    and str not in (typing.get_args(hint) or (hint,)):
                raise GptcoreError(f"config field {key} of architecture {self.name!r} is the string "
                                   f"{value!r}, not a {getattr(hint, '__name__', hint)}")
        return self.make_config(None, **dict(values))


def _field_types(config_class: type) -> dict[str, Any]:
    """Field name -> resolved annotation (``Any`` where it cannot be resolved)."""
    try:
        hints = typing.get_type_hints(config_class)
    except Exception:  # noqa: BLE001 - unresolvable annotations: skip type checks, not fields
        hints = {}
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(config_class)}


_TRUE, _FALSE, _NONE = ("true", "yes", "1"), ("false", "no", "0"), ("none", "null")


def _coerce(value: Any, hint: Any) -> Any:
    """``value`` as a ``hint`` (int, float, bool, str, ``X | None``); ValueError if it is not one.

    Strings (from ``--set key=value``) are parsed by the field's type; other annotations pass
    values through unchecked.
    """
    origin = typing.get_origin(hint)
    if origin is typing.Union or (hasattr(types, "UnionType") and isinstance(hint, types.UnionType)):
        options = typing.get_args(hint)
        if value is None or (isinstance(value, str) and value.lower() in _NONE and str not in options):
            if type(None) in options:
                return None
        for option in (o for o in options if o is not type(None)):
            try:
                return _coerce(value, option)
            except ValueError:
                continue
        raise ValueError("expects " + " | ".join("None" if o is type(None) else getattr(o, "__name__", str(o))
                                                 for o in options))
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
            return value.lower() in _TRUE
        raise ValueError("expects a bool (true/false)")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise ValueError("expects an int")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ValueError("expects a float")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ValueError("expects a string")
    return value


def coerce_overrides(config_class: type, overrides: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``overrides`` checked against ``config_class``'s fields and converted to their types.

    Unknown keys and values that are not of the field's type raise a one-line
    :class:`GptcoreError` naming ``where``, the field and the value.
    """
    types_ = _field_types(config_class)
    bad = sorted(set(overrides) - set(types_))
    if bad:
        raise GptcoreError(f"unknown config field(s) {', '.join(bad)} for {where} "
                           f"(known: {', '.join(sorted(types_))})")
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        try:
            out[key] = _coerce(value, types_[key])
        except ValueError as exc:
            raise GptcoreError(f"config field {key} of {where} {exc}, not {value!r}") from None
    return out


def apply_overrides(config: Any, overrides: Mapping[str, Any], where: str, *, fixed: Collection[str] = ()) -> Any:
    """A copy of the dataclass ``config`` with ``overrides`` applied, for a loader.

    Checked like :meth:`Architecture.make_config`; a value the config rejects (its
    ``__post_init__``) also becomes a one-line :class:`GptcoreError` naming ``where``.
    ``fixed`` names the fields the weights file determines (shapes, a tied head, bias
    switches): changing one would drop or reinterpret a tensor of the file silently
    (``--set tie_weights=true`` on an untied file loses its head), so it is refused.

    >>> from gptcore.models.gpt2 import GPT2Config
    >>> apply_overrides(GPT2Config(), {"context_length": "256"}, "m/config.json").context_length
    256
    >>> apply_overrides(GPT2Config(), {"tie_weights": "false"}, "m/config.json", fixed=("tie_weights",))
    Traceback (most recent call last):
    ...
    gptcore.errors.GptcoreError: --set tie_weights=False contradicts m/config.json (True): the weights file fixes it
    """
    values = coerce_overrides(type(config), overrides, where)
    for key in sorted(set(values) & set(fixed)):
        if values[key] != getattr(config, key):
            raise GptcoreError(f"--set {key}={values[key]} contradicts {where} ({getattr(config, key)}): "
                               "the weights file fixes it")
    try:
        return dataclasses.replace(config, **values)
    except (TypeError, ValueError) as exc:
        raise GptcoreError(f"invalid override for {where}: {exc}") from None


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


__all__ = ["ARCH_GROUP", "LOADER_GROUP", "PLUGIN_API_VERSION", "Architecture", "LoadResult", "Loader",
           "apply_overrides", "coerce_overrides"]
