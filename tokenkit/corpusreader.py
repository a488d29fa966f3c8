"""Stream corpora as they come: text, JSONL and Parquet files, plain or gzip/zstd-compressed.

A corpus is read once, front to back, in blocks: memory stays bounded by the longest record
(a JSONL line, a Parquet row group, a text line) however big the files are. Each piece of text
keeps where it came from (file, record number), and the reader counts the bytes it has taken
from disk so a caller can show progress and an ETA against :attr:`Corpus.total_bytes`.

Formats are chosen by file name: ``*.jsonl`` / ``*.ndjson`` (one JSON object per line, text in
``text_field``), ``*.parquet`` (text in the column ``text_field``), anything else is UTF-8 text
(one document per file). ``.gz`` / ``.zst`` after any of the line formats decompresses on the
fly; Parquet compresses internally. Directories are walked recursively in sorted order,
hidden files skipped. A bad record raises one :class:`TokenkitError` line naming the file and
the record (1-based line of a JSONL file, 1-based row of a Parquet file).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from tokenkit.errors import TokenkitError
from tokenkit.textio import ERRORS, Document, complete_utf8_prefix, expand_sources, read_text_source

DEFAULT_TEXT_FIELD = "text"
FORMATS = ("text", "jsonl", "parquet")
COMPRESSIONS = ("gzip", "zstd")
BLOCK_BYTES = 1 << 20
#: A text line longer than this many characters is handed on in pieces cut before a space
#: (byte-level pre-tokens never start inside a run of spaces at such a cut), so one giant line
#: does not have to sit whole in memory.
MAX_PIECE_CHARS = 1 << 24
PARQUET_BATCH_ROWS = 1024
_REPORT_EVERY = 1 << 18  # bytes between progress callbacks
_GZIP_MAX_RATIO = 1100  # deflate expands at most ~1032x
_ZSTD_MAX_RATIO = 1 << 15  # a 4-byte RLE block expands to at most 128 KiB
_ZSTD_STEP = 1 << 13  # compressed bytes per decompression step
_SURROGATE = re.compile("[\ud800-\udfff]")
_JSONL_SUFFIXES = (".jsonl", ".ndjson")
_GZIP_SUFFIXES = (".gz", ".gzip")
_ZSTD_SUFFIXES = (".zst", ".zstd")

Progress = Callable[[int, "int | None"], None]


@dataclass(frozen=True)
class CorpusSource:
    """One input file (or stdin) and how to read it."""

    name: str
    path: Path | None  # None: stdin
    format: str  # one of FORMATS
    compression: str | None  # one of COMPRESSIONS or None
    size: int | None  # bytes on disk; None for stdin

    @property
    def kind(self) -> str:
        """``jsonl.zst``-style label: the format plus its compression."""
        suffix = {"gzip": ".gz", "zstd": ".zst", None: ""}[self.compression]
        return f"{self.format}{suffix}"


@dataclass
class SourceStats:
    """What was read from one source: filled in while it streams, complete at its end."""

    name: str
    kind: str
    sha256: str = ""  # of the bytes on disk (compressed files: the compressed bytes)
    bytes: int = 0  # on disk
    text_bytes: int = 0  # UTF-8 bytes of the text handed on
    characters: int = 0
    lines: int = 0
    documents: int = 0

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "format": self.kind, "sha256": self.sha256, "bytes": self.bytes,
                "text_bytes": self.text_bytes, "characters": self.characters, "lines": self.lines,
                "documents": self.documents}


@dataclass(frozen=True)
class Piece:
    """Text from one document; ``end`` marks the document's last piece.

    A JSONL or Parquet record is one piece; a text file is one document handed on in pieces
    that end at line breaks (or, inside a line longer than :data:`MAX_PIECE_CHARS`, before a
    space).
    """

    text: str
    source: str
    record: int  # 1-based: JSONL line, Parquet row; 1 for a text file
    end: bool


def detect_format(name: str) -> tuple[str, str | None]:
    """(format, compression) from a file name.

    >>> detect_format("data/part-0001.jsonl.zst")
    ('jsonl', 'zstd')
    >>> detect_format("books.txt.gz"), detect_format("rows.parquet"), detect_format("README")
    (('text', 'gzip'), ('parquet', None), ('text', None))
    """
    lower = name.lower()
    compression = None
    for suffixes, kind in ((_GZIP_SUFFIXES, "gzip"), (_ZSTD_SUFFIXES, "zstd")):
        for suffix in suffixes:
            if lower.endswith(suffix):
                compression, lower = kind, lower[: -len(suffix)]
                break
    if lower.endswith(_JSONL_SUFFIXES):
        return "jsonl", compression
    if lower.endswith(".parquet"):
        if compression:
            raise TokenkitError(f"{name}: Parquet compresses internally; give the .parquet file "
                                "itself, not a compressed copy")
        return "parquet", None
    return "text", compression


def expand_corpus(specs: Iterable[str]) -> list[CorpusSource]:
    """Files, directories (recursively, sorted), corpus names and ``-`` as sources to stream."""
    sources = []
    for name, path in expand_sources(specs):
        if path is None:
            sources.append(CorpusSource("-", None, "text", None, None))
            continue
        fmt, compression = detect_format(path.name)
        try:
            size = path.stat().st_size
        except OSError as e:
            raise TokenkitError(f"cannot read {name}: {e.strerror or e}") from None
        sources.append(CorpusSource(name, path, fmt, compression, size))
    return sources


def check_text_field(text_field: str) -> str:
    if not isinstance(text_field, str) or not text_field:
        raise TokenkitError(f"--text-field must be a non-empty field name, got {text_field!r}")
    try:
        text_field.encode("utf-8")
    except UnicodeEncodeError:
        raise TokenkitError("--text-field holds a lone surrogate: not valid Unicode text") from None
    return text_field


class Corpus:
    """Sources to stream, with a running count of the bytes read from disk.

    Iterating :meth:`pieces` (or :meth:`texts`, :meth:`documents`) reads every source once, in
    order; a new iteration reads them again from the start.
    """

    def __init__(self, sources: Iterable[CorpusSource], *, text_field: str = DEFAULT_TEXT_FIELD,
                 errors: str = "strict", on_progress: Progress | None = None) -> None:
        if errors not in ERRORS:
            raise TokenkitError(f"--errors must be one of {', '.join(ERRORS)}, got {errors!r}")
        self.sources = tuple(sources)
        self.text_field = check_text_field(text_field)
        self.errors = errors
        self.on_progress = on_progress
        self.stats: list[SourceStats] = []
        self._done_bytes = 0  # bytes of the sources already finished
        self._current: _Counting | None = None
        self._reported = 0
        if any(s.format == "parquet" for s in self.sources):
            _pyarrow()  # a missing package is one line now, not after the first files

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.sources]

    @property
    def total_bytes(self) -> int | None:
        """Bytes on disk of every source (what :attr:`bytes_read` reaches); None with stdin."""
        sizes = [s.size for s in self.sources]
        return None if any(s is None for s in sizes) else sum(sizes)  # type: ignore[arg-type]

    @property
    def bytes_read(self) -> int:
        """Bytes taken from disk so far (compressed bytes for compressed files)."""
        return self._done_bytes + (self._current.count if self._current else 0)

    def max_text_bytes(self) -> int | None:
        """An upper bound on the UTF-8 bytes of text the sources can hold (None: unknown).

        Loose for compressed files (their worst-case expansion), exact-ish otherwise; it lets a
        trainer cap an absurd vocabulary size before it allocates for it.
        """
        bound = 0
        for s in self.sources:
            if s.size is None:
                return None
            if s.format == "parquet":
                part = _parquet_text_bound(s)
            elif s.compression == "gzip":
                part = s.size * _GZIP_MAX_RATIO + _GZIP_MAX_RATIO
            elif s.compression == "zstd":
                part = s.size * _ZSTD_MAX_RATIO + (1 << 17)
            else:
                part = s.size
            bound += part
        return bound

    @property
    def tight_bound(self) -> bool:
        """Whether :meth:`max_text_bytes` is close to the truth (only plain text and JSONL
        files): a compressed or Parquet file's bound is its worst case, far above real text."""
        return all(s.size is not None and s.compression is None and s.format != "parquet"
                   for s in self.sources)

    def describe(self) -> list[dict[str, object]]:
        """Each source read so far: name, format, sha256 and sizes (complete after a full read)."""
        return [s.describe() for s in self.stats]

    def texts(self) -> Iterator[str]:
        """Just the text, in order (what a trainer consumes)."""
        for piece in self.pieces():
            yield piece.text

    def documents(self) -> Iterator[tuple[str, int, Iterator[str]]]:
        """(source name, record, its pieces) per document, streamed: a document's pieces are
        read as they are asked for, and skipped if the caller moves on to the next one."""
        stream = self.pieces()

        def rest(first: Piece) -> Iterator[str]:
            yield first.text
            last = first
            while not last.end:
                last = next(stream)
                yield last.text

        for first in stream:
            doc = rest(first)
            yield first.source, first.record, doc
            for _ in doc:  # whatever the caller left of this document
                pass

    def pieces(self) -> Iterator[Piece]:
        """Every piece of text of every source, streamed."""
        self.stats = []
        self._done_bytes = 0
        self._reported = 0
        for source in self.sources:
            stats = SourceStats(source.name, source.kind)
            self.stats.append(stats)
            if source.format == "parquet":
                yield from self._parquet(source, stats)
            else:
                yield from self._stream(source, stats)
            self._done_bytes += stats.bytes
            self._report(force=True)

    # -- helpers -----------------------------------------------------------------------------
    def _report(self, force: bool = False) -> None:
        if self.on_progress is None:
            return
        done = self.bytes_read
        if force or done - self._reported >= _REPORT_EVERY:
            self._reported = done
            self.on_progress(done, self.total_bytes)

    def _count(self, stats: SourceStats, text: str, n_bytes: int) -> None:
        stats.text_bytes += n_bytes
        stats.characters += len(text)
        stats.lines += text.count("\n")

    def _stream(self, source: CorpusSource, stats: SourceStats) -> Iterator[Piece]:
        """Text and JSONL sources: a counted, hashed byte stream, decompressed on the fly."""
        if source.path is None:
            raw: BinaryIO = sys.stdin.buffer
        else:
            try:
                raw = open(source.path, "rb")  # noqa: SIM115 - closed in finally
            except OSError as e:
                raise TokenkitError(f"cannot read {source.name}: {e.strerror or e}") from None
        counting = _Counting(raw)
        self._current = counting
        try:
            stream = _decompressed(counting, source)
            records = _text_pieces(stream, source, self.errors) if source.format == "text" else \
                _jsonl_pieces(stream, source, self.text_field, self.errors)
            try:
                for piece, n_bytes in records:
                    self._count(stats, piece.text, n_bytes)
                    if piece.end:
                        stats.documents += 1
                        if piece.text and not piece.text.endswith("\n"):
                            stats.lines += 1
                    self._report()
                    yield piece
            except (OSError, EOFError, zlib.error) as e:
                raise _compression_error(source, e) from None
            except Exception as e:
                if type(e).__name__ == "ZstdError":
                    raise _compression_error(source, e) from None
                raise
            counting.drain()  # hash what the decompressor left (a trailer, padding)
        finally:
            self._current = None
            if source.path is not None:
                raw.close()
        stats.sha256 = counting.digest.hexdigest()
        stats.bytes = counting.count

    def _parquet(self, source: CorpusSource, stats: SourceStats) -> Iterator[Piece]:
        pq, pa = _pyarrow()
        assert source.path is not None
        try:
            pf = pq.ParquetFile(source.path)
        except (OSError, ValueError, pa.ArrowException) as e:
            raise TokenkitError(f"{source.name} is not a readable Parquet file: "
                                f"{_first_line(e)}") from None
        schema = pf.schema_arrow
        index = schema.get_field_index(self.text_field)
        if index < 0:
            shown = ", ".join(schema.names[:20]) + (", …" if len(schema.names) > 20 else "")
            raise TokenkitError(f"{source.name} has no column {self.text_field!r} (columns: "
                                f"{shown}); choose one with --text-field")
        kind = schema.field(index).type
        is_text = pa.types.is_string(kind) or pa.types.is_large_string(kind) or \
            getattr(pa.types, "is_string_view", lambda _: False)(kind)
        is_binary = pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
        if not (is_text or is_binary):
            raise TokenkitError(f"{source.name} column {self.text_field!r} holds {kind}, not text")
        counting = _Counting(None)
        self._current = counting
        row = 0
        try:
            for group in range(pf.num_row_groups):
                batches = pf.iter_batches(batch_size=PARQUET_BATCH_ROWS, row_groups=[group],
                                          columns=[self.text_field])
                while True:
                    try:
                        batch = next(batches)
                    except StopIteration:
                        break
                    except (OSError, ValueError, pa.ArrowException) as e:
                        raise TokenkitError(f"{source.name} row group {group + 1} cannot be read: "
                                            f"{_first_line(e)}") from None
                    column = batch.column(0)
                    for i, text in enumerate(_arrow_texts(column, source, row, self.errors, pa)):
                        n_bytes = _checked_bytes(text, source, f"row {row + i + 1}",
                                                 self.text_field, self.errors)
                        if isinstance(n_bytes, tuple):
                            text, n_bytes = n_bytes
                        piece = Piece(text, source.name, row + i + 1, True)
                        self._count(stats, text, n_bytes)
                        stats.documents += 1
                        if text and not text.endswith("\n"):
                            stats.lines += 1
                        yield piece
                    row += len(column)
                    self._report()
                counting.count += _row_group_bytes(pf, group, self.text_field)
        finally:
            self._current = None
        stats.bytes = source.size or 0
        stats.sha256 = file_sha256(source.path)


