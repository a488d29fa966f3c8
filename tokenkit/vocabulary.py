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
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tokenkit.atomic import atomic_directory

METADATA_FILE = "tokenkit.json"
HF_FILE = "tokenizer.json"
SP_FILE = "spm.model"
FORMAT_VERSION = 1


class Vocabulary(ABC):
    """A BPE (or unigram) vocabulary behind one small interface."""

    backend: str = ""

    def __init__(self, metadata: dict[str, Any] | None = None) -> None:
        self.metadata: dict[str, Any] = dict(metadata or {})

    # -- the core mapping -------------------------------------------------------------
    @abstractmethod
    def encode(self, text: str) -> list[int]:
        """Token ids for ``text``; special-token strings in the text map to their ids."""

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.encode(t) for t in texts]

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

