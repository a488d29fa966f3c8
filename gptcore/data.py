"""Token shards: a corpus encoded once into memory-mapped token files that every run reads.

``prepare(vocab, sources, out)`` streams the text, encodes it in parallel and writes::

    OUT/manifest.json        what was encoded, with what, and how much (see :class:`Manifest`)
    OUT/train-00000.bin ...  raw little-endian token ids, uint16 when the vocabulary fits
    OUT/val-00000.bin ...

Documents. A text file is one document; each line of a ``.jsonl`` file (an object with a string
``"text"``) is one; a directory contributes its files. Inside a split, consecutive documents are
separated by the vocabulary's end-of-text token, inserted *by id*: text is always encoded as
ordinary text, so a document that quotes ``<|endoftext|>`` gets the ids of those characters,
never the special id (a backend that cannot encode ordinarily refuses such a document).

Validation split. With several documents, ``val_fraction`` of them (at least one) are held out,
chosen by a seeded hash of their *content*: deterministic, independent of the order given, and
identical documents always land on the same side. A single document is split like the
textbook's ch. 5: the first ``int((1 - val_fraction) * characters)`` characters train, the tail
validates, each part encoded on its own.

Identical ids. Documents are encoded in chunks only where that provably gives the ids of a
whole-document encode: for tiktoken-form vocabularies (tokenkit's fast path) whose split
pattern is GPT-2's or cl100k's, a cut after a ``"\\n"`` that sits between two non-space
characters is a pre-token boundary in both (the newline is a piece of its own). For any
other vocabulary each document is encoded whole. Peak memory is therefore bounded by the
chunk size times the worker count, or by the longest document without such a cut.

Staleness. The manifest records the vocabulary's sha256 and every source's sha256 and size.
Preparing into an existing directory reuses it when those (and the split settings) match and
refuses with one line otherwise; ``force=True`` rebuilds it. The directory is written through
:func:`tokenkit.atomic.atomic_directory`, so it is either complete or absent.
"""

from __future__ import annotations

import hashlib
import json
import os
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

import tokenkit
from tokenkit.atomic import atomic_directory, recover
from tokenkit.textio import expand_sources

from gptcore.fingerprint import vocabulary_sha256
from gptcore.errors import GptcoreError
from gptcore.vocab import load_vocabulary

FORMAT = "gptcore-token-shards"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SPLITS = ("train", "val")
#: Tokens per shard file (256 MiB at uint16); a split larger than this gets several files.
SHARD_TOKENS = 1 << 27
#: Bytes read from a file at a time, and characters handed to one encode task.
BLOCK_BYTES = 1 << 20
CHUNK_CHARS = 1 << 18
#: End-of-text tokens looked for, in order, among a vocabulary's specials.
EOT_NAMES = ("<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>", "<|eos|>")