def open_corpus(specs: Iterable[str], *, text_field: str = DEFAULT_TEXT_FIELD,
                errors: str = "strict", on_progress: Progress | None = None) -> Corpus:
    """The corpus named by ``specs`` (files, directories, corpus names, ``-``), ready to stream.

    ``on_progress(bytes_read, total_bytes)`` is called as it is read (every ~256 KiB and after
    each source).
    """
    return Corpus(expand_corpus(specs), text_field=text_field, errors=errors,
                  on_progress=on_progress)


def read_corpus_text(spec: str, *, text_field: str = DEFAULT_TEXT_FIELD,
                     errors: str = "strict") -> Document:
    """One source as one text (for measuring it whole): a plain text file or corpus name as
    :func:`tokenkit.textio.read_text_source` reads it, or the documents of a JSONL / Parquet /
    compressed file joined by newlines."""
    check_text_field(text_field)
    sources = expand_corpus([spec])
    if len(sources) != 1:
        raise TokenkitError(f"{spec} names {len(sources)} files; give one text file")
    source = sources[0]
    if source.format == "text" and source.compression is None:
        return read_text_source(spec, errors=errors)
    corpus = Corpus(sources, text_field=text_field, errors=errors)
    parts: list[str] = []
    for source_name, _record, pieces in corpus.documents():
        del source_name
        if parts:
            parts.append("\n")
        parts.extend(pieces)
    stats = corpus.stats[0]
    return Document(name=spec, text="".join(parts), sha256=stats.sha256, n_bytes=stats.bytes)


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(BLOCK_BYTES):
            digest.update(block)
    return digest.hexdigest()


