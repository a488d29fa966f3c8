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
import operator
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union

from tokenkit.atomic import atomic_directory
from tokenkit.errors import TokenkitError
from tokenkit.ownership import check_replaceable

if TYPE_CHECKING:
    import numpy as np

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


def special_pattern(names: AbstractSet[str]) -> re.Pattern[str]:
    """A regex matching any of ``names`` (longest first), as tiktoken's special-token search."""
    return re.compile("|".join(re.escape(s) for s in sorted(names, key=len, reverse=True)))


def check_text(text: str) -> str:
    """``text`` unchanged, or a one-line error naming the position of a lone surrogate.

    A lone surrogate (``"\\ud800"``) is not Unicode text and has no UTF-8 bytes, so no
    token sequence stands for it. Every backend refuses it the same way (the CLI's ``--text``
    does too), rather than one writing U+FFFD, another raising ``TypeError`` and a third
    ``RuntimeError``: a silent U+FFFD would change what a count or a round trip measures.
    """
    if not isinstance(text, str):
        raise TokenkitError(f"text to encode must be a str, not {type(text).__name__}")
    if text.isascii():  # the common case costs nothing
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise TokenkitError(f"text holds a lone surrogate U+{ord(text[e.start]):04X} at character "
                            f"{e.start}: not valid Unicode text, so it has no tokens") from None
    return text


