"""Read training and measurement text: files, directories, stdin or corpus names.

Text must be valid UTF-8; a bad byte is reported with its file and byte offset unless the
caller opts in to ``errors="replace"``. Every document keeps the sha256 of its raw bytes so
a trained vocabulary records exactly what it was trained on.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from tokenkit.corpora import is_corpus_name, known_corpora, resolve_corpus
from tokenkit.errors import TokenkitError

ERRORS = ("strict", "replace")


@dataclass(frozen=True)
class Document:
    """One input text and where it came from."""

    name: str
    text: str
    sha256: str
    n_bytes: int

    @property
    def n_chars(self) -> int:
        return len(self.text)

    @property
    def n_lines(self) -> int:
        return self.text.count("\n") + (0 if not self.text or self.text.endswith("\n") else 1)

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "sha256": self.sha256, "bytes": self.n_bytes,
                "characters": self.n_chars, "lines": self.n_lines}


def check_unicode(text: str, what: str) -> str:
    """``text`` unchanged, or a one-line error naming ``what`` when it holds a lone surrogate
    (a string no UTF-8 encoder can write: it can only come from a broken command line)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise TokenkitError(f"{what} holds a lone surrogate U+{ord(text[e.start]):04X} at character "
                            f"{e.start}: not valid Unicode text") from None
    return text


def complete_utf8_prefix(data: bytes) -> int:
    """Length of the longest prefix of ``data`` that does not end inside a UTF-8 character
    (where a reader that decodes block by block may cut)."""
    for back in range(1, min(4, len(data)) + 1):
        lead = data[-back]
        if lead & 0xC0 == 0x80:
            continue
        need = 1 if lead < 0x80 else 2 if lead >> 5 == 0b110 else 3 if lead >> 4 == 0b1110 else \
            4 if lead >> 3 == 0b11110 else 1
        return len(data) - back if need > back else len(data)
    return len(data)


def decode_utf8(raw: bytes, name: str, errors: str = "strict") -> str:
    """Decode ``raw`` as UTF-8, or say which file and byte offset is at fault."""
    if errors not in ERRORS:
        raise TokenkitError(f"--errors must be one of {', '.join(ERRORS)}, got {errors!r}")
    if errors == "strict":
        nul = raw.find(b"\x00")
        if nul >= 0:
            raise TokenkitError(f"{name} looks binary: NUL byte at byte offset {nul} "
                                "(use --errors replace to read it anyway)")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise TokenkitError(f"{name} is not valid UTF-8: byte 0x{raw[e.start]:02x} at byte "
                                f"offset {e.start} (use --errors replace to replace bad bytes)") from e
    return raw.decode("utf-8", errors="replace")


def document_from_bytes(raw: bytes, name: str, errors: str = "strict") -> Document:
    return Document(name=name, text=decode_utf8(raw, name, errors),
                    sha256=hashlib.sha256(raw).hexdigest(), n_bytes=len(raw))


def expand_sources(specs: Iterable[str]) -> list[tuple[str, Path | None]]:
    """Turn file / directory / corpus-name / ``-`` arguments into (name, path) pairs.

    A path that exists wins over a corpus of the same name; ``-`` (stdin) has no path.
    """
    out: list[tuple[str, Path | None]] = []
    for spec in specs:
        if spec == "-":
            out.append(("-", None))
            continue
        path = Path(spec)
        try:
            path.stat()
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as e:  # a name too long, a NUL byte, a file as a directory
            shown = spec if len(spec) <= 120 else f"{spec[:120]}… ({len(spec)} characters)"
            raise TokenkitError(f"cannot read {shown}: {getattr(e, 'strerror', None) or e}") from None
        if path.is_dir():
            files = sorted(p for p in path.rglob("*")
                           if p.is_file() and not any(part.startswith(".") for part in
                                                      p.relative_to(path).parts))
            if not files:
                raise TokenkitError(f"directory {spec} holds no files")
            out.extend((str(p), p) for p in files)
        elif path.is_file():
            out.append((spec, path))
        elif path.exists():
            raise TokenkitError(f"{spec} is not a regular file")
        elif is_corpus_name(spec):
            resolved = resolve_corpus(spec)
            if resolved.is_dir():
                raise TokenkitError(f"corpus {spec} is a vocabulary folder, not a text")
            out.append((spec, resolved))
        else:
            raise TokenkitError(f"file {spec} not found (and it is not a known corpus: "
                                f"{', '.join(known_corpora())})")
    return out


def read_paths(pairs: Iterable[tuple[str, Path | None]], *, errors: str = "strict",
               on_bytes: Callable[[int], None] | None = None) -> list[Document]:
    """Read every expanded source fully (validated); ``on_bytes`` reports progress in bytes."""
    docs = []
    for name, path in pairs:
        if path is None:
            raw = sys.stdin.buffer.read()
        else:
            try:
                raw = path.read_bytes()
            except OSError as e:
                raise TokenkitError(f"cannot read {name}: {e.strerror or e}") from e
        docs.append(document_from_bytes(raw, name, errors))
        if on_bytes:
            on_bytes(len(raw))
    return docs


def read_sources(specs: Iterable[str], *, errors: str = "strict") -> list[Document]:
    """Read files, directories, corpus names or ``-`` into validated documents."""
    return read_paths(expand_sources(specs), errors=errors)


def read_text_source(spec: str, errors: str = "strict") -> Document:
    """One text from a file path or a corpus name."""
    docs = read_sources([spec], errors=errors)
    if len(docs) != 1:
        raise TokenkitError(f"{spec} names {len(docs)} files; give one text file")
    return docs[0]