# -- byte streams ------------------------------------------------------------------------------
class _Counting(io.RawIOBase):
    """A raw reader that counts and hashes the bytes taken from ``raw``."""

    def __init__(self, raw: BinaryIO | None) -> None:
        self.raw = raw
        self.count = 0
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        assert self.raw is not None
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        self.digest.update(data)
        return n

    def drain(self) -> None:
        assert self.raw is not None
        while block := self.raw.read(BLOCK_BYTES):
            self.count += len(block)
            self.digest.update(block)


def _decompressed(counting: _Counting, source: CorpusSource) -> BinaryIO:
    if source.compression == "gzip":
        return gzip.GzipFile(fileobj=io.BufferedReader(counting, BLOCK_BYTES), mode="rb")  # type: ignore[return-value]
    if source.compression == "zstd":
        return io.BufferedReader(_ZstdReader(counting, source), BLOCK_BYTES)  # type: ignore[return-value]
    return io.BufferedReader(counting, BLOCK_BYTES)  # type: ignore[return-value]


class _ZstdReader(io.RawIOBase):
    """zstd frames decompressed in small input steps (output per step stays bounded even for a
    crafted file), across concatenated frames; a file that ends inside a frame is an error
    (zstandard's own stream reader ends quietly there)."""

    def __init__(self, raw: _Counting, source: CorpusSource) -> None:
        try:
            import zstandard  # heavy: the C extension loads only for .zst inputs
        except ImportError:  # pragma: no cover - a dependency of tokenkit
            raise TokenkitError(f"{source.name}: reading .zst needs the zstandard package "
                                "(pip install zstandard)") from None
        self.raw, self.source = raw, source
        self.dctx = zstandard.ZstdDecompressor()
        self.frame = self.dctx.decompressobj()
        self.in_frame = False
        self.pending = b""
        self.out = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.out:
            chunk = self.pending or self.raw.read(_ZSTD_STEP)
            self.pending = b""
            if not chunk:
                if self.in_frame:
                    raise TokenkitError(f"{self.source.name} is not valid zstd data: the file ends "
                                        "inside a frame (truncated?)")
                return 0
            self.out = memoryview(self.frame.decompress(chunk))
            self.in_frame = True
            if self.frame.eof:
                self.pending = self.frame.unused_data
                self.frame = self.dctx.decompressobj()
                self.in_frame = False
        n = min(len(buffer), len(self.out))
        buffer[:n] = self.out[:n]
        self.out = self.out[n:]
        return n


