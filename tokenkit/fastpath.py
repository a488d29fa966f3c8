"""The tiktoken fast path: encode an HF byte-level BPE with its tiktoken form, same ids.

An HF vocabulary trained by tokenkit (byte-level BPE, all 256 bytes, GPT-2's split regex, no
prefix space) has a ``tiktoken.Encoding`` that gives exactly its ids and is several times
faster. :func:`apply_fast_path` attaches :func:`find_fast_path` to a vocabulary; the
vocabulary calls it once, lazily, on its first encode. The loader (:func:`tokenkit.load`) and
the trainer (:func:`tokenkit.train`) apply it; the backends never reach for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tokenkit.backends.hf import HFVocabulary
from tokenkit.backends.tiktoken import encode_many, encode_with
from tokenkit.convert import tiktoken_form
from tokenkit.errors import TokenkitError
from tokenkit.vocabulary import NO_SPECIALS, Vocabulary

if TYPE_CHECKING:
    import tiktoken


@dataclass(frozen=True)
class TiktokenFastPath:
    """A tiktoken encoding proven to give an HF vocabulary's ids."""

    encoding: tiktoken.Encoding

    def encode(self, text: str, allowed: frozenset[str] = NO_SPECIALS) -> list[int]:
        return encode_with(self.encoding, text, allowed)

    def encode_batch(self, texts: Sequence[str],
                     allowed: frozenset[str] = NO_SPECIALS) -> list[list[int]]:
        return encode_many(self.encoding, texts, allowed)


def find_fast_path(vocab: HFVocabulary) -> TiktokenFastPath | None:
    """The fast encoder for ``vocab``, or None when its ids could differ from HF's."""
    enc = fast_encoder_for(vocab)
    return None if enc is None else TiktokenFastPath(enc)


def apply_fast_path(vocab: Vocabulary) -> Vocabulary:
    """Let an HF vocabulary encode through its tiktoken form (checked on first use)."""
    if isinstance(vocab, HFVocabulary) and vocab.fast_path_finder is None:
        vocab.attach_fast_path(find_fast_path)
    return vocab


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