# Split patterns for which "cut after a newline between two non-space characters" keeps every
# pre-token intact (tests check it against whole-document encodes with hypothesis):
# GPT-2's (tiktoken's and tokenkit's spellings) and cl100k_base's.
_LINE_SAFE_PATTERNS = frozenset({
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s""",
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
})


# ------------------------------------------------------------------------------------------
# Manifest
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ShardInfo:
    file: str
    tokens: int


@dataclass(frozen=True)
class SplitInfo:
    """One split: ``bytes`` is the UTF-8 size of its text (separators not counted)."""

    tokens: int
    bytes: int
    documents: int
    shards: tuple[ShardInfo, ...]


@dataclass(frozen=True)
class SourceInfo:
    name: str
    path: str
    sha256: str
    bytes: int
    documents: int
    format: Literal["text", "jsonl"]


@dataclass(frozen=True)
class TokenizerInfo:
    spec: str | None
    name: str
    backend: str
    sha256: str
    vocab_size: int
    eot_id: int | None


@dataclass(frozen=True)
class Manifest:
    """What ``manifest.json`` holds; ``reused`` (not stored) says prepare found it up to date."""

    tokenizer: TokenizerInfo
    dtype: str
    val_fraction: float
    seed: int
    split_by: Literal["document", "tail"]
    sources: tuple[SourceInfo, ...]
    splits: dict[str, SplitInfo]
    encoder: str
    format_version: int = FORMAT_VERSION
    reused: bool = field(default=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("reused")
        return {"format": FORMAT, **data}

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str = MANIFEST) -> Manifest:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise GptcoreError(f"{where} is not a gptcore token-shard manifest")
        if data.get("format_version") != FORMAT_VERSION:
            raise GptcoreError(f"{where}: unsupported format_version {data.get('format_version')!r} "
                               f"(this gptcore reads {FORMAT_VERSION})")
        try:
            splits = {name: SplitInfo(int(s["tokens"]), int(s["bytes"]), int(s["documents"]),
                                      tuple(ShardInfo(str(h["file"]), int(h["tokens"]))
                                            for h in s["shards"]))
                      for name, s in data["splits"].items()}
            return cls(tokenizer=TokenizerInfo(**data["tokenizer"]), dtype=str(data["dtype"]),
                       val_fraction=float(data["val_fraction"]), seed=int(data["seed"]),
                       split_by=data["split_by"], sources=tuple(SourceInfo(**s) for s in data["sources"]),
                       splits=splits, encoder=str(data["encoder"]))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise GptcoreError(f"{where} is malformed: {type(e).__name__} {e}") from None

    def identity(self) -> dict[str, Any]:
        """What must be equal for existing shards to stand for a new request."""
        return {"format_version": self.format_version, "tokenizer_sha256": self.tokenizer.sha256,
                "dtype": self.dtype, "eot_id": self.tokenizer.eot_id,
                "val_fraction": self.val_fraction, "seed": self.seed,
                "sources": [(s.sha256, s.bytes) for s in self.sources]}


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """The manifest of a prepared directory, with a one-line error when it is not one."""
    file = Path(path) / MANIFEST
    if not file.is_file():
        raise GptcoreError(f"{path} holds no {MANIFEST}: not a prepared token-shard directory "
                           "(run `gptcore prepare`)")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise GptcoreError(f"{file} is not valid JSON: {e}") from None
    return Manifest.from_json(data, str(file))


# ------------------------------------------------------------------------------------------
# Sources: resolve names, hash, stream text without holding a file in memory
# ------------------------------------------------------------------------------------------
def resolve_sources(specs: Iterable[str]) -> list[tuple[str, Path]]:
    """Files, directories (their files) and tokenkit corpus names -> (name, path) pairs.

    The one place that reaches into tokenkit's text reader (``tokenkit.textio``).
    """
    specs = list(specs)
    if not specs:
        raise GptcoreError("no data sources given")
    pairs = expand_sources(specs)
    for name, path in pairs:
        if path is None:
            raise GptcoreError("data source '-' (stdin) cannot be hashed and re-read; save it to a file")
    return [(name, path) for name, path in pairs if path is not None]


def _sha256_file(path: Path) -> tuple[str, int, int]:
    """sha256, byte size and character count (valid UTF-8 assumed; checked when encoding)."""
    digest, size, chars = hashlib.sha256(), 0, 0
    with open(path, "rb") as f:
        while block := f.read(BLOCK_BYTES):
            digest.update(block)
            size += len(block)
            chars += len(block) - _continuation_bytes(block)
    return digest.hexdigest(), size, chars


_CONTINUATION = bytes(range(0x80, 0xC0))


def _continuation_bytes(block: bytes) -> int:
    return len(block) - len(block.translate(None, _CONTINUATION))


def _complete_prefix(data: bytes) -> int:
    """Length of the longest prefix of ``data`` that does not end inside a UTF-8 character."""
    for back in range(1, min(4, len(data)) + 1):
        lead = data[-back]
        if lead & 0xC0 == 0x80:
            continue
        need = 1 if lead < 0x80 else 2 if lead >> 5 == 0b110 else 3 if lead >> 4 == 0b1110 else \
            4 if lead >> 3 == 0b11110 else 1
        return len(data) - back if need > back else len(data)
    return len(data)


def _decode(raw: bytes, name: str, offset: int) -> str:
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise GptcoreError(f"{name} looks binary: NUL byte at byte offset {offset + nul}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise GptcoreError(f"{name} is not valid UTF-8: byte 0x{raw[e.start]:02x} at byte offset "
                           f"{offset + e.start}") from None


def _stream_text(name: str, path: Path) -> Iterator[str]:
    """The file's text in blocks, never cutting a character; bad bytes name their offset."""
    offset, carry = 0, b""
    with open(path, "rb") as f:
        while True:
            block = f.read(BLOCK_BYTES)
            data = carry + block
            if not block:
                if data:
                    _decode(data, name, offset)  # raises: a truncated character at the end
                return
            cut = _complete_prefix(data)
            text, carry = _decode(data[:cut], name, offset), data[cut:]
            offset += cut
            if text:
                yield text


def _stream_jsonl(name: str, path: Path) -> Iterator[str]:
    """One document per non-blank line: a JSON object with a string ``"text"``."""
    offset = 0
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            line = _decode(raw, name, offset)
            offset += len(raw)
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise GptcoreError(f"{name} line {number} is not JSON: {e.msg}") from None
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise GptcoreError(f'{name} line {number}: expected an object with a string "text"')
            yield record["text"]


def _is_jsonl(path: Path) -> bool:
    return path.suffix.lower() == ".jsonl"


# ------------------------------------------------------------------------------------------
# Encoding: ordinary text only, chunked where ids provably stay the same
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Encoder:
    encode: Callable[[str], list[int]]
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


def make_encoder(vocab: tokenkit.Vocabulary) -> _Encoder:
    """The ordinary-text encoder for ``vocab`` and whether documents may be cut at lines.

    Ordinary text only: a special-token string quoted in a document is encoded as text, and
    document boundaries are end-of-text ids inserted by id (:class:`_SplitWriter`).
    """
    enc = _tiktoken_form(vocab)
    if enc is not None:
        lines = getattr(enc, "_pat_str", None) in _LINE_SAFE_PATTERNS
        return _Encoder(enc.encode_ordinary, lines,
                        f"tiktoken encode_ordinary ({'line chunks' if lines else 'whole documents'})")
    return _Encoder(vocab.encode_ordinary, False, f"{vocab.backend} encode_ordinary (whole documents)")


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


def _chunks(pieces: Iterable[str], split_lines: bool, chunk_chars: int) -> Iterator[str]:
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


# ------------------------------------------------------------------------------------------
# Writing
# ------------------------------------------------------------------------------------------
class _SplitWriter:
    """Appends ids of one split to numbered shard files; counts tokens, bytes, documents."""

    def __init__(self, directory: Path | None, split: str, dtype: str, shard_tokens: int,
                 eot: int | None) -> None:
        self.directory, self.split, self.dtype = directory, split, np.dtype(dtype)
        self.shard_tokens, self.eot = shard_tokens, eot
        self.tokens = self.bytes = self.documents = 0
        self.shards: list[ShardInfo] = []
        self._file: Any = None
        self._in_shard = 0
        self.memory: list[np.ndarray] = []  # used when directory is None (in-memory encode)

    def separator(self) -> np.ndarray | None:
        """Start a document: the end-of-text separator to write before it, if any."""
        self.documents += 1
        if self.documents > 1 and self.eot is not None:
            return np.array([self.eot], dtype=self.dtype)
        return None

    def write(self, ids: np.ndarray) -> None:
        if self.directory is None:
            self.memory.append(ids)
            self.tokens += len(ids)
            return
        while len(ids):
            if self._file is None or self._in_shard == self.shard_tokens:
                self._roll()
            take = min(len(ids), self.shard_tokens - self._in_shard)
            self._file.write(ids[:take].astype(self.dtype.newbyteorder("<"), copy=False).tobytes())
            self._in_shard += take
            self.tokens += take
            ids = ids[take:]

    def _roll(self) -> None:
        self._close_file()
        name = f"{self.split}-{len(self.shards):05d}.bin"
        assert self.directory is not None
        self._file = open(self.directory / name, "wb")  # noqa: SIM115 - closed in _close_file
        self.shards.append(ShardInfo(name, 0))

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self.shards[-1] = ShardInfo(self.shards[-1].file, self._in_shard)
            self._file, self._in_shard = None, 0

    def close(self) -> SplitInfo:
        self._close_file()
        return SplitInfo(self.tokens, self.bytes, self.documents, tuple(self.shards))


class _Pipeline:
    """Encode chunks on a thread pool (tiktoken, HF tokenizers release the GIL), write in order.

    At most ``2 * workers`` chunks are in flight, which bounds memory.
    """

    def __init__(self, encoder: _Encoder, workers: int, vocab_size: int) -> None:
        self.encoder, self.vocab_size = encoder, vocab_size
        self.pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="gptcore-encode")
        self.limit = 2 * max(1, workers)
        self.pending: deque[tuple[_SplitWriter, Future[np.ndarray] | np.ndarray]] = deque()

    def _encode(self, text: str) -> np.ndarray:
        ids = np.array(self.encoder.encode(text), dtype=np.uint32)
        if ids.size and int(ids.max()) >= self.vocab_size:
            raise GptcoreError(f"the vocabulary produced id {int(ids.max())}, outside its size "
                               f"{self.vocab_size}")
        return ids

    def put_ids(self, writer: _SplitWriter, ids: np.ndarray) -> None:
        self.pending.append((writer, ids))

    def put_text(self, writer: _SplitWriter, text: str) -> None:
        self.pending.append((writer, self.pool.submit(self._encode, text)))
        while len(self.pending) > self.limit:
            self._drain_one()

    def _drain_one(self) -> None:
        writer, item = self.pending.popleft()
        writer.write(item.result() if isinstance(item, Future) else item)

    def finish(self) -> None:
        while self.pending:
            self._drain_one()

    def close(self) -> None:
        for _, item in self.pending:
            if isinstance(item, Future):
                item.cancel()
        self.pool.shutdown(wait=True)


# ------------------------------------------------------------------------------------------
# prepare
# ------------------------------------------------------------------------------------------
@dataclass
class _Scan:
    sources: list[SourceInfo]
    keys: array  # one uint64 per document, in order
    first_doc_chars: int


def _doc_key(seed: int, content_sha256: bytes) -> int:
    h = hashlib.blake2b(seed.to_bytes(8, "little", signed=True) + content_sha256, digest_size=8)
    return int.from_bytes(h.digest(), "little")


def _scan(pairs: Sequence[tuple[str, Path]], seed: int) -> _Scan:
    """Pass 1: hash and measure every source; a content key per document for the split."""
    sources: list[SourceInfo] = []
    keys = array("Q")
    first_chars = -1
    for name, path in pairs:
        try:
            sha, size, chars = _sha256_file(path)
            if _is_jsonl(path):
                n = 0
                for text in _stream_jsonl(name, path):
                    data = text.encode("utf-8", errors="surrogatepass")
                    keys.append(_doc_key(seed, hashlib.sha256(data).digest()))
                    if first_chars < 0:
                        first_chars = len(text)
                    n += 1
                sources.append(SourceInfo(name, str(path), sha, size, n, "jsonl"))
            else:
                keys.append(_doc_key(seed, bytes.fromhex(sha)))
                if first_chars < 0:
                    first_chars = chars
                sources.append(SourceInfo(name, str(path), sha, size, 1, "text"))
        except OSError as e:
            raise GptcoreError(f"cannot read {name}: {e.strerror or e}") from None
    return _Scan(sources, keys, max(first_chars, 0))


def _val_mask(keys: array, val_fraction: float) -> np.ndarray:
    """Boolean per document: held out for validation (the smallest seeded content keys)."""
    k = np.frombuffer(keys, dtype=np.uint64) if len(keys) else np.zeros(0, np.uint64)
    n_val = min(max(1, round(val_fraction * len(k))), len(k) - 1)
    threshold = np.partition(k, n_val - 1)[n_val - 1]
    mask = k <= threshold
    if mask.all():
        raise GptcoreError(f"all {len(k)} documents are identical, so none is left for training "
                           "after holding out validation documents")
    return mask


def _documents(scan: _Scan, pairs: Sequence[tuple[str, Path]]) -> Iterator[tuple[str, Iterator[str]]]:
    """Pass 2 source order: (source name, text pieces) per document."""
    for (name, path), info in zip(pairs, scan.sources):
        if info.format == "jsonl":
            for text in _stream_jsonl(name, path):
                yield name, iter((text,))
        else:
            yield name, _stream_text(name, path)


def _split_tail(pieces: Iterator[str], cut: int) -> tuple[Iterator[str], Iterator[str]]:
    """Split a stream of text pieces at character ``cut`` (train part consumed first)."""
    rest: list[str] = []

    def head() -> Iterator[str]:
        seen = 0
        for piece in pieces:
            if seen + len(piece) <= cut:
                seen += len(piece)
                yield piece
                continue
            keep = cut - seen
            if keep > 0:
                yield piece[:keep]
            rest.append(piece[keep:])
            seen = cut
            break

    def tail() -> Iterator[str]:
        yield from rest
        yield from pieces

    return head(), tail()


def _check_fraction(val_fraction: float) -> None:
    if not (isinstance(val_fraction, (int, float)) and 0 < val_fraction < 1):
        raise GptcoreError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction!r}")