def _compression_error(source: CorpusSource, e: BaseException) -> TokenkitError:
    what = {"gzip": "gzip", "zstd": "zstd"}.get(source.compression or "", "")
    if what:
        return TokenkitError(f"{source.name} is not valid {what} data: {_first_line(e) or type(e).__name__}")
    return TokenkitError(f"cannot read {source.name}: {_first_line(e)}")


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


# -- text files --------------------------------------------------------------------------------
def _decode_block(raw: bytes, source: CorpusSource, offset: int, errors: str) -> str:
    where = "byte offset" if source.compression is None else "decompressed byte offset"
    if errors == "replace":
        return raw.decode("utf-8", errors="replace")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise TokenkitError(f"{source.name} looks binary: NUL byte at {where} {offset + nul} "
                            "(use --errors replace to read it anyway)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TokenkitError(f"{source.name} is not valid UTF-8: byte 0x{raw[e.start]:02x} at {where} "
                            f"{offset + e.start} (use --errors replace to replace bad bytes)") from None


def _text_pieces(stream: BinaryIO, source: CorpusSource,
                 errors: str) -> Iterator[tuple[Piece, int]]:
    """A text file as one document in pieces that end at line breaks; (piece, its UTF-8 bytes)."""
    previous: str | None = None  # held back one step so that the last piece is marked ``end``
    for text in _text_chunks(stream, source, errors):
        if previous is not None:
            yield Piece(previous, source.name, 1, False), len(previous.encode("utf-8"))
        previous = text
    if previous is not None:
        yield Piece(previous, source.name, 1, True), len(previous.encode("utf-8"))


