"""Hugging Face ``tokenizers`` behind the :class:`~tokenkit.vocabulary.Vocabulary` interface."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from tokenkit.backends.fastslot import FastPathSlot
from tokenkit.bytelevel import token_to_bytes
from tokenkit.errors import TokenkitError, one_line
from tokenkit.filecheck import checked_file
from tokenkit.vocabulary import HF_FILE, NO_SPECIALS, AllowedSpecial, check_text


class FastEncoder(Protocol):
    """An encoder proven to give an :class:`HFVocabulary`'s ids (see :mod:`tokenkit.fastpath`)."""

    encoding: Any  # the tiktoken.Encoding it runs

    def encode(self, text: str, allowed: frozenset[str] = NO_SPECIALS) -> list[int]: ...

    def encode_batch(self, texts: Sequence[str],
                     allowed: frozenset[str] = NO_SPECIALS) -> list[list[int]]: ...


#: Given a vocabulary, its fast encoder or None (ids could differ).
FastPathFinder = Callable[["HFVocabulary"], "FastEncoder | None"]


class HFVocabulary(FastPathSlot):
    """A ``tokenizers.Tokenizer`` (byte-level BPE when trained by tokenkit).

    Encoding goes through a fast path when one is attached and provably gives the same ids:
    :func:`tokenkit.load` and :func:`tokenkit.train` attach
    :func:`tokenkit.fastpath.find_fast_path` (the vocabulary's tiktoken form, checked once,
    lazily), several times faster than HF's encoder. This class never looks for it itself, so
    the backend does not depend on tiktoken. Set ``use_fast = False`` to measure HF's own
    encoder.
    """

    backend = "hf"

    def __init__(self, tokenizer: Any, metadata: dict[str, Any] | None = None, *,
                 fast_path: FastPathFinder | None = None) -> None:
        super().__init__(metadata)
        tokenizer.encode_special_tokens = True  # specials in text are text (see class doc)
        self.tokenizer = tokenizer
        self.attach_fast_path(fast_path)
        spec = json.loads(tokenizer.to_str())
        self._spec: dict[str, Any] | None = spec  # parsed once: 50k-token vocabularies are slow to parse
        decoder = spec.get("decoder") or {}
        self.byte_level = decoder.get("type") == "ByteLevel" or (
            (spec.get("pre_tokenizer") or {}).get("type") == "ByteLevel")
        self._specials = {t.content: i for i, t in tokenizer.get_added_tokens_decoder().items()
                          if t.special}
        unk = (spec.get("model") or {}).get("unk_token")
        self._unk_id = tokenizer.token_to_id(unk) if unk else None
        self._size = tokenizer.get_vocab_size(with_added_tokens=True)

    def tokenizer_spec(self) -> dict[str, Any]:
        """``tokenizer.json`` as parsed when this vocabulary was built (do not modify it)."""
        if self._spec is None:
            self._spec = json.loads(self.tokenizer.to_str())
        return self._spec

    @property
    def encode_engine(self) -> str:
        """What encodes: the fast path's engine (gigatoken, tiktoken) or ``hf``."""
        fast = self.fast_encoder()
        return "hf" if fast is None else str(getattr(fast, "name", "tiktoken"))

    def fast_encoding(self) -> Any:
        """The equivalent ``tiktoken.Encoding``, or None when ids could differ."""
        fast = self.fast_encoder()
        return None if fast is None else fast.encoding

    def encode(self, text: str, *, allowed_special: AllowedSpecial = NO_SPECIALS,
               disallowed_special: AllowedSpecial = NO_SPECIALS) -> list[int]:
        allowed = self.check_specials(text, allowed_special, disallowed_special)
        fast = self.fast_encoder()
        if fast is not None:
            return fast.encode(text, allowed)
        if allowed:
            return self._encode_with_specials(text, allowed)
        return self.encode_ordinary(text)

    def encode_ordinary(self, text: str) -> list[int]:
        check_text(text)
        fast = self.fast_encoder()
        if fast is not None:
            return fast.encode(text)
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Sequence[str], *, allowed_special: AllowedSpecial = NO_SPECIALS,
                     disallowed_special: AllowedSpecial = NO_SPECIALS) -> list[list[int]]:
        allowed = self.check_batch(texts, allowed_special, disallowed_special)
        fast = self.fast_encoder()
        if fast is not None:
            return fast.encode_batch(texts, allowed)
        if allowed:
            return [self._encode_with_specials(t, allowed) for t in texts]
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Iterable[int]) -> str:
        return self.tokenizer.decode(self.checked_ids(ids), skip_special_tokens=False)

    @property
    def vocab_size(self) -> int:
        return self._size

    def id_to_token(self, token_id: int) -> str:
        token = self.tokenizer.id_to_token(self.check_id(token_id))
        if token is None:
            raise TokenkitError(f"token id {token_id} is outside the vocabulary (size {self._size})")
        return token

    def token_to_id(self, token: str) -> int | None:
        return self.tokenizer.token_to_id(token)

    def token_bytes(self, token_id: int) -> bytes | None:
        token = self.id_to_token(token_id)
        if token in self._specials:
            return token.encode("utf-8")
        if self.byte_level:
            try:
                return token_to_bytes(token)
            except KeyError:
                return token.encode("utf-8")
        return self.tokenizer.decode([token_id], skip_special_tokens=False).encode("utf-8")

    @property
    def specials(self) -> dict[str, int]:
        return dict(self._specials)

    @property
    def unk_id(self) -> int | None:
        return self._unk_id

    def _write_backend_file(self, directory: Path) -> str:
        self.tokenizer.save(str(directory / HF_FILE))
        return HF_FILE


def load_hf_tokenizer(path: Path, metadata: dict[str, Any] | None = None) -> HFVocabulary:
    """Open a ``tokenizer.json`` (no fast path attached: :func:`tokenkit.load` does that)."""
    from tokenizers import Tokenizer  # heavy: the Rust extension loads on first use

    checked_file(path)
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as e:  # tokenizers raises a bare Exception on bad JSON
        raise TokenkitError(f"{path} is not a Hugging Face tokenizer.json: {one_line(e)}") from e
    return HFVocabulary(tokenizer, metadata or {"name": path.parent.name or path.stem})