class Vocabulary(ABC):
    """A BPE (or unigram) vocabulary behind one small interface.

    The same rules hold on every backend (HF ``tokenizers``, sentencepiece, tiktoken):

    * **Ids** run from 0 to ``vocab_size - 1``. Decoding anything else — a negative id, one
      at or past ``vocab_size``, an id no token holds, a float, a string, a bool — raises
      one :class:`TokenkitError` naming the id and the vocabulary size.
    * **Byte-level ids follow GPT-2's byte order**, not ``id = byte value`` as in minbpe: in
      a byte-level BPE (tokenkit's ``hf`` backend, GPT-2, ``cl100k_base``) the 256 one-byte
      tokens are numbered in the order of GPT-2's printable stand-ins (id 0 is ``!``, byte
      0x21; byte 0x00 is id 188 in GPT-2). Ask :meth:`decode_single_token_bytes` for a
      token's bytes instead of assuming them.
    * **Lone surrogates** in the text to encode are refused with a :class:`TokenkitError`
      naming the character position (:func:`check_text`); they are never replaced by U+FFFD.
    * **Special-token strings** in text are ordinary text unless allowed (:meth:`encode`);
      ``disallowed_special`` makes them an error instead, with tiktoken's meaning.
    * **tiktoken's names** work here too: :meth:`decode_bytes`,
      :meth:`decode_single_token_bytes`, :meth:`decode_tokens_bytes`,
      :meth:`decode_with_offsets`, :meth:`encode_single_token`.
    """

    backend: str = ""

    def __init__(self, metadata: dict[str, Any] | None = None) -> None:
        self.metadata: dict[str, Any] = dict(metadata or {})

    # -- the core mapping -------------------------------------------------------------
    def encode(self, text: str, *, allowed_special: AllowedSpecial = NO_SPECIALS,
               disallowed_special: AllowedSpecial = NO_SPECIALS) -> list[int]:
        """Token ids for ``text``, all of it ordinary text unless the caller allows specials.

        A special-token string in the text (``<|endoftext|>``, ``<end_of_turn>``) is encoded
        like any other text — never as its special id — unless it is in ``allowed_special``
        (a set of special strings, or ``"all"``). Text is data: reading control tokens out of
        it is how prompts forge chat turns and how token counts drift from the reference
        libraries. It is not an error either, so documents that merely quote a special token
        can be measured; insert special ids yourself (``vocab.specials[...]``) where you mean
        them.

        ``disallowed_special`` (a set, or ``"all"``: every special not allowed) turns a listed
        special string in the text into an error, as tiktoken's ``encode`` does by default.
        A lone surrogate is refused (:func:`check_text`).
        """
        allowed = self.check_specials(text, allowed_special, disallowed_special)
        if not allowed:
            return self.encode_ordinary(text)
        return self._encode_with_specials(text, allowed)

    @abstractmethod
    def encode_ordinary(self, text: str) -> list[int]:
        """Token ids for ``text`` with every character ordinary text (no special ids, ever)."""

    def encode_to_numpy(self, text: str, *, allowed_special: AllowedSpecial = NO_SPECIALS,
                        disallowed_special: AllowedSpecial = NO_SPECIALS) -> np.ndarray:
        """:meth:`encode`'s ids as a ``uint32`` numpy array (tiktoken's name for it). An engine
        that computes the ids as an array hands it over without building a Python list, which
        for millions of tokens costs more than the encoding (``gptcore prepare`` uses this)."""
        import numpy as np  # heavy-ish: most callers of tokenkit never need it

        return np.asarray(self.encode(text, allowed_special=allowed_special,
                                      disallowed_special=disallowed_special), dtype=np.uint32)

    def encode_batch(self, texts: Sequence[str], *, allowed_special: AllowedSpecial = NO_SPECIALS,
                     disallowed_special: AllowedSpecial = NO_SPECIALS) -> list[list[int]]:
        """:meth:`encode` of each text (backends may run them in parallel)."""
        return [self.encode(t, allowed_special=allowed_special,
                            disallowed_special=disallowed_special) for t in texts]

    def check_batch(self, texts: Sequence[str], allowed_special: AllowedSpecial,
                    disallowed_special: AllowedSpecial) -> frozenset[str]:
        """:meth:`check_specials` for every text of a batch; the allowed specials."""
        allowed = self.allowed_specials(allowed_special)
        if not disallowed_special and all(type(t) is str for t in texts):
            joined = "".join(texts)  # one check for the whole batch (many short lines are slow)
            try:
                joined.isascii() or joined.encode("utf-8")
                return allowed
            except UnicodeEncodeError:
                pass  # the text at fault is named below
        for text in texts:
            self.check_specials(text, allowed, disallowed_special)
        return allowed

    def check_specials(self, text: str, allowed_special: AllowedSpecial,
                       disallowed_special: AllowedSpecial) -> frozenset[str]:
        """The allowed specials for encoding ``text``, after refusing a lone surrogate and any
        disallowed special string in it (tiktoken's rule: ``"all"`` disallows every special
        that is not allowed; a string both allowed and disallowed is disallowed)."""
        check_text(text)
        allowed = self.allowed_specials(allowed_special)
        if isinstance(disallowed_special, str) and disallowed_special == "all":
            disallowed = self.allowed_specials("all") - allowed
        elif not disallowed_special:
            return allowed
        else:
            disallowed = self.allowed_specials(disallowed_special)
        if disallowed:
            m = special_pattern(disallowed).search(text)
            if m:
                raise TokenkitError(
                    f"text holds the special token {m.group()!r} at character {m.start()}, which "
                    "disallowed_special forbids (pass it in allowed_special to encode it as its "
                    "special id, or leave disallowed_special empty to encode it as ordinary text)")
        return allowed

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
        """Text for ``ids``; bytes that do not form valid UTF-8 become U+FFFD. Every id is
        checked first (:meth:`checked_ids`)."""

    def check_id(self, token_id: Any) -> int:
        """``token_id`` as an int, or a one-line error naming it and the vocabulary size."""
        size = self.vocab_size
        if type(token_id) is not int:
            try:
                if isinstance(token_id, bool):
                    raise TypeError
                token_id = operator.index(token_id)  # numpy and torch integers
            except TypeError:
                raise TokenkitError(f"token id {token_id!r:.40} is not an integer (vocabulary "
                                    f"{self.name} has ids 0..{size - 1}, size {size})") from None
        if not 0 <= token_id < size:
            raise TokenkitError(f"token id {token_id} is outside vocabulary {self.name} "
                                f"(size {size}: ids 0..{size - 1})")
        return token_id

    def checked_ids(self, ids: Iterable[int]) -> list[int]:
        """``ids`` as a list of ints in range; the first bad one raises (:meth:`check_id`)."""
        out = ids if type(ids) is list else list(ids)
        if not out:
            return out
        if set(map(type, out)) != {int}:  # bools, floats, numpy integers: one at a time
            return [self.check_id(i) for i in out]
        if min(out) < 0 or max(out) >= self.vocab_size:
            for i in out:
                self.check_id(i)
        return out

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

    # -- bytes and offsets (tiktoken's names and meanings) ------------------------------
    def decode_single_token_bytes(self, token_id: int) -> bytes:
        """The bytes ``token_id`` contributes to decoded text (a special token: its string;
        sentencepiece's ``<unk>``: what ``decode`` writes for it)."""
        token_id = self.check_id(token_id)
        data = self.token_bytes(token_id)
        if data is None:  # a control token: whatever the backend's decode writes for it
            data = self.decode([token_id]).encode("utf-8")
        return data

    def decode_tokens_bytes(self, ids: Iterable[int]) -> list[bytes]:
        """:meth:`decode_single_token_bytes` of each id."""
        return [self.decode_single_token_bytes(i) for i in self.checked_ids(ids)]

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The raw bytes of ``ids`` (no U+FFFD: a token may end inside a character)."""
        return b"".join(self.decode_tokens_bytes(ids))

    def decode_with_offsets(self, ids: Iterable[int]) -> tuple[str, list[int]]:
        """Text for ``ids`` and each token's starting character offset in it, as tiktoken's
        ``decode_with_offsets``: a token that starts inside a character gets that character's
        offset. Unlike :meth:`decode`, bytes that are not valid UTF-8 raise."""
        pieces = self.decode_tokens_bytes(ids)
        offsets, text_len = [], 0
        for data in pieces:
            starts_inside = bool(data) and 0x80 <= data[0] < 0xC0
            offsets.append(max(0, text_len - starts_inside))
            text_len += sum(1 for c in data if not 0x80 <= c < 0xC0)
        raw = b"".join(pieces)
        try:
            return raw.decode("utf-8"), offsets
        except UnicodeDecodeError as e:
            raise TokenkitError(f"tokens do not decode to valid UTF-8 (byte 0x{raw[e.start]:02x} at "
                                f"byte offset {e.start}): use decode_bytes or decode") from None

    def encode_single_token(self, text_or_bytes: str | bytes) -> int:
        """The id of the one token whose bytes (or special string) are ``text_or_bytes``."""
        if isinstance(text_or_bytes, str):
            if text_or_bytes in self.specials:
                return self.specials[text_or_bytes]
            data = check_text(text_or_bytes).encode("utf-8")
        elif isinstance(text_or_bytes, (bytes, bytearray)):
            data = bytes(text_or_bytes)
        else:
            raise TokenkitError(f"encode_single_token takes str or bytes, not "
                                f"{type(text_or_bytes).__name__}")
        found = self._ids_by_bytes().get(data)
        if found is None:
            raise TokenkitError(f"{text_or_bytes!r:.60} is not a single token of vocabulary "
                                f"{self.name}")
        return found

    def _ids_by_bytes(self) -> dict[bytes, int]:
        """Each ordinary token's bytes -> its id (lowest id wins; byte-fallback pieces only
        where no ordinary token has the same bytes). Built once, on first use."""
        table: dict[bytes, int] | None = getattr(self, "_bytes_to_id", None)
        if table is None:
            table, fallback = {}, {}
            specials = set(self.specials.values())
            for i in range(self.vocab_size):
                if i in specials:
                    continue
                data = self.token_bytes(i)
                if data is not None:
                    (fallback if self.is_byte_fallback(i) else table).setdefault(data, i)
            for data, i in fallback.items():
                table.setdefault(data, i)
            self._bytes_to_id = table
        return table

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
        ``force`` — which replaces only a vocabulary directory tokenkit wrote
        (:func:`tokenkit.ownership.check_replaceable`), never a directory holding anything else."""
        target = Path(directory)
        if force:
            check_replaceable(target)
        with atomic_directory(target, force=force) as tmp:
            file_name = self._write_backend_file(tmp)
            meta = {**{k: v for k, v in self.metadata.items() if k != "files"},
                    "format_version": FORMAT_VERSION, "backend": self.backend,
                    "file": file_name, "vocab_size": self.vocab_size,
                    "special_tokens": self.specials}
            (tmp / METADATA_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
        return target