def _text_chunks(stream: BinaryIO, source: CorpusSource, errors: str) -> Iterator[str]:
    """Decoded text in blocks cut after a line break (or before a space in a giant line)."""
    offset, carry = 0, b""
    held: list[str] = []  # the current line's text, not yet handed on
    held_chars = 0
    while block := stream.read(BLOCK_BYTES):
        data = carry + block
        cut = complete_utf8_prefix(data)
        text, carry = _decode_block(data[:cut], source, offset, errors), data[cut:]
        offset += cut
        newline = text.rfind("\n")
        if newline >= 0:
            held.append(text[: newline + 1])
            yield "".join(held)
            rest = text[newline + 1:]
            held, held_chars = ([rest], len(rest)) if rest else ([], 0)
            continue
        held.append(text)
        held_chars += len(text)
        if held_chars > MAX_PIECE_CHARS:
            line = "".join(held)
            space = line.rfind(" ", 1)
            if space > 0:
                yield line[:space]
                line = line[space:]
            held, held_chars = [line], len(line)
    if carry:  # a character cut off at the end of the file
        held.append(_decode_block(carry, source, offset, errors))
    last = "".join(held)
    if last:
        yield last


# -- JSONL -------------------------------------------------------------------------------------
def _jsonl_pieces(stream: BinaryIO, source: CorpusSource, text_field: str,
                  errors: str) -> Iterator[tuple[Piece, int]]:
    """One piece per non-blank line: a JSON object whose ``text_field`` is a string."""
    number = 0
    for raw in stream:
        number += 1
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a byte-order mark some tools write
            raw = raw[3:]
        if not raw.strip():
            continue
        where = f"line {number}"
        try:
            line = raw.decode("utf-8", errors=errors)
        except UnicodeDecodeError as e:
            raise TokenkitError(f"{source.name} {where} is not valid UTF-8: byte 0x{raw[e.start]:02x} "
                                f"at byte {e.start} of the line (use --errors replace to replace bad "
                                "bytes)") from None
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise TokenkitError(f"{source.name} {where} is not JSON: {e.msg} at column {e.colno}") from None
        except (ValueError, RecursionError) as e:  # digit limits, nesting too deep
            raise TokenkitError(f"{source.name} {where} is not usable JSON: {_first_line(e)}") from None
        if not isinstance(record, dict):
            raise TokenkitError(f"{source.name} {where}: expected a JSON object with a string "
                                f"{text_field!r} field, got {type(record).__name__}")
        if text_field not in record:
            keys = [str(k) for k in list(record)[:10]]
            shown = ", ".join(keys) + (", …" if len(record) > 10 else "") if keys else "none"
            raise TokenkitError(f"{source.name} {where} has no {text_field!r} field (fields: {shown}); "
                                "choose one with --text-field")
        text = record[text_field]
        if not isinstance(text, str):
            raise TokenkitError(f"{source.name} {where}: field {text_field!r} is "
                                f"{'null' if text is None else type(text).__name__}, not a string")
        n_bytes = _checked_bytes(text, source, where, text_field, errors)
        if isinstance(n_bytes, tuple):
            text, n_bytes = n_bytes
        yield Piece(text, source.name, number, True), n_bytes


