"""The numbers tokenkit reports, computed from token ids and text (no printing here).

The textbook's comparison: a text costs ``8 * utf8_bytes`` bits as UTF-8 and
``n_tokens * ceil(log2(vocab_size))`` bits as fixed-width token ids; their ratio is the
compression ratio.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tokenkit.htmltables import report_html
from tokenkit.vocabulary import NO_SPECIALS, AllowedSpecial, Vocabulary


def bits_per_token(vocab_size: int) -> int:
    """Bits needed to write any id of a ``vocab_size`` vocabulary in fixed width.

    >>> bits_per_token(5000), bits_per_token(50257), bits_per_token(256)
    (13, 16, 8)
    """
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

    def _repr_html_(self) -> str:  # notebooks: the textbook's rows as a table
        return report_html(self)


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


def bits_report(vocab: Vocabulary, text: str, *,
                allowed_special: AllowedSpecial = NO_SPECIALS) -> BitsReport:
    """Encode ``text`` with ``vocab`` (special strings as text unless allowed) and compare
    its UTF-8 and BPE sizes."""
    return bits_report_from_ids(text, vocab.encode(text, allowed_special=allowed_special),
                                vocab.vocab_size)


# ------------------------------------------------------------------------------------------
# Distributional metrics over a token stream (bench). Entropies are in bits.
# ------------------------------------------------------------------------------------------
def unigram_counts(ids: Iterable[int]) -> Counter[int]:
    """How often each token id occurs: the distribution the entropy metrics are about."""
    return Counter(ids)


def shannon_entropy(counts: Mapping[Any, int]) -> float:
    """Shannon entropy (bits per token) of the unigram distribution given by ``counts``."""
    total = sum(counts.values())
    if total == 0:
        return 0.0
    return -sum((c / total) * math.log2(c / total) for c in counts.values() if c)


def renyi_entropy(counts: Mapping[Any, int], alpha: float = 2.5) -> float:
    """Rényi entropy of order ``alpha`` (bits); alpha = 1 is Shannon's."""
    if alpha < 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    if alpha == 1:
        return shannon_entropy(counts)
    total = sum(counts.values())
    if total == 0:
        return 0.0
    return math.log2(sum((c / total) ** alpha for c in counts.values() if c)) / (1 - alpha)


def renyi_efficiency(counts: Mapping[Any, int], alpha: float = 2.5,
                     vocab_size: int | None = None) -> float:
    """Rényi efficiency H_alpha / log2 V (Zouhar et al. 2023): how evenly tokens are used.

    ``vocab_size`` None uses the number of distinct tokens seen, like the reference
    implementation ``tokenization-scorer`` does by default; the paper's V is the vocabulary.
    """
    v = len([c for c in counts.values() if c]) if vocab_size is None else vocab_size
    if v <= 1:
        return 0.0
    return renyi_entropy(counts, alpha) / math.log2(v)


def entropy_compression_ratio(utf8_bytes: int, n_tokens: int, entropy_bits: float) -> float:
    """UTF-8 bits over the bits an ideal entropy coder needs for these tokens (n * H)."""
    coded = n_tokens * entropy_bits
    if coded == 0:
        return math.inf if utf8_bytes else 0.0
    return 8 * utf8_bytes / coded


def whitespace_words(text: str) -> int:
    """Whitespace-separated words: the unit fertility is counted in."""
    return len(text.split())


#: Above this many characters per whitespace word a text does not use spaces between words
#: (Japanese, Chinese, Thai) and fertility would mean tokens per sentence.
MAX_CHARS_PER_WORD = 20.0


def fertility(n_tokens: int, text: str) -> float | None:
    """Tokens per whitespace word, or None for text whose script does not use spaces."""
    words = whitespace_words(text)
    if words == 0 or len(text) / words > MAX_CHARS_PER_WORD:
        return None
    return n_tokens / words


@dataclass(frozen=True)
class RoundTrip:
    """How much of a text survives encode -> decode, line by line."""

    lines: int
    exact_lines: int
    lost_characters: int  # characters of the input missing from the decoded lines
    lost_examples: tuple[str, ...]  # a few distinct lost characters

    @property
    def fidelity(self) -> float:
        return self.exact_lines / self.lines if self.lines else 1.0


def round_trip(lines: Sequence[str], decoded: Sequence[str], max_examples: int = 5) -> RoundTrip:
    """Compare each line with its decoding; lost characters are the multiset difference."""
    if len(lines) != len(decoded):
        raise ValueError(f"{len(lines)} lines but {len(decoded)} decodings")
    exact, lost = 0, 0
    examples: dict[str, None] = {}
    for line, back in zip(lines, decoded):
        if line == back:
            exact += 1
            continue
        missing = Counter(line) - Counter(back)
        lost += sum(missing.values())
        for ch in missing:
            if len(examples) < max_examples:
                examples[ch] = None
    return RoundTrip(len(lines), exact, lost, tuple(examples))


def parity(tokens_by_language: Mapping[str, int], reference: str = "en") -> dict[str, float]:
    """Tokens for each language's parallel text over the reference language's (Petrov et al. 2023)."""
    ref = tokens_by_language.get(reference)
    if not ref:
        raise ValueError(f"no tokens for the reference language {reference!r}")
    return {lang: n / ref for lang, n in tokens_by_language.items()}
