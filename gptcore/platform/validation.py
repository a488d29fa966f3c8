"""Type and range checks for config values read from files or the command line.

A ``config.json`` or ``checkpoint.json`` is untrusted input: ``"n_embd": "x"`` must not reach
``nn.Linear`` and ``"n_positions": 1e12`` must not reach the allocator. These helpers raise
:class:`ConfigError`, a :class:`~gptcore.errors.GptcoreError` (one line for the CLI) that is
also a ``ValueError`` (what dataclass validation conventionally raises).
"""

from __future__ import annotations

import math
from typing import Any

from gptcore.errors import GptcoreError

#: Largest model gptcore builds: 2**36 parameters (~69 billion, 275 GB in float32).
MAX_PARAMETERS = 1 << 36


class ConfigError(GptcoreError, ValueError):
    """A config value of the wrong type or out of range."""


def check_int(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as an int in ``[low, high]`` (booleans and floats refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def check_float(name: str, value: Any, low: float, high: float, *, low_open: bool = False,
                high_open: bool = False) -> float:
    """``value`` as a finite number in the given range (NaN and infinities refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    if value < low or value > high or (low_open and value == low) or (high_open and value == high):
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise ConfigError(f"{name} must be in {lo}{low}, {high}{hi}, got {value}")
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    return value


def check_parameters(what: str, n_parameters: int) -> None:
    """Refuse a model too large to build before any memory is allocated for it."""
    if n_parameters > MAX_PARAMETERS:
        raise ConfigError(f"{what} would have about {n_parameters:.3g} parameters "
                          f"({n_parameters * 4 / 1e9:,.0f} GB in float32); gptcore builds at most "
                          f"{MAX_PARAMETERS:.3g}")


def check_checkpoint_meta(meta: Any, path: Any) -> dict[str, Any]:
    """A ``checkpoint.json``'s types, checked before anything is built from it.

    (The checkpoint module validates format and version; this is the rest of the schema.)
    """
    def bad(what: str) -> ConfigError:
        return ConfigError(f"checkpoint metadata {path}: {what}")

    if not isinstance(meta, dict):
        raise bad(f"must be a JSON object, not {type(meta).__name__}")
    if not isinstance(meta.get("architecture"), str):
        raise bad(f'"architecture" must be a name, not {meta.get("architecture")!r:.60}')
    if not isinstance(meta.get("config"), dict):
        raise bad(f'"config" must be an object, not {meta.get("config")!r:.60}')
    step = meta.get("step", 0)
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise bad(f'"step" must be a non-negative integer, not {step!r:.60}')
    if meta.get("vocabulary") is not None and not isinstance(meta["vocabulary"], str):
        raise bad(f'"vocabulary" must be a path or spec, not {meta["vocabulary"]!r:.60}')
    tied = meta.get("tied") or {}
    if not isinstance(tied, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                             for k, v in tied.items()):
        raise bad('"tied" must map tensor names to tensor names')
    for key in ("rng", "optimizer"):
        if meta.get(key) is not None and not isinstance(meta[key], dict):
            raise bad(f'"{key}" must be an object or null, not {meta[key]!r:.60}')
    if meta.get("extra") is not None and not isinstance(meta["extra"], dict):
        raise bad(f'"extra" must be an object, not {meta["extra"]!r:.60}')
    return meta