def _checked_bytes(text: str, source: CorpusSource, where: str, text_field: str,
                   errors: str) -> int | tuple[str, int]:
    """The UTF-8 size of ``text``; a lone surrogate (from a ``\\ud800`` escape) is an error, or
    with ``errors="replace"`` becomes U+FFFD and the fixed text comes back too."""
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError as e:
        if errors == "replace":
            fixed = _SURROGATE.sub("\ufffd", text)
            return fixed, len(fixed.encode("utf-8"))
        raise TokenkitError(f"{source.name} {where}: field {text_field!r} holds a lone surrogate "
                            f"U+{ord(text[e.start]):04X} at character {e.start}: not valid Unicode "
                            "text (use --errors replace to replace it)") from None


# -- Parquet -----------------------------------------------------------------------------------
def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa  # heavy: ~100 ms, only for .parquet inputs
        import pyarrow.parquet as pq  # heavy: see above
    except ImportError:  # pragma: no cover - a dependency of tokenkit
        raise TokenkitError("reading .parquet needs the pyarrow package (pip install pyarrow)") from None
    return pq, pa


def _arrow_texts(column: Any, source: CorpusSource, row: int, errors: str, pa: Any) -> list[str]:
    """A batch's values as str; nulls and invalid UTF-8 name their (1-based) row."""
    if column.null_count:
        first = column.is_null().to_pylist().index(True)
        raise TokenkitError(f"{source.name} row {row + first + 1}: column is null, not text")
    if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type) or errors == "replace":
        values = column.cast(pa.large_binary()).to_pylist()
        return [_decode_value(v, source, row + i + 1, errors) for i, v in enumerate(values)]
    try:
        return column.to_pylist()
    except UnicodeDecodeError:
        values = column.cast(pa.large_binary()).to_pylist()
        return [_decode_value(v, source, row + i + 1, errors) for i, v in enumerate(values)]


def _decode_value(value: bytes, source: CorpusSource, row: int, errors: str) -> str:
    try:
        return value.decode("utf-8", errors=errors)
    except UnicodeDecodeError as e:
        raise TokenkitError(f"{source.name} row {row} is not valid UTF-8: byte 0x{value[e.start]:02x} "
                            f"at byte {e.start} of the value (use --errors replace to replace bad "
                            "bytes)") from None


def _row_group_bytes(pf: Any, group: int, name: str) -> int:
    meta = pf.metadata.row_group(group)
    for i in range(meta.num_columns):
        column = meta.column(i)
        if column.path_in_schema == name:
            return int(column.total_compressed_size)
    return 0


def _parquet_text_bound(source: CorpusSource) -> int:
    """Text bytes a Parquet file can hold: no value is longer than its uncompressed column chunk
    (dictionary pages included), so rows x chunk size per row group bounds the text."""
    pq, pa = _pyarrow()
    assert source.path is not None
    try:
        meta = pq.ParquetFile(source.path).metadata
    except (OSError, ValueError, pa.ArrowException):
        return 0  # reading it will say what is wrong
    bound = 0
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        bound += rg.num_rows * sum(int(rg.column(i).total_uncompressed_size) for i in range(rg.num_columns))
    return bound
