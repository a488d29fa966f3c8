"""Opening tokenkit vocabularies (gptcore uses only tokenkit's public interface)."""

from __future__ import annotations

import os
from typing import Any

import tokenkit
from tokenkit import TokenkitError

from gptcore.registry import GptcoreError


def load_vocabulary(path: str | os.PathLike[str]) -> Any:
    """``tokenkit.load(path)`` with a one-line :class:`GptcoreError` on failure."""
    if not os.path.exists(path):
        raise GptcoreError(f"tokenizer not found: {path}")
    try:
        return tokenkit.load(str(path))
    except TokenkitError as exc:
        raise GptcoreError(f"cannot load tokenizer {path}: {str(exc).splitlines()[0]}") from None
