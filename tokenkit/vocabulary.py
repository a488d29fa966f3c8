"""The Vocabulary interface: text <-> token ids, whatever library trained it.

Everything downstream (metrics, reports, gptcore) talks to a :class:`Vocabulary` and never to
the backend library. A vocabulary directory written by :meth:`Vocabulary.save` holds the
backend's own file (``tokenizer.json``, ``spm.model`` or ``tokenizer.tiktoken``) plus
``tokenkit.json`` describing how it was made, so it can also be opened with the backend
library alone.

This module is the bottom layer: the backends (:mod:`tokenkit.backends`) implement it, and
opening a directory is :func:`tokenkit.load`'s job (:mod:`tokenkit.specs`), never this one's.
"""

from __future__ import annotations

import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any, Literal, Union

from tokenkit.atomic import atomic_directory
from tokenkit.errors import TokenkitError

METADATA_FILE = "tokenkit.json"
HF_FILE = "tokenizer.json"
SP_FILE = "spm.model"
FORMAT_VERSION = 1

#: Which special-token strings :meth:`Vocabulary.encode` may read from text: a set of them, or
#: ``"all"``. The default, the empty set, reads none (tiktoken's rule).
AllowedSpecial = Union[AbstractSet[str], Literal["all"]]
NO_SPECIALS: frozenset[str] = frozenset()


def split_on_specials(text: str, allowed: AbstractSet[str]) -> Iterator[tuple[str, bool]]:
    """``(piece, is_special)`` pieces of ``text``: each occurrence of an allowed special string
    (longest first, leftmost) and the ordinary text between them (empty pieces skipped)."""
    names = sorted((s for s in allowed if s), key=len, reverse=True)
    if not names:
        if text:
            yield text, False
        return
    pattern = re.compile("|".join(re.escape(s) for s in names))
    start = 0
    for m in pattern.finditer(text):
        if m.start() > start:
            yield text[start:m.start()], False
        yield m.group(), True
        start = m.end()
    if start < len(text):
        yield text[start:], False


class Vocabulary(ABC):
    """A BPE (or unigram) vocabulary behind one small interface."""

    backend: str = ""

    def __init__(self, metadata: dict[str, Any] | None = None) -> None:
        self.metadata: dict[str, Any] = dict(metadata or {})

    # -- the core mapping -------------------------------------------------------------
    def encode(self, text: str, *, allowed_special: AllowedSpecial = NO_SPECIALS) -> list[int]:
        """Token ids for ``text``, all of it ordinary text unless the caller allows specials.

        A special-token string in the text (``<|endoftext|>``, ``<end_of_turn>``) is encoded
        like any other text — never as its special id — unless it is in ``allowed_special``
        (a set of special strings, or ``"all"``). Text is data: reading control tokens out of
        it is how prompts forge chat turns and how token counts drift from the reference
        libraries. It is not an error either, so documents that merely quote a special token
        can be measured; insert special ids yourself (``vocab.specials[...]``) where you mean
        them.
        """
        allowed = self.allowed_specials(allowed_special)
        if not allowed:
            return self.encode_ordinary(text)
        return self._encode_with_specials(text, allowed)

    @abstractmethod
    def encode_ordinary(self, text: str) -> list[int]:
        """Token ids for ``text`` with every character ordinary text (no special ids, ever)."""

    def encode_batch(self, texts: Sequence[str], *,
                     allowed_special: AllowedSpecial = NO_SPECIALS) -> list[list[int]]:
        """:meth:`encode` of each text (backends may run them in parallel)."""
        return [self.encode(t, allowed_special=allowed_special) for t in texts]

    def allowed_specials(self, allowed_special: AllowedSpecial) -> frozenset[str]:
        """``allowed_special`` as a set of this vocabulary's specials; unknown names refused."""
        specials = self.specials
        if isinstance(allowed_special, str):
            if allowed_special == "all":
                return frozenset(s for s in specials if s)
            raise TokenkitError(f"allowed_special must be a set of special-token strings or "
                                f"'all', not the string {allowed_special!r}")
        allowed = frozenset(allowed_special)
        unknown = sorted(allowed - set(specials))
        if unknown:
            known = ", ".join(sorted(specials)) or "none"
            raise TokenkitError(f"{unknown[0]!r} is not a special token of vocabulary "
                                f"{self.name} (its special tokens: {known})")
        return allowed

    def _encode_with_specials(self, text: str, allowed: frozenset[str]) -> list[int]:
        """The allowed specials as their ids, the text between them encoded ordinarily."""
        specials = self.specials
        ids: list[int] = []
        for piece, special in split_on_specials(text, allowed):
            ids.extend([specials[piece]] if special else self.encode_ordinary(piece))
        return ids

    @abstractmethod
    def decode(self, ids: Iterable[int]) -> str:
        """Text for ``ids``; bytes that do not form valid UTF-8 become U+FFFD."""

    @property
    @abstractmethod
    def vocab_size(self) -> int:
        """Number of ids, special tokens included (ids run from 0 to vocab_size - 1)."""

    @abstractmethod
    def id_to_token(self, token_id: int) -> str:
        """The backend's own string for a token (byte-level stand-ins, ``▁`` pieces...)."""

    @abstractmethod
    def token_to_id(self, token: str) -> int | None: ...

    @abstractmethod
    def token_bytes(self, token_id: int) -> bytes | None:
        """The exact bytes a token contributes to decoded text; None for control tokens."""

    @property
    @abstractmethod
    def specials(self) -> dict[str, int]:
        """Special / control tokens by string."""

    @property
    def unk_id(self) -> int | None:
        return None

    def is_byte_fallback(self, token_id: int) -> bool:
        """True for sentencepiece-style ``<0xNN>`` pieces that stand for one raw byte."""
        return False

    # -- derived ----------------------------------------------------------------------
    @property
    def tokens(self) -> list[str]:
        return [self.id_to_token(i) for i in range(self.vocab_size)]

    @property
    def encode_engine(self) -> str:
        """What computes the ids: the backend's library, or a faster engine proven equal
        (:mod:`tokenkit.engines`)."""
        return self.backend

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", self.backend))

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "backend": self.backend, "vocab_size": self.vocab_size,
                "specials": self.specials}

    # -- persistence ------------------------------------------------------------------
    @abstractmethod
    def _write_backend_file(self, directory: Path) -> str:
        """Write the backend's own file into ``directory``; return its file name."""

    def save(self, directory: str | os.PathLike[str], *, force: bool = False) -> Path:
        """Write the vocabulary directory atomically (:func:`tokenkit.atomic.atomic_directory`):
        a reader never sees a half-written vocabulary, and an existing one is kept unless
        ``force``."""
        target = Path(directory)
        with atomic_directory(target, force=force) as tmp:
            file_name = self._write_backend_file(tmp)
            meta = {**self.metadata, "format_version": FORMAT_VERSION, "backend": self.backend,
                    "file": file_name, "vocab_size": self.vocab_size,
                    "special_tokens": self.specials}
            (tmp / METADATA_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
        return target