def _load_vocab(tokenizer: str | os.PathLike[str] | tokenkit.Vocabulary) -> tuple[tokenkit.Vocabulary, str | None]:
    if isinstance(tokenizer, tokenkit.Vocabulary):
        return tokenizer, None
    return load_vocabulary(tokenizer), os.fspath(tokenizer)


def _describe_difference(old: Manifest, new: Manifest) -> str:
    a, b = old.identity(), new.identity()
    if a["tokenizer_sha256"] != b["tokenizer_sha256"]:
        return (f"another tokenizer (sha256 {a['tokenizer_sha256'][:12]}, now "
                f"{b['tokenizer_sha256'][:12]})")
    if a["sources"] != b["sources"]:
        old_src = {s.sha256 for s in old.sources}
        changed = [s.name for s in new.sources if s.sha256 not in old_src]
        return f"other sources ({changed[0] if changed else 'the list'} changed)"
    for key in ("val_fraction", "seed", "dtype", "eot_id", "format_version"):
        if a[key] != b[key]:
            return f"another {key} ({a[key]!r}, now {b[key]!r})"
    return "other settings"


def prepare(tokenizer: str | os.PathLike[str] | tokenkit.Vocabulary, sources: Sequence[str],
            out: str | os.PathLike[str], *, val_fraction: float = 0.1, seed: int = 0,
            context_length: int | None = None, force: bool = False, workers: int | None = None,
            dtype: str | None = None, shard_tokens: int = SHARD_TOKENS, chunk_chars: int = CHUNK_CHARS,
            eot: int | str | None = "auto", on_progress: Callable[[int], None] | None = None) -> Manifest:
    """Encode ``sources`` with ``tokenizer`` into token shards at ``out``; return the manifest.

    ``context_length``, when given, makes a split too short for one training sequence an error
    before anything is written. ``eot="auto"`` separates documents with the vocabulary's
    end-of-text id (:func:`eot_id`); an int or a special-token string chooses one, None none.
    An existing, matching ``out`` is reused (``manifest.reused``); a stale one is refused
    unless ``force``. ``on_progress(n_bytes)`` is called as text is read.
    """
    _check_fraction(val_fraction)
    if shard_tokens < 1 or chunk_chars < 1:
        raise GptcoreError("shard_tokens and chunk_chars must be positive")
    for name, value in (("context_length", context_length), ("workers", workers)):
        if value is not None and value < 1:
            raise GptcoreError(f"{name} must be positive, got {value}")
    vocab, spec = _load_vocab(tokenizer)
    chosen = dtype or dtype_for(vocab.vocab_size)
    if chosen not in ("uint16", "uint32"):
        raise GptcoreError(f"dtype must be uint16 or uint32, got {chosen!r}")
    if vocab.vocab_size > np.iinfo(chosen).max + 1:
        raise GptcoreError(f"vocabulary {vocab.name} has {vocab.vocab_size} ids; they do not fit "
                           f"{chosen} (at most {np.iinfo(chosen).max + 1}); use uint32")
    separator = _resolve_eot(vocab, eot)
    pairs = resolve_sources(sources)
    scan = _scan(pairs, seed)
    encoder = make_encoder(vocab)
    n_docs = len(scan.keys)
    if n_docs == 0:
        raise GptcoreError(f"no documents in {', '.join(n for n, _ in pairs)}")
    planned = Manifest(
        tokenizer=TokenizerInfo(spec, vocab.name, vocab.backend, vocabulary_sha256(vocab),
                                vocab.vocab_size, separator),
        dtype=chosen, val_fraction=float(val_fraction), seed=seed,
        split_by="tail" if n_docs == 1 else "document", sources=tuple(scan.sources), splits={},
        encoder=encoder.description)
    out = Path(out)
    recover(out)
    if out.exists() and not (out / MANIFEST).is_file() and not force:
        raise GptcoreError(f"output {out} already exists and is not a token-shard directory "
                           "(use --force to overwrite)")
    if (out / MANIFEST).is_file():
        try:
            existing = read_manifest(out)
        except GptcoreError as e:
            if not force:
                raise GptcoreError(f"{e}; use --force (force=True) to rebuild it") from None
        else:
            if existing.identity() == planned.identity():
                return Manifest(**{**existing.__dict__, "reused": True})
            if not force:
                raise GptcoreError(f"{out} holds shards of {_describe_difference(existing, planned)}; "
                                   "use --force (force=True) to rebuild it")

    with atomic_directory(out, force=True) as tmp:
        writers = _encode_all(scan, pairs, encoder, vocab.vocab_size, tmp, chosen, shard_tokens,
                              chunk_chars, separator, val_fraction, workers, on_progress)
        splits = {name: writer.close() for name, writer in writers.items()}
        _check_splits(splits, out, context_length)
        manifest = Manifest(**{**planned.__dict__, "splits": splits})
        (tmp / MANIFEST).write_text(json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
    return manifest


def _resolve_eot(vocab: tokenkit.Vocabulary, eot: int | str | None) -> int | None:
    if eot is None:
        return None
    if eot == "auto":
        return eot_id(vocab)
    if isinstance(eot, str):
        if eot not in vocab.specials:
            raise GptcoreError(f"end-of-text token {eot!r} is not a special token of {vocab.name}")
        return int(vocab.specials[eot])
    if not 0 <= int(eot) < vocab.vocab_size:
        raise GptcoreError(f"end-of-text id {eot} is outside the vocabulary (size {vocab.vocab_size})")
    return int(eot)


def _check_splits(splits: dict[str, SplitInfo], out: Path, context_length: int | None) -> None:
    for name, info in splits.items():
        if info.tokens == 0:
            raise GptcoreError(f"the {name} split of {out} would be empty (no text)")
        if context_length is not None and info.tokens < context_length + 1:
            raise GptcoreError(f"the {name} split of {out} has {info.tokens} tokens; one sequence of "
                               f"context {context_length} needs {context_length + 1}")


def _encode_all(scan: _Scan, pairs: Sequence[tuple[str, Path]], encoder: _Encoder, vocab_size: int,
                directory: Path | None, dtype: str, shard_tokens: int, chunk_chars: int,
                eot: int | None, val_fraction: float | None, workers: int | None,
                on_progress: Callable[[int], None] | None) -> dict[str, _SplitWriter]:
    """Pass 2: stream every document into its split's writer; ``val_fraction=None``: all train."""
    writers = {s: _SplitWriter(directory, s, dtype, shard_tokens, eot) for s in SPLITS}
    pipe = _Pipeline(encoder, workers or os.cpu_count() or 1, vocab_size)

    def feed(writer: _SplitWriter, name: str, pieces: Iterable[str]) -> None:
        sep = writer.separator()
        if sep is not None:
            pipe.put_ids(writer, sep)
        for chunk in _chunks(pieces, encoder.split_lines, chunk_chars):
            size = len(chunk.encode("utf-8", errors="surrogatepass"))
            writer.bytes += size
            if on_progress is not None:
                on_progress(size)
            pipe.put_text(writer, chunk)

    try:
        for split, name, pieces in _split_stream(scan, pairs, val_fraction):
            feed(writers[split], name, pieces)
        pipe.finish()
    finally:
        pipe.close()
        for writer in writers.values():
            writer.close()
    return writers


def _split_stream(scan: _Scan, pairs: Sequence[tuple[str, Path]], val_fraction: float | None
                  ) -> Iterator[tuple[str, str, Iterator[str]]]:
    """``(split, source name, text pieces)`` per document part, in source order: the one place
    that decides the split (see the module docstring); ``val_fraction=None`` puts all in train.

    A single document yields its train head, then its validation tail: consume each part's
    pieces before asking for the next part.
    """
    n_docs = len(scan.keys)
    in_val = (_val_mask(scan.keys, val_fraction) if val_fraction is not None and n_docs > 1
              else np.zeros(n_docs, dtype=bool))
    for index, (name, pieces) in enumerate(_documents(scan, pairs)):
        if val_fraction is not None and n_docs == 1:
            head, tail = _split_tail(pieces, int((1 - val_fraction) * scan.first_doc_chars))
            yield "train", name, head
            yield "val", name, tail
        else:
            yield ("val" if in_val[index] else "train"), name, pieces


def split_documents(sources: Sequence[str], *, val_fraction: float = 0.1, seed: int = 0
                    ) -> Iterator[tuple[str, str, str]]:
    """``(split, source name, text)`` for every document part, split exactly as :func:`prepare`
    splits them with the same ``val_fraction`` and ``seed``.

    For work that needs the text of one split before any shards exist, such as training a
    vocabulary on the training split only (``gptcore vocab-sweep``). Each part is returned
    whole, so this holds one document in memory at a time.
    """
    _check_fraction(val_fraction)
    pairs = resolve_sources(sources)
    scan = _scan(pairs, seed)
    if not scan.keys:
        raise GptcoreError(f"no documents in {', '.join(n for n, _ in pairs)}")
    for split, name, pieces in _split_stream(scan, pairs, val_fraction):
        yield split, name, "".join(pieces)


def encode_sources(tokenizer: str | os.PathLike[str] | tokenkit.Vocabulary, sources: Sequence[str], *,
                   workers: int | None = None, eot: int | str | None = "auto") -> tuple[np.ndarray, int]:
    """All documents of ``sources`` as one id array in memory (eot-separated) and their UTF-8 bytes.

    For evaluating a model on a small text without preparing shards.
    """
    vocab, _ = _load_vocab(tokenizer)
    pairs = resolve_sources(sources)
    scan = _scan(pairs, 0)
    train = _encode_all(scan, pairs, make_encoder(vocab), vocab.vocab_size, None, "uint32", 1,
                        CHUNK_CHARS, _resolve_eot(vocab, eot), None, workers, None)["train"]
    ids = np.concatenate(train.memory) if train.memory else np.zeros(0, np.uint32)
    return ids.astype(np.int64), train.bytes


# ------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EpochPlan:
    """How a split divides into steps: windows of ``context_length + 1`` tokens at ``stride``."""

    windows: int
    global_batch: int
    steps_per_epoch: int
    tokens_per_step: int

    @property
    def tokens_per_epoch(self) -> int:
        return self.steps_per_epoch * self.tokens_per_step

    def epoch(self, step: int) -> int:
        return step // self.steps_per_epoch

    def steps(self, *, epochs: float | None = None, tokens: int | None = None) -> int:
        """Steps for a budget in epochs or in (input) tokens, rounded up."""
        if (epochs is None) == (tokens is None):
            raise GptcoreError("give exactly one budget: epochs or tokens")
        if epochs is not None:
            return max(1, int(np.ceil(epochs * self.steps_per_epoch)))
        return max(1, -(-int(tokens) // self.tokens_per_step))  # type: ignore[arg-type]


class TokenShards:
    """A prepared directory, opened as read-only memory maps (nothing loaded up front)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        recover(self.path)
        self.manifest = read_manifest(self.path)
        self.dtype = np.dtype(self.manifest.dtype).newbyteorder("<")
        self._maps: dict[str, list[np.memmap]] = {}
        self._offsets: dict[str, np.ndarray] = {}
        for split, info in self.manifest.splits.items():
            maps = []
            for shard in info.shards:
                file = self.path / shard.file
                expected = shard.tokens * self.dtype.itemsize
                if not file.is_file() or file.stat().st_size != expected:
                    have = file.stat().st_size if file.is_file() else "no file"
                    raise GptcoreError(f"shard {file} should hold {expected} bytes ({shard.tokens} "
                                       f"tokens), found {have}; prepare the data again")
                maps.append(np.memmap(file, dtype=self.dtype, mode="r", shape=(shard.tokens,)))
            self._maps[split] = maps
            self._offsets[split] = np.cumsum([0] + [s.tokens for s in info.shards])
        self._perm_cache: tuple[tuple[str, int, int, int], torch.Tensor] | None = None

    def tokens(self, split: str) -> int:
        return int(self._offsets[self._split(split)][-1])

    def _split(self, split: str) -> str:
        if split not in self._maps:
            raise GptcoreError(f"{self.path} has no split {split!r} (has {', '.join(self._maps)})")
        return split

    def read(self, split: str, start: int, length: int) -> np.ndarray:
        """Tokens ``[start, start + length)`` of a split as int64 (may span shard files)."""
        offsets, maps = self._offsets[self._split(split)], self._maps[split]
        if start < 0 or length < 0 or start + length > offsets[-1]:
            raise GptcoreError(f"tokens {start}..{start + length} are outside split {split} "
                               f"({int(offsets[-1])} tokens)")
        out = np.empty(length, dtype=np.int64)
        i, done = int(np.searchsorted(offsets, start, side="right")) - 1, 0
        while done < length:
            lo = start + done - int(offsets[i])
            take = min(length - done, len(maps[i]) - lo)
            out[done:done + take] = maps[i][lo:lo + take]
            done += take
            i += 1
        return out

    def check_vocabulary(self, vocab: tokenkit.Vocabulary) -> None:
        """Refuse a vocabulary other than the one the shards were encoded with."""
        sha = vocabulary_sha256(vocab)
        if sha != self.manifest.tokenizer.sha256:
            raise GptcoreError(f"{self.path} was encoded with vocabulary {self.manifest.tokenizer.name} "
                               f"(sha256 {self.manifest.tokenizer.sha256[:12]}), not {vocab.name} "
                               f"(sha256 {sha[:12]})")

    def plan(self, split: str, *, batch_size: int, context_length: int, world_size: int = 1,
             stride: int | None = None) -> EpochPlan:
        """Windows, steps per epoch (whole global batches only) and tokens per step."""
        if batch_size < 1 or context_length < 1 or world_size < 1:
            raise GptcoreError(f"batch_size ({batch_size}), context_length ({context_length}) and "
                               f"world_size ({world_size}) must be positive")
        stride = stride or context_length
        if stride < 1:
            raise GptcoreError(f"stride must be positive, got {stride}")
        n = self.tokens(split)
        if n < context_length + 1:
            raise GptcoreError(f"split {split} of {self.path} has {n} tokens; one sequence of "
                               f"context {context_length} needs {context_length + 1}")
        windows = (n - context_length - 1) // stride + 1
        global_batch = batch_size * world_size
        if windows < global_batch:
            raise GptcoreError(f"split {split} of {self.path} has {windows} windows of {context_length} "
                               f"tokens, fewer than one global batch of {global_batch}; it needs "
                               f"{(global_batch - 1) * stride + context_length + 1} tokens")
        return EpochPlan(windows, global_batch, windows // global_batch, global_batch * context_length)

    def _permutation(self, split: str, windows: int, seed: int, epoch: int) -> torch.Tensor:
        key = (split, windows, seed, epoch)
        if self._perm_cache is None or self._perm_cache[0] != key:
            perm = torch.randperm(windows, generator=torch.Generator().manual_seed(seed + epoch))
            self._perm_cache = (key, perm)
        return self._perm_cache[1]

    def window_starts(self, split: str, step: int, *, batch_size: int, context_length: int,
                      rank: int = 0, world_size: int = 1, seed: int = 0,
                      order: Literal["sequential", "random"] = "sequential",
                      stride: int | None = None) -> np.ndarray:
        """Start offsets of this rank's rows at ``step`` (a pure function of the arguments).

        ``sequential``: windows at ``stride`` (default: the context, as the textbook), every one
        once per epoch in a permutation seeded by ``seed + epoch``. ``random``: starts drawn
        uniformly, seeded by ``(seed, step)``. Either way the global batch is drawn first and
        rank ``r`` takes rows ``r*batch_size ... (r+1)*batch_size - 1``.
        """
        if step < 0:
            raise GptcoreError(f"step must be >= 0, got {step}")
        if not 0 <= rank < world_size:
            raise GptcoreError(f"rank {rank} is outside world size {world_size}")
        plan = self.plan(split, batch_size=batch_size, context_length=context_length,
                         world_size=world_size, stride=stride)
        if order == "sequential":
            epoch, index = divmod(step, plan.steps_per_epoch)
            perm = self._permutation(split, plan.windows, seed, epoch)
            picked = perm[index * plan.global_batch:(index + 1) * plan.global_batch].numpy()
            starts = picked.astype(np.int64) * (stride or context_length)
        elif order == "random":
            rng = np.random.Generator(np.random.PCG64([seed, step]))
            starts = rng.integers(0, self.tokens(split) - context_length, size=plan.global_batch)
        else:
            raise GptcoreError(f"order must be 'sequential' or 'random', got {order!r}")
        return starts[rank * batch_size:(rank + 1) * batch_size]

    def batch_at(self, split: str, step: int, *, batch_size: int, context_length: int,
                 rank: int = 0, world_size: int = 1, seed: int = 0,
                 order: Literal["sequential", "random"] = "sequential",
                 stride: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs and next-token targets ``[batch_size, context_length]`` for ``(step, rank)``."""
        starts = self.window_starts(split, step, batch_size=batch_size, context_length=context_length,
                                    rank=rank, world_size=world_size, seed=seed, order=order,
                                    stride=stride)
        rows = torch.from_numpy(np.stack([self.read(split, int(s), context_length + 1) for s in starts]))
        return rows[:, :-1], rows[:, 1:]


__all__ = ["EpochPlan", "Manifest", "SourceInfo", "SplitInfo", "ShardInfo", "TokenShards",
           "TokenizerInfo", "dtype_for", "encode_sources", "eot_id", "make_encoder", "prepare",
           "read_manifest", "resolve_sources", "split_documents"]
