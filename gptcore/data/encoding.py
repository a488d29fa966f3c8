"""Encoding documents as ordinary text, in chunks only where the ids provably stay the same."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import tokenkit

from gptcore.errors import GptcoreError

CHUNK_CHARS = 1 << 18


#: End-of-text tokens looked for, in order, among a vocabulary's specials.
EOT_NAMES = ("<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>", "<|eos|>")


_LINE_SAFE_PATTERNS = frozenset({
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s""",
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
})


@dataclass(frozen=True)
class Encoder:
    encode: Callable[[str], Any]  # ordinary text -> ids (a uint32 array)
    split_lines: bool
    description: str


def _tiktoken_form(vocab: tokenkit.Vocabulary) -> Any:
    """tokenkit's tiktoken fast path for ``vocab`` (ids identical to its encode), or None.

    The one place that knows backend attributes: ``HFVocabulary.fast_encoding()`` and
    ``TiktokenVocabulary.encoding``.
    """
    import tiktoken

    fast = getattr(vocab, "fast_encoding", None)
    enc = fast() if callable(fast) else getattr(vocab, "encoding", None)
    return enc if isinstance(enc, tiktoken.Encoding) else None


def make_encoder(vocab: tokenkit.Vocabulary) -> Encoder:
    """The ordinary-text encoder for ``vocab`` and whether documents may be cut at lines.

    Ordinary text only: a special-token string quoted in a document is encoded as text, and
    document boundaries are end-of-text ids inserted by id (:class:`SplitWriter`).
    """
    enc = _tiktoken_form(vocab)
    if enc is not None:
        # tokenkit's own encode runs its fastest engine (gigatoken where installed: 3x tiktoken's
        # batch on 2 cores), whose ids tokenkit's tests prove equal to tiktoken's
        lines = getattr(enc, "_pat_str", None) in _LINE_SAFE_PATTERNS
        engine = getattr(vocab, "encode_engine", "tiktoken")
        return Encoder(vocab.encode_to_numpy, lines,
                       f"{engine} encode_ordinary ({'line chunks' if lines else 'whole documents'})")
    return Encoder(vocab.encode_to_numpy, False, f"{vocab.backend} encode_ordinary (whole documents)")


def eot_id(vocab: tokenkit.Vocabulary) -> int | None:
    """The vocabulary's end-of-text id (first of :data:`EOT_NAMES` it has), or None."""
    specials = vocab.specials
    for name in EOT_NAMES:
        if name in specials:
            return int(specials[name])
    return None


def dtype_for(vocab_size: int) -> str:
    """``uint16`` when every id fits (vocab_size <= 65536), else ``uint32``."""
    if vocab_size <= 1 << 16:
        return "uint16"
    if vocab_size <= 1 << 32:
        return "uint32"
    raise GptcoreError(f"vocabulary size {vocab_size} does not fit uint32 token ids")


def _safe_cut(text: str, lo: int) -> int:
    """The last index ``p >= lo`` where a chunk may end (after a newline between non-spaces), or -1."""
    end = len(text) - 1  # text[p] must exist
    while True:
        j = text.rfind("\n", max(lo - 1, 1), end)
        if j < 1:
            return -1
        if not text[j - 1].isspace() and not text[j + 1].isspace():
            return j + 1
        end = j


def chunks(pieces: Iterable[str], split_lines: bool, chunk_chars: int) -> Iterator[str]:
    """Re-cut a document's text into encodable chunks (whole document unless ``split_lines``)."""
    if not split_lines:
        whole = "".join(pieces)
        if whole:
            yield whole
        return
    pending, searched = "", 0
    for piece in pieces:
        pending += piece
        if len(pending) < chunk_chars:
            continue
        cut = _safe_cut(pending, searched)
        if cut > 0:
            yield pending[:cut]
            pending = pending[cut:]
            searched = 0
        else:
            searched = len(pending)
    if pending:
        yield pending
