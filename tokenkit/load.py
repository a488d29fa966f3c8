"""Open an existing vocabulary from a path: a tokenkit directory, ``tokenizer.json`` or ``.model``."""

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


def load_vocabulary(spec: str) -> Vocabulary:
    """Load the vocabulary ``spec`` points at, with a one-line error when it cannot."""
    path = Path(spec)
    if not path.exists():
        raise TokenkitError(f"vocabulary {spec} not found")
    if path.is_dir():
        return _load_directory(path)
    if path.suffix == ".model":
        return load_sentencepiece(path)
    if path.suffix == ".json":
        return load_hf_tokenizer(path)
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
        if backend not in ("hf", "sentencepiece") or not file_name:
            raise TokenkitError(f"vocabulary metadata {meta_path}: unknown backend {backend!r}")
        loader = load_hf_tokenizer if backend == "hf" else load_sentencepiece
        return loader(path / file_name, meta)
    if (path / HF_FILE).exists():
        return load_hf_tokenizer(path / HF_FILE)
    models = sorted(path.glob("*.model"))
    if len(models) == 1:
        return load_sentencepiece(models[0])
    raise TokenkitError(f"vocabulary directory {path} holds no {METADATA_FILE}, {HF_FILE} "
                        "or single .model file")


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
