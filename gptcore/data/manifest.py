"""The shard directory's manifest: what was encoded, with what, and how much."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from gptcore.errors import GptcoreError

FORMAT = "gptcore-token-shards"


FORMAT_VERSION = 1


MANIFEST = "manifest.json"


SPLITS = ("train", "val")


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
    format: str  # text, jsonl or parquet, with .gz / .zst when compressed (e.g. "jsonl.zst")
    text_field: str | None = None  # records' text field when not "text" (None: "text", or no records)


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
                                      tuple(ShardInfo(_shard_name(h["file"], where), int(h["tokens"]))
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
                "sources": [(s.sha256, s.bytes) + ((s.text_field,) if s.text_field else ())
                            for s in self.sources]}


def _shard_name(name: object, where: str) -> str:
    """A shard's file name: a plain name inside the directory (no path, no ``..``)."""
    text = str(name)
    if (not isinstance(name, str) or text in ("", ".", "..") or "/" in text or "\\" in text
            or "\x00" in text or os.path.isabs(text)):
        raise GptcoreError(f"{where} names shard {text[:80]!r}, not a plain file name inside "
                           "the directory")
    return text


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
