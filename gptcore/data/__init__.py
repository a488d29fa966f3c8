"""Stage 1 — text to token shards: a corpus encoded once into memory-mapped token files (``gptcore prepare``).

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
pattern is GPT-2's or cl100k's, a cut after a ``"\n"`` that sits between two non-space
characters is a pre-token boundary in both (the newline is a piece of its own). For any
other vocabulary each document is encoded whole. Peak memory is therefore bounded by the
chunk size times the worker count, or by the longest document without such a cut.

Staleness. The manifest records the vocabulary's sha256 and every source's sha256 and size.
Preparing into an existing directory reuses it when those (and the split settings) match and
refuses with one line otherwise; ``force=True`` rebuilds it. The directory is written through
:func:`tokenkit.atomic.atomic_directory`, so it is either complete or absent.

Modules:

* :mod:`.vocab` — Opening tokenkit vocabularies (gptcore uses only tokenkit's public interface).
* :mod:`.fingerprint` — A content hash of a loaded vocabulary, so token ids are never paired with the wrong one.
* :mod:`.manifest` — The shard directory's manifest: what was encoded, with what, and how much.
* :mod:`.sources` — Corpus sources: resolve names, hash files, stream their text without holding a file in memory.
* :mod:`.encoding` — Encoding documents as ordinary text, in chunks only where the ids provably stay the same.
* :mod:`.writer` — Writing token shards: one writer per split, fed by a bounded parallel encoding pipeline.
* :mod:`.preparation` — ``prepare``: scan the sources, split train/val by content hash, encode and write the shards.
* :mod:`.ranks` — Preparing shards on several processes: each rank encodes a contiguous run of documents.
* :mod:`.shards` — Reading token shards: the memory-mapped splits and the windows each ``(step, rank)`` reads.

Every public name of these modules is importable from the package itself (loaded on first use).
"""

from __future__ import annotations

from gptcore._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "load_vocabulary": "gptcore.data.vocab",
    "vocabulary_sha256": "gptcore.data.fingerprint",
    "FORMAT": "gptcore.data.manifest",
    "FORMAT_VERSION": "gptcore.data.manifest",
    "MANIFEST": "gptcore.data.manifest",
    "Manifest": "gptcore.data.manifest",
    "SPLITS": "gptcore.data.manifest",
    "ShardInfo": "gptcore.data.manifest",
    "SourceInfo": "gptcore.data.manifest",
    "SplitInfo": "gptcore.data.manifest",
    "TokenizerInfo": "gptcore.data.manifest",
    "read_manifest": "gptcore.data.manifest",
    "BLOCK_BYTES": "gptcore.data.sources",
    "resolve_sources": "gptcore.data.sources",
    "stream_document": "gptcore.data.sources",
    "stream_compressed_text": "gptcore.data.sources",
    "stream_records": "gptcore.data.sources",
    "is_records": "gptcore.data.sources",
    "source_kind": "gptcore.data.sources",
    "sha256_file": "gptcore.data.sources",
    "stream_text": "gptcore.data.sources",
    "CHUNK_CHARS": "gptcore.data.encoding",
    "EOT_NAMES": "gptcore.data.encoding",
    "Encoder": "gptcore.data.encoding",
    "chunks": "gptcore.data.encoding",
    "dtype_for": "gptcore.data.encoding",
    "eot_id": "gptcore.data.encoding",
    "make_encoder": "gptcore.data.encoding",
    "Pipeline": "gptcore.data.writer",
    "SHARD_TOKENS": "gptcore.data.writer",
    "SplitWriter": "gptcore.data.writer",
    "encode_sources": "gptcore.data.preparation",
    "prepare": "gptcore.data.preparation",
    "split_documents": "gptcore.data.preparation",
    "EpochPlan": "gptcore.data.shards",
    "TokenShards": "gptcore.data.shards",
    "PARTS_MARKER": "gptcore.data.ranks",
    "PART_INFO": "gptcore.data.ranks",
    "COPY_TOKENS": "gptcore.data.ranks",
    "Share": "gptcore.data.ranks",
    "parts_directory": "gptcore.data.ranks",
    "open_parts": "gptcore.data.ranks",
    "rank_directory": "gptcore.data.ranks",
    "write_part_info": "gptcore.data.ranks",
    "join_parts": "gptcore.data.ranks",
    "remove_parts": "gptcore.data.ranks",
    "together": "gptcore.data.ranks",
    "SHARDS_KIND": "gptcore.data.preparation",
    "check_contained": "gptcore.data.vocab",
}

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
__all__ = sorted(_EXPORTS)
