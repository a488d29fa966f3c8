"""``prepare``: scan the sources, split train/val by content hash, encode and write the shards."""

from __future__ import annotations

import hashlib
import json
import os
import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import tokenkit
from tokenkit.atomic import atomic_directory, recover
from tokenkit.corpusreader import DEFAULT_TEXT_FIELD

from gptcore.data.encoding import CHUNK_CHARS, Encoder, chunks, dtype_for, eot_id, make_encoder
from gptcore.data.fingerprint import vocabulary_sha256
from gptcore.data.manifest import FORMAT as MANIFEST_FORMAT
from gptcore.data.manifest import (
    MANIFEST,
    SPLITS,
    Manifest,
    SourceInfo,
    SplitInfo,
    TokenizerInfo,
    read_manifest,
)
from gptcore.data.ranks import (
    Share,
    join_parts,
    open_parts,
    rank_directory,
    remove_parts,
    together,
    write_part_info,
)
from gptcore.data.sources import (
    is_records,
    resolve_sources,
    sha256_file,
    source_kind,
    stream_document,
    stream_records,
)
from gptcore.data.vocab import load_vocabulary
from gptcore.data.writer import SHARD_TOKENS, Pipeline, SplitWriter
from gptcore.errors import GptcoreError
from gptcore.ownership import Kind, check_output


@dataclass
class _Scan:
    sources: list[SourceInfo]
    keys: array  # one uint64 per document, in order
    first_doc_chars: int


def _doc_key(seed: int, content_sha256: bytes) -> int:
    h = hashlib.blake2b(seed.to_bytes(8, "little", signed=True) + content_sha256, digest_size=8)
    return int.from_bytes(h.digest(), "little")


def _scan(pairs: Sequence[tuple[str, Path]], seed: int, text_field: str = DEFAULT_TEXT_FIELD) -> _Scan:
    """Pass 1: hash and measure every source; a content key per document for the split."""
    sources: list[SourceInfo] = []
    keys = array("Q")
    first_chars = -1
    for name, path in pairs:
        try:
            sha, size, chars = sha256_file(path)
            fmt, compression = source_kind(path)
            kind = fmt + {"gzip": ".gz", "zstd": ".zst", None: ""}[compression]
            if is_records(path):
                n = 0
                for text in stream_records(name, path, text_field):
                    data = text.encode("utf-8", errors="surrogatepass")
                    keys.append(_doc_key(seed, hashlib.sha256(data).digest()))
                    if first_chars < 0:
                        first_chars = len(text)
                    n += 1
                field = None if text_field == DEFAULT_TEXT_FIELD else text_field
                sources.append(SourceInfo(name, str(path), sha, size, n, kind, field))
            else:
                keys.append(_doc_key(seed, bytes.fromhex(sha)))
                if first_chars < 0:
                    first_chars = chars if compression is None else \
                        sum(len(t) for t in stream_document(name, path))
                sources.append(SourceInfo(name, str(path), sha, size, 1, kind))
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
        if is_records(path):
            for text in stream_records(name, path, info.text_field or DEFAULT_TEXT_FIELD):
                yield name, iter((text,))
        else:
            yield name, stream_document(name, path)


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


_SHARD_FILE = re.compile(r"^(train|val)-\d{5}\.bin$")


def _describe_shards(path: Path) -> str | None:
    """Token shards of ours: a ``manifest.json`` with the shard format marker."""
    try:
        data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        return None
    return "token shards"


#: A shard directory as :func:`gptcore.ownership.check_output` recognises it.
SHARDS_KIND = Kind("token shards", _describe_shards,
                   lambda path: [MANIFEST] + [e.name for e in path.iterdir() if _SHARD_FILE.match(e.name)])


