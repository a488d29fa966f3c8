"""Opening tokenkit vocabularies (gptcore uses only tokenkit's public interface)."""

from __future__ import annotations

import os
from pathlib import Path

import tokenkit
from tokenkit import TokenkitError, Vocabulary
from tokenkit.errors import one_line

from gptcore.errors import GptcoreError


def load_vocabulary(spec: str | os.PathLike[str]) -> Vocabulary:
    """``tokenkit.load(spec)`` with a one-line :class:`GptcoreError` on failure.

    ``spec`` is what tokenkit accepts: a vocabulary path, or a named one such as ``gpt2``
    (GPT-2's own BPE, the tokenizer of OpenAI's weights) or ``tiktoken:cl100k_base``.
    """
    try:
        return tokenkit.load(os.fspath(spec))
    except TokenkitError as exc:
        message = one_line(exc)
        if not os.path.exists(spec):
            raise GptcoreError(f"tokenizer {message.removeprefix('vocabulary ')}") from None
        raise GptcoreError(f"cannot load tokenizer {spec}: {message}") from None


def check_contained(directory: str | os.PathLike[str]) -> None:
    """Refuse a vocabulary directory whose files are not its own: a symbolic link among them,
    or a name that resolves outside it (a run directory received from elsewhere is not trusted
    to point the reader at other files)."""
    root = Path(directory)
    if not root.is_dir():
        return
    base = root.resolve()
    for entry in root.rglob("*"):
        if entry.is_symlink():
            raise GptcoreError(f"vocabulary file {entry} is a symbolic link; a vocabulary's files must be its own")
        if base not in entry.resolve().parents:
            raise GptcoreError(f"vocabulary file {entry} lies outside {root}")
