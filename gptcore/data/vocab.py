"""Opening tokenkit vocabularies (gptcore uses only tokenkit's public interface)."""

from __future__ import annotations

import os

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
