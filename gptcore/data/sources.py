"""Corpus sources: resolve names, hash files, stream their text without holding a file in memory.

Plain text files are read here; JSONL and Parquet records (``text_field``) and compressed files
(``.gz``, ``.zst``) stream through tokenkit's corpus reader (:mod:`tokenkit.corpusreader`),
which names the file and record of any bad one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from tokenkit.corpusreader import DEFAULT_TEXT_FIELD, Corpus, CorpusSource, detect_format
from tokenkit.errors import TokenkitError, one_line
from tokenkit.textio import complete_utf8_prefix, expand_sources

from gptcore.errors import GptcoreError

#: Bytes read from a file at a time, and characters handed to one encode task.
BLOCK_BYTES = 1 << 20


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


def sha256_file(path: Path) -> tuple[str, int, int]:
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


def _decode(raw: bytes, name: str, offset: int) -> str:
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise GptcoreError(f"{name} looks binary: NUL byte at byte offset {offset + nul}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise GptcoreError(f"{name} is not valid UTF-8: byte 0x{raw[e.start]:02x} at byte offset "
                           f"{offset + e.start}") from None


def stream_text(name: str, path: Path) -> Iterator[str]:
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
            cut = complete_utf8_prefix(data)
            text, carry = _decode(data[:cut], name, offset), data[cut:]
            offset += cut
            if text:
                yield text


def source_kind(path: Path) -> tuple[str, str | None]:
    """``(format, compression)`` of a file by its name: ``text``, ``jsonl`` or ``parquet``."""
    return detect_format(path.name)


def is_records(path: Path) -> bool:
    """Whether each record of the file (a JSONL line, a Parquet row) is one document."""
    return source_kind(path)[0] != "text"


def _corpus(name: str, path: Path, text_field: str) -> Corpus:
    fmt, compression = source_kind(path)
    return Corpus([CorpusSource(name, path, fmt, compression, path.stat().st_size)], text_field=text_field)


def stream_records(name: str, path: Path, text_field: str = DEFAULT_TEXT_FIELD) -> Iterator[str]:
    """One document per record (JSONL line, Parquet row), its text in ``text_field``; a blank
    JSONL line is no record. A bad record is one line naming the file and record number."""
    try:
        for _, _, pieces in _corpus(name, path, text_field).documents():
            yield "".join(pieces)
    except TokenkitError as e:  # the reader's one line, as gptcore's error
        raise GptcoreError(one_line(e)) from None


def stream_compressed_text(name: str, path: Path) -> Iterator[str]:
    """A ``.gz`` / ``.zst`` text file's text, decompressed as it is read."""
    try:
        yield from _corpus(name, path, DEFAULT_TEXT_FIELD).texts()
    except TokenkitError as e:
        raise GptcoreError(one_line(e)) from None


def stream_document(name: str, path: Path) -> Iterator[str]:
    """A text file (one document), plain or compressed."""
    if source_kind(path)[1] is None:
        return stream_text(name, path)
    return stream_compressed_text(name, path)