def prepare(tokenizer: str | os.PathLike[str] | tokenkit.Vocabulary, sources: Sequence[str],
            out: str | os.PathLike[str], *, val_fraction: float = 0.1, seed: int = 0,
            context_length: int | None = None, force: bool = False, workers: int | None = None,
            dtype: str | None = None, shard_tokens: int = SHARD_TOKENS, chunk_chars: int = CHUNK_CHARS,
            eot: int | str | None = "auto", on_progress: Callable[[int], None] | None = None,
            share: Share = Share(), text_field: str = DEFAULT_TEXT_FIELD) -> Manifest:
    """Encode ``sources`` with ``tokenizer`` into token shards at ``out``; return the manifest.

    ``context_length``, when given, makes a split too short for one training sequence an error
    before anything is written. ``eot="auto"`` separates documents with the vocabulary's
    end-of-text id (:func:`eot_id`); an int or a special-token string chooses one, None none.
    An existing, matching ``out`` is reused (``manifest.reused``); a stale one is refused
    unless ``force``. ``on_progress(n_bytes)`` is called as text is read. ``share`` splits the
    work between processes (``torchrun``; see :mod:`gptcore.data.ranks`): every rank calls
    ``prepare`` with the same arguments and gets the same manifest. JSONL and Parquet sources
    (plain, ``.gz`` or ``.zst``) are one document per record, its text in ``text_field``.
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
    scan = _scan(pairs, seed, text_field)
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
    verdict = check_output(out, SHARDS_KIND, force=force, flag="--out", inputs=[p for _, p in pairs],
                           swap=True, reuse=True)
    if not verdict.new:
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

    if share.split:
        share.barrier()  # every rank has checked ``out`` before anyone writes
        parts = open_parts(out, share)
        mine = rank_directory(parts, share.rank)

        def encode_mine() -> None:
            mine.mkdir()
            written = _encode_all(scan, pairs, encoder, vocab.vocab_size, mine, chosen, 1 << 62, chunk_chars,
                                  separator, val_fraction, workers, on_progress, share.documents(n_docs))
            write_part_info(mine, written)

        def join() -> None:
            if share.is_main:
                try:
                    with atomic_directory(out, force=True) as tmp:
                        splits = join_parts(parts, share.world_size, tmp, chosen, shard_tokens, separator)
                        _write_manifest(tmp, planned, splits, out, context_length)
                finally:
                    remove_parts(parts)

        together(share, encode_mine, f"encoding its share of {out}", lambda: remove_parts(parts))
        together(share, join, f"joining the parts into {out}")
        return read_manifest(out)
    with atomic_directory(out, force=True) as tmp:
        writers = _encode_all(scan, pairs, encoder, vocab.vocab_size, tmp, chosen, shard_tokens,
                              chunk_chars, separator, val_fraction, workers, on_progress)
        splits = {name: writer.close() for name, writer in writers.items()}
        return _write_manifest(tmp, planned, splits, out, context_length)


def _write_manifest(directory: Path, planned: Manifest, splits: dict[str, SplitInfo], out: Path,
                    context_length: int | None) -> Manifest:
    _check_splits(splits, out, context_length)
    manifest = Manifest(**{**planned.__dict__, "splits": splits})
    (directory / MANIFEST).write_text(json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n",
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


def _encode_all(scan: _Scan, pairs: Sequence[tuple[str, Path]], encoder: Encoder, vocab_size: int,
                directory: Path | None, dtype: str, shard_tokens: int, chunk_chars: int,
                eot: int | None, val_fraction: float | None, workers: int | None,
                on_progress: Callable[[int], None] | None, keep: range | None = None
                ) -> dict[str, SplitWriter]:
    """Pass 2: stream every document (of ``keep``, when given) into its split's writer;
    ``val_fraction=None``: all train."""
    writers = {s: SplitWriter(directory, s, dtype, shard_tokens, eot) for s in SPLITS}
    pipe = Pipeline(encoder, workers or os.cpu_count() or 1, vocab_size)

    def feed(writer: SplitWriter, name: str, pieces: Iterable[str]) -> None:
        sep = writer.separator()
        if sep is not None:
            pipe.put_ids(writer, sep)
        for chunk in chunks(pieces, encoder.split_lines, chunk_chars):
            size = len(chunk.encode("utf-8", errors="surrogatepass"))
            writer.bytes += size
            if on_progress is not None:
                on_progress(size)
            pipe.put_text(writer, chunk)

    try:
        for split, name, pieces in _split_stream(scan, pairs, val_fraction, keep):
            feed(writers[split], name, pieces)
        pipe.finish()
    finally:
        pipe.close()
        for writer in writers.values():
            writer.close()
    return writers


def _split_stream(scan: _Scan, pairs: Sequence[tuple[str, Path]], val_fraction: float | None,
                  keep: range | None = None) -> Iterator[tuple[str, str, Iterator[str]]]:
    """``(split, source name, text pieces)`` per document part, in source order: the one place
    that decides the split (see the module docstring); ``val_fraction=None`` puts all in train.

    A single document yields its train head, then its validation tail: consume each part's
    pieces before asking for the next part.
    """
    n_docs = len(scan.keys)
    in_val = (_val_mask(scan.keys, val_fraction) if val_fraction is not None and n_docs > 1
              else np.zeros(n_docs, dtype=bool))
    for index, (name, pieces) in enumerate(_documents(scan, pairs)):
        if keep is not None and index not in keep:
            continue  # another rank's document (its text is never read)
        if val_fraction is not None and n_docs == 1:
            head, tail = _split_tail(pieces, int((1 - val_fraction) * scan.first_doc_chars))
            yield "train", name, head
            yield "val", name, tail
        else:
            yield ("val" if in_val[index] else "train"), name, pieces


def split_documents(sources: Sequence[str], *, val_fraction: float = 0.1, seed: int = 0,
                    text_field: str = DEFAULT_TEXT_FIELD) -> Iterator[tuple[str, str, str]]:
    """``(split, source name, text)`` for every document part, split exactly as :func:`prepare`
    splits them with the same ``val_fraction`` and ``seed``.

    For work that needs the text of one split before any shards exist, such as training a
    vocabulary on the training split only (``gptcore vocab-sweep``). Each part is returned
    whole, so this holds one document in memory at a time.
    """
    _check_fraction(val_fraction)
    pairs = resolve_sources(sources)
    scan = _scan(pairs, seed, text_field)
    if not scan.keys:
        raise GptcoreError(f"no documents in {', '.join(n for n, _ in pairs)}")
    for split, name, pieces in _split_stream(scan, pairs, val_fraction):
        yield split, name, "".join(pieces)


def encode_sources(tokenizer: str | os.PathLike[str] | tokenkit.Vocabulary, sources: Sequence[str], *,
                   workers: int | None = None, eot: int | str | None = "auto",
                   text_field: str = DEFAULT_TEXT_FIELD) -> tuple[np.ndarray, int]:
    """All documents of ``sources`` as one id array in memory (eot-separated) and their UTF-8 bytes.

    For evaluating a model on a small text without preparing shards.
    """
    vocab, _ = _load_vocab(tokenizer)
    pairs = resolve_sources(sources)
    scan = _scan(pairs, 0, text_field)
    train = _encode_all(scan, pairs, make_encoder(vocab), vocab.vocab_size, None, "uint32", 1,
                        CHUNK_CHARS, _resolve_eot(vocab, eot), None, workers, None)["train"]
    ids = np.concatenate(train.memory) if train.memory else np.zeros(0, np.uint32)
    return ids.astype(np.int64), train.bytes
