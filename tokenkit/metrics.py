"""The numbers tokenkit reports, computed from token ids and text (no printing here).

The textbook's comparison: a text costs ``8 * utf8_bytes`` bits as UTF-8 and
``n_tokens * ceil(log2(vocab_size))`` bits as fixed-width token ids; their ratio is the
compression ratio.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from tokenkit.vocabulary import Vocabulary


def bits_per_token(vocab_size: int) -> int:
    """Bits needed to write any id of a ``vocab_size`` vocabulary in fixed width."""
    if vocab_size < 1:
        raise ValueError(f"vocab_size must be positive, got {vocab_size}")
    return max(1, math.ceil(math.log2(vocab_size)))


@dataclass(frozen=True)
class BitsReport:
    """UTF-8 bits against BPE bits for one text and one vocabulary."""

    text: str
    vocab_size: int
    utf8_bytes: int
    utf8_bits: int
    characters: int
    n_tokens: int
    bits_per_token: int
    bpe_bits: int
    ratio: float  # utf8_bits / bpe_bits (inf for an empty encoding of a non-empty text)
    bytes_per_token: float
    chars_per_token: float
    ids: list[int]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def bits_report_from_ids(text: str, ids: list[int], vocab_size: int) -> BitsReport:
    """The report for ``text`` already encoded as ``ids`` with a ``vocab_size`` vocabulary."""
    n_bytes = len(text.encode("utf-8"))
    n_tokens = len(ids)
    bpt = bits_per_token(vocab_size)
    bpe_bits = n_tokens * bpt
    utf8_bits = 8 * n_bytes
    return BitsReport(
        text=text,
        vocab_size=vocab_size,
        utf8_bytes=n_bytes,
        utf8_bits=utf8_bits,
        characters=len(text),
        n_tokens=n_tokens,
        bits_per_token=bpt,
        bpe_bits=bpe_bits,
        ratio=utf8_bits / bpe_bits if bpe_bits else (math.inf if utf8_bits else 0.0),
        bytes_per_token=n_bytes / n_tokens if n_tokens else 0.0,
        chars_per_token=len(text) / n_tokens if n_tokens else 0.0,
        ids=list(ids),
    )


def bits_report(vocab: Vocabulary, text: str) -> BitsReport:
    """Encode ``text`` with ``vocab`` and compare its UTF-8 and BPE sizes."""
    return bits_report_from_ids(text, vocab.encode(text), vocab.vocab_size)
