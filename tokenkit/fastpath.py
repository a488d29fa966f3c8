"""The fast path: encode a byte-level BPE with its tiktoken form or a faster engine, same ids.

An HF vocabulary trained by tokenkit (byte-level BPE, all 256 bytes, GPT-2's split regex, no
prefix space) has a ``tiktoken.Encoding`` that gives exactly its ids and is several times
faster. :func:`apply_fast_path` attaches :func:`find_fast_path` to a vocabulary; the
vocabulary calls it once, lazily, on its first encode. The loader (:func:`tokenkit.load`) and
the trainer (:func:`tokenkit.train`) apply it; the backends never reach for it.

``engine`` (:mod:`tokenkit.engines`) picks what runs on top of the tiktoken form: ``auto`` (the
default) uses gigatoken when it is installed and gives tiktoken's ids on a probe, else
tiktoken; ``reference`` always tiktoken (for an HF vocabulary without a tiktoken form, HF).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tokenkit.backends.hf import HFVocabulary
from tokenkit.backends.tiktoken import TiktokenVocabulary, encode_many, encode_with
from tokenkit.convert import tiktoken_form
from tokenkit.engines import check_engine, choose_encode_engine, gigatoken_encoder
from tokenkit.errors import TokenkitError
from tokenkit.vocabulary import NO_SPECIALS, Vocabulary

if TYPE_CHECKING:
    import tiktoken


@dataclass(frozen=True)
class TiktokenFastPath:
    """A tiktoken encoding proven to give an HF vocabulary's ids."""

    encoding: tiktoken.Encoding
    name = "tiktoken"

    def encode(self, text: str, allowed: frozenset[str] = NO_SPECIALS) -> list[int]:
        return encode_with(self.encoding, text, allowed)

    def encode_batch(self, texts: Sequence[str],
                     allowed: frozenset[str] = NO_SPECIALS) -> list[list[int]]:
        return encode_many(self.encoding, texts, allowed)

    def encode_to_numpy(self, text: str, allowed: frozenset[str] = NO_SPECIALS) -> Any:
        return self.encoding.encode_to_numpy(text, allowed_special=allowed, disallowed_special=())


def find_fast_path(vocab: Vocabulary, engine: str = "auto") -> Any:
    """The fast encoder for ``vocab`` (gigatoken or tiktoken), or None when its ids could
    differ from the backend's."""
    enc = vocab.encoding if isinstance(vocab, TiktokenVocabulary) else fast_encoder_for(vocab)
    if enc is None:
        return None
    choice = choose_encode_engine(engine)
    if choice.name == "gigatoken":
        fast = gigatoken_encoder(enc, _PROBE)
        if fast is not None:
            return fast
    return None if isinstance(vocab, TiktokenVocabulary) else TiktokenFastPath(enc)


def apply_fast_path(vocab: Vocabulary, engine: str = "auto") -> Vocabulary:
    """Let a byte-level vocabulary encode through its tiktoken form or ``engine`` (checked on
    first use); ``engine="reference"`` keeps today's tiktoken/HF path."""
    check_engine(engine)
    finder = find_fast_path if engine == "auto" else functools.partial(find_fast_path, engine=engine)
    if isinstance(vocab, (HFVocabulary, TiktokenVocabulary)) and (
            engine != "auto" or _ours(vocab.fast_path_finder)) and vocab.fast_path_finder != finder:
        vocab.attach_fast_path(finder)
    return vocab


def _ours(finder: Any) -> bool:
    """No finder, or one this module attached (a caller's own finder is kept by ``auto``)."""
    return finder is None or finder is find_fast_path or (
        isinstance(finder, functools.partial) and finder.func is find_fast_path)


def fast_encoder_for(vocab: Vocabulary) -> tiktoken.Encoding | None:
    """The tiktoken encoding that gives exactly ``vocab``'s ids, or None (use the backend).

    Not cached: :func:`find_fast_path` runs once per vocabulary, which keeps the result.
    """
    try:
        enc: tiktoken.Encoding | None = tiktoken_form(vocab)
    except TokenkitError:
        return None
    if enc is not None and isinstance(vocab, HFVocabulary):
        backend_ids = vocab.tokenizer.encode(_PROBE, add_special_tokens=False).ids  # ordinary
        if enc.encode_ordinary(_PROBE) != backend_ids:
            return None
    return enc


# A fixed mixed-script probe run once per vocabulary before the fast path is trusted.
_PROBE = ("Hello, world! It's 2024 -- they'll've  spaces\t\ttabs\n\n  indented line\r\n"
          "吾輩は猫である。名前はまだ無い。 Ünïcödé café naïve 😀👍🏽 ½ ١٢٣ Ⅻ 𝔘𝔫𝔦 "
          "'S 'LL ''quotes'' \u00a0nbsp \u2028sep \u200bzw <|endoftext|><eos> end   ")
