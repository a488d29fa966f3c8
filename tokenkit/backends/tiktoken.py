"""tiktoken encodings behind the :class:`~tokenkit.vocabulary.Vocabulary` interface.

:class:`TiktokenVocabulary` wraps a ``tiktoken.Encoding`` (``cl100k_base``, GPT-2 built from
its original files by :mod:`tokenkit.backends.gpt2`, or an exported ranks file opened by
:func:`load_tiktoken_dir`). Converting an HF byte-level BPE into this form lives one layer up,
in :mod:`tokenkit.convert`; using it to speed up HF vocabularies in :mod:`tokenkit.fastpath`.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenkit.backends.fastslot import FastPathSlot
from tokenkit.bytelevel import bytes_to_token, char_to_byte
from tokenkit.errors import TokenkitError, one_line
from tokenkit.filecheck import MAX_MANIFEST, checked_file
from tokenkit.vocabulary import NO_SPECIALS, AllowedSpecial, check_text

if TYPE_CHECKING:
    import tiktoken

#: GPT-2's split pattern as tiktoken writes it (equivalent to the original GPT-2 regex and to
#: HF's ``ByteLevel(use_regex=True)`` pre-tokenizer).
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
ENDOFTEXT = "<|endoftext|>"
TIKTOKEN_FILE = "tokenizer.tiktoken"
TIKTOKEN_META = "tiktoken.json"
#: Batched encodes in tiktoken use a thread pool; tokenkit's machines have few cores.
BATCH_THREADS = max(1, min(8, os.cpu_count() or 1))


def encode_with(encoding: tiktoken.Encoding, text: str,
                allowed: frozenset[str] = NO_SPECIALS) -> list[int]:
    """tiktoken's ``encode_ordinary``, or with ``allowed`` specials read from the text; any
    other special string is ordinary text (``disallowed_special=()``), never an error."""
    if not allowed:
        return encoding.encode_ordinary(text)
    return encoding.encode(text, allowed_special=allowed, disallowed_special=())


def encode_many(encoding: tiktoken.Encoding, texts: Sequence[str],
                allowed: frozenset[str] = NO_SPECIALS) -> list[list[int]]:
    """Encode many texts on a few threads, one slice of the list per thread (tiktoken's own
    ``encode_batch`` makes one future per text, which costs more than a short line's encode)."""
    texts = list(texts)
    n = min(BATCH_THREADS, len(texts))
    if n <= 1:
        return [encode_with(encoding, t, allowed) for t in texts]
    from concurrent.futures import ThreadPoolExecutor

    step = -(-len(texts) // n)
    slices = [texts[i:i + step] for i in range(0, len(texts), step)]
    with ThreadPoolExecutor(len(slices)) as pool:
        parts = pool.map(lambda ts: [encode_with(encoding, t, allowed) for t in ts], slices)
    return [ids for part in parts for ids in part]


class TiktokenVocabulary(FastPathSlot):
    """A ``tiktoken.Encoding``: byte-level BPE with ranks as ids and a split regex."""

    backend = "tiktoken"

    def __init__(self, encoding: tiktoken.Encoding, metadata: dict[str, Any] | None = None) -> None:
        super().__init__(metadata or {"name": encoding.name})
        self.encoding = encoding
        self._specials = dict(encoding._special_tokens)
        self._by_special_id = {i: s for s, i in self._specials.items()}
        ordinary = len(encoding._mergeable_ranks)
        self._holes: frozenset[int] = frozenset() if (
            encoding.max_token_value + 1 == ordinary + len(self._specials)) else frozenset(
            set(range(encoding.n_vocab)) - set(encoding._mergeable_ranks.values())
            - set(self._specials.values()))

    @property
    def encode_engine(self) -> str:
        fast = self.fast_encoder()
        return "tiktoken" if fast is None else fast.name

    def encode(self, text: str, *, allowed_special: AllowedSpecial = NO_SPECIALS,
               disallowed_special: AllowedSpecial = NO_SPECIALS) -> list[int]:
        allowed = self.check_specials(text, allowed_special, disallowed_special)
        fast = self.fast_encoder()
        if fast is not None:
            return fast.encode(text, allowed)
        return encode_with(self.encoding, text, allowed)

    def encode_ordinary(self, text: str) -> list[int]:
        text = check_text(text)
        fast = self.fast_encoder()
        if fast is not None:
            return fast.encode(text)
        return self.encoding.encode_ordinary(text)

    def encode_batch(self, texts: Sequence[str], *, allowed_special: AllowedSpecial = NO_SPECIALS,
                     disallowed_special: AllowedSpecial = NO_SPECIALS) -> list[list[int]]:
        allowed = self.check_batch(texts, allowed_special, disallowed_special)
        fast = self.fast_encoder()
        if fast is not None:
            return fast.encode_batch(texts, allowed)
        return encode_many(self.encoding, texts, allowed)

    def checked_ids(self, ids: Iterable[int]) -> list[int]:
        """In range, and each one a token: ``cl100k_base`` leaves some ids below n_vocab unused."""
        out = super().checked_ids(ids)
        if self._holes and not self._holes.isdisjoint(out):
            self.check_id(next(i for i in out if i in self._holes))
        return out

    def check_id(self, token_id: int) -> int:
        token_id = super().check_id(token_id)
        if token_id in self._holes:
            raise TokenkitError(f"token id {token_id} is unused in vocabulary {self.name} "
                                f"(size {self.vocab_size}): no token has it")
        return token_id

    def decode(self, ids: Iterable[int]) -> str:
        return self.encoding.decode(self.checked_ids(ids), errors="replace")

    def decode_batch(self, batch: Sequence[Sequence[int]]) -> list[str]:
        """Each id list decoded alone (U+FFFD for bytes that are no character), in one call:
        all the bytes at once, then cut at each list's byte length (tiktoken's own
        ``decode_batch`` runs one thread-pool task per list, which costs more than a line)."""
        lists = [self.checked_ids(ids) for ids in batch]
        if not lists:
            return []
        import numpy as np  # lazy: only batch decoding needs it

        flat = np.fromiter((i for ids in lists for i in ids), dtype=np.int64)
        ends = np.cumsum([len(ids) for ids in lists])
        byte_ends = np.cumsum(self._token_lengths()[flat])[ends - 1] if flat.size else np.zeros(len(lists), int)
        byte_ends = np.where(ends > 0, byte_ends, 0)
        data = self.encoding.decode_bytes(flat.tolist())
        out, start = [], 0
        for end in byte_ends.tolist():
            out.append(data[start:end].decode("utf-8", errors="replace"))
            start = end
        return out

    def _token_lengths(self) -> Any:
        """Bytes per token id (0 for an unused id), built once."""
        if getattr(self, "_lengths", None) is None:
            import numpy as np  # lazy: see decode_batch

            lengths = np.zeros(self.encoding.n_vocab, dtype=np.int64)
            for token, rank in self.encoding._mergeable_ranks.items():
                lengths[rank] = len(token)
            for special, rank in self._specials.items():
                lengths[rank] = len(special.encode("utf-8"))
            self._lengths = lengths
        return self._lengths

    def decode_single_token_bytes(self, token_id: int) -> bytes:
        return self.encoding.decode_single_token_bytes(self.check_id(token_id))

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        return self.encoding.decode_bytes(self.checked_ids(ids))

    def encode_single_token(self, text_or_bytes: str | bytes) -> int:
        if not isinstance(text_or_bytes, (str, bytes, bytearray)):
            return super().encode_single_token(text_or_bytes)  # its one-line type error
        if isinstance(text_or_bytes, str) and text_or_bytes not in self._specials:
            check_text(text_or_bytes)
        try:
            return self.encoding.encode_single_token(bytes(text_or_bytes)
                                                     if isinstance(text_or_bytes, bytearray)
                                                     else text_or_bytes)
        except KeyError:
            raise TokenkitError(f"{text_or_bytes!r:.60} is not a single token of vocabulary "
                                f"{self.name}") from None

    @property
    def vocab_size(self) -> int:
        return self.encoding.n_vocab

    def _bytes(self, token_id: int) -> bytes:
        return self.encoding.decode_single_token_bytes(self.check_id(token_id))

    def id_to_token(self, token_id: int) -> str:
        token_id = self.check_id(token_id)
        if token_id in self._by_special_id:
            return self._by_special_id[token_id]
        return bytes_to_token(self._bytes(token_id))

    def token_to_id(self, token: str) -> int | None:
        if token in self._specials:
            return self._specials[token]
        try:
            data = bytes(char_to_byte()[c] for c in token)
        except KeyError:
            return None
        return self.encoding._mergeable_ranks.get(data)

    def token_bytes(self, token_id: int) -> bytes | None:
        token_id = self.check_id(token_id)
        if token_id in self._by_special_id:
            return self._by_special_id[token_id].encode("utf-8")
        return self._bytes(token_id)

    @property
    def specials(self) -> dict[str, int]:
        return dict(self._specials)

    def _write_backend_file(self, directory: Path) -> str:
        write_tiktoken_files(self.encoding, directory)
        return TIKTOKEN_FILE


# ------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------
def write_tiktoken_files(encoding: tiktoken.Encoding, directory: Path) -> list[Path]:
    """Write ``tokenizer.tiktoken`` (base64 token, rank per line) and ``tiktoken.json``."""
    ranks_path = directory / TIKTOKEN_FILE
    lines = [base64.b64encode(tok) + b" " + str(rank).encode()
             for tok, rank in sorted(encoding._mergeable_ranks.items(), key=lambda x: x[1])]
    ranks_path.write_bytes(b"\n".join(lines) + b"\n")
    meta_path = directory / TIKTOKEN_META
    meta = {"name": encoding.name, "pat_str": encoding._pat_str,
            "special_tokens": dict(encoding._special_tokens), "n_vocab": encoding.n_vocab}
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [ranks_path, meta_path]


def load_tiktoken_dir(directory: Path, metadata: dict[str, Any] | None = None) -> TiktokenVocabulary:
    """Open a directory written by :func:`write_tiktoken_files` (tokenkit export)."""
    import tiktoken  # heavy: the Rust extension loads on first use
    from tiktoken.load import load_tiktoken_bpe

    meta_path, ranks_path = directory / TIKTOKEN_META, directory / TIKTOKEN_FILE
    for p in (meta_path, ranks_path):
        if not p.exists() and not p.is_symlink():
            raise TokenkitError(f"tiktoken vocabulary {directory}: {p.name} not found")
    checked_file(meta_path, "tiktoken metadata", limit=MAX_MANIFEST, inside=directory)
    checked_file(ranks_path, "tiktoken ranks file", inside=directory)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            raise ValueError(f"{TIKTOKEN_META} must be a JSON object, not {type(meta).__name__}")
        name, pat_str = meta.get("name") or directory.name, meta.get("pat_str")
        specials = meta.get("special_tokens", {})
        if not isinstance(name, str) or not isinstance(pat_str, str):
            raise ValueError(f"{TIKTOKEN_META}: \"name\" and \"pat_str\" must be strings")
        if not isinstance(specials, dict) or not all(
                isinstance(k, str) and type(v) is int and v >= 0 for k, v in specials.items()):
            raise ValueError(f"{TIKTOKEN_META}: \"special_tokens\" must map strings to ids")
        ranks = load_tiktoken_bpe(str(ranks_path))
        missing = [b for b in range(256) if bytes([b]) not in ranks]
        if missing:  # tiktoken's encoder panics on a byte it has no rank for
            raise ValueError(f"{TIKTOKEN_FILE} has no token for byte 0x{missing[0]:02x} "
                             f"({len(missing)} of the 256 bytes missing)")
        enc = tiktoken.Encoding(name, pat_str=pat_str, mergeable_ranks=ranks, special_tokens=specials)
    except (ValueError, KeyError, UnicodeDecodeError, TypeError, OSError) as e:
        raise TokenkitError(f"tiktoken vocabulary {directory} is malformed: {one_line(e)}") from e
    return TiktokenVocabulary(enc, metadata or {"name": directory.name})
