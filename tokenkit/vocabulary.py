"""The Vocabulary interface: text <-> token ids, whatever library trained it.

Everything downstream (metrics, reports, gptcore) talks to a :class:`Vocabulary` and never to
the backend library. A vocabulary directory written by :meth:`Vocabulary.save` holds the
backend's own file (``tokenizer.json`` or ``spm.model``) plus ``tokenkit.json`` describing
how it was made, so it can also be opened with the backend library alone.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tokenkit.bytelevel import token_to_bytes
from tokenkit.errors import TokenkitError

METADATA_FILE = "tokenkit.json"
HF_FILE = "tokenizer.json"
SP_FILE = "spm.model"
FORMAT_VERSION = 1


class Vocabulary(ABC):
    """A BPE (or unigram) vocabulary behind one small interface."""

    backend: str = ""

    def __init__(self, metadata: dict[str, Any] | None = None) -> None:
        self.metadata: dict[str, Any] = dict(metadata or {})

    # -- the core mapping -------------------------------------------------------------
    @abstractmethod
    def encode(self, text: str) -> list[int]:
        """Token ids for ``text``; special-token strings in the text map to their ids."""

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    @abstractmethod
    def decode(self, ids: Iterable[int]) -> str:
        """Text for ``ids``; bytes that do not form valid UTF-8 become U+FFFD."""

    @property
    @abstractmethod
    def vocab_size(self) -> int:
        """Number of ids, special tokens included (ids run from 0 to vocab_size - 1)."""

    @abstractmethod
    def id_to_token(self, token_id: int) -> str:
        """The backend's own string for a token (byte-level stand-ins, ``▁`` pieces...)."""

    @abstractmethod
    def token_to_id(self, token: str) -> int | None: ...

    @abstractmethod
    def token_bytes(self, token_id: int) -> bytes | None:
        """The exact bytes a token contributes to decoded text; None for control tokens."""

    @property
    @abstractmethod
    def specials(self) -> dict[str, int]:
        """Special / control tokens by string."""

    @property
    def unk_id(self) -> int | None:
        return None

    def is_byte_fallback(self, token_id: int) -> bool:
        """True for sentencepiece-style ``<0xNN>`` pieces that stand for one raw byte."""
        return False

    # -- derived ----------------------------------------------------------------------
    @property
    def tokens(self) -> list[str]:
        return [self.id_to_token(i) for i in range(self.vocab_size)]

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", self.backend))

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "backend": self.backend, "vocab_size": self.vocab_size,
                "specials": self.specials}

    # -- persistence ------------------------------------------------------------------
    @abstractmethod
    def _write_backend_file(self, directory: Path) -> str:
        """Write the backend's own file into ``directory``; return its file name."""

    def save(self, directory: str | os.PathLike[str], *, force: bool = False) -> Path:
        """Write the vocabulary directory atomically: a temp dir beside it, then a rename."""
        target = Path(directory)
        with atomic_directory(target, force=force) as tmp:
            file_name = self._write_backend_file(tmp)
            meta = {**self.metadata, "format_version": FORMAT_VERSION, "backend": self.backend,
                    "file": file_name, "vocab_size": self.vocab_size,
                    "special_tokens": self.specials}
            (tmp / METADATA_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
        return target

    @staticmethod
    def load(path: str | os.PathLike[str]) -> Vocabulary:
        """Open a tokenkit directory, a ``tokenizer.json`` or a sentencepiece ``.model``."""
        from tokenkit.load import load_vocabulary

        return load_vocabulary(str(path))


class atomic_directory:
    """Context manager yielding a temp directory that becomes ``target`` only on success."""

    def __init__(self, target: Path, *, force: bool = False) -> None:
        self.target = target
        self.force = force
        self.tmp: Path | None = None

    def __enter__(self) -> Path:
        if self.target.exists() and not self.force:
            raise TokenkitError(f"output {self.target} already exists (use --force to overwrite)")
        parent = self.target.parent if str(self.target.parent) else Path(".")
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.tmp-", dir=parent))
        except OSError as e:
            raise TokenkitError(f"cannot write output {self.target}: {e.strerror or e}") from e
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.tmp is not None
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            if isinstance(exc, OSError):
                raise TokenkitError(f"cannot write output {self.target}: {exc.strerror or exc}") from exc
            return
        try:
            if self.target.exists():
                old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
                os.replace(self.target, old)
                os.replace(self.tmp, self.target)
                shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()
            else:
                os.replace(self.tmp, self.target)
        except OSError as e:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise TokenkitError(f"cannot write output {self.target}: {e.strerror or e}") from e


# ------------------------------------------------------------------------------------------
# Hugging Face tokenizers
# ------------------------------------------------------------------------------------------
class HFVocabulary(Vocabulary):
    """A ``tokenizers.Tokenizer`` (byte-level BPE when trained by tokenkit).

    Encoding goes through the vocabulary's tiktoken form when that provably gives the same
    ids (byte-level BPE, all 256 bytes, GPT-2's split regex, no prefix space: checked once,
    lazily, by :func:`tokenkit.tiktoken_vocab.fast_encoder_for`); it is several times faster.
    Set ``use_fast = False`` to measure HF's own encoder.
    """

    backend = "hf"
    use_fast: bool = True

    def __init__(self, tokenizer: Any, metadata: dict[str, Any] | None = None) -> None:
        super().__init__(metadata)
        self.tokenizer = tokenizer
        self._fast: Any = None
        self._fast_checked = False
        spec = json.loads(tokenizer.to_str())
        decoder = spec.get("decoder") or {}
        self.byte_level = decoder.get("type") == "ByteLevel" or (
            (spec.get("pre_tokenizer") or {}).get("type") == "ByteLevel")
        self._specials = {t.content: i for i, t in tokenizer.get_added_tokens_decoder().items()
                          if t.special}
        unk = (spec.get("model") or {}).get("unk_token")
        self._unk_id = tokenizer.token_to_id(unk) if unk else None
        self._size = tokenizer.get_vocab_size(with_added_tokens=True)

    def fast_encoding(self) -> Any:
        """The equivalent ``tiktoken.Encoding``, or None when ids could differ."""
        if not self.use_fast:
            return None
        if not self._fast_checked:
            from tokenkit.tiktoken_vocab import fast_encoder_for

            self._fast = fast_encoder_for(self)
            self._fast_checked = True
        return self._fast

    def encode(self, text: str) -> list[int]:
        fast = self.fast_encoding()
        if fast is not None:
            return fast.encode(text, allowed_special="all")
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        fast = self.fast_encoding()
        if fast is not None:
            from tokenkit.tiktoken_vocab import encode_many

            return encode_many(fast, texts)
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Iterable[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=False)

    @property
    def vocab_size(self) -> int:
        return self._size

    def id_to_token(self, token_id: int) -> str:
        token = self.tokenizer.id_to_token(token_id)
        if token is None:
            raise TokenkitError(f"token id {token_id} is outside the vocabulary (size {self._size})")
        return token

    def token_to_id(self, token: str) -> int | None:
        return self.tokenizer.token_to_id(token)

    def token_bytes(self, token_id: int) -> bytes | None:
        token = self.id_to_token(token_id)
        if token in self._specials:
            return token.encode("utf-8")
        if self.byte_level:
            try:
                return token_to_bytes(token)
            except KeyError:
                return token.encode("utf-8")
        return self.tokenizer.decode([token_id], skip_special_tokens=False).encode("utf-8")

    @property
    def specials(self) -> dict[str, int]:
        return dict(self._specials)

    @property
    def unk_id(self) -> int | None:
        return self._unk_id

    def _write_backend_file(self, directory: Path) -> str:
        self.tokenizer.save(str(directory / HF_FILE))
        return HF_FILE


# ------------------------------------------------------------------------------------------
# sentencepiece
# ------------------------------------------------------------------------------------------
SP_SPACE = "\u2581"  # sentencepiece's whitespace marker ▁


class SentencePieceVocabulary(Vocabulary):
    """A sentencepiece model (BPE or unigram), lossless when trained with byte fallback.

    sentencepiece decodes every ``▁`` (U+2581) as a space, so a literal ``▁`` in the input
    would come back as a space. With byte fallback we encode a literal ``▁`` as its three
    byte pieces instead, which decode to ``▁``: that is the only place where tokenkit's ids
    differ from sentencepiece's own ``encode``.
    """

    backend = "sentencepiece"

    def __init__(self, model_proto: bytes, metadata: dict[str, Any] | None = None) -> None:
        import sentencepiece as spm

        super().__init__(metadata)
        self.model_proto = model_proto
        self.sp = spm.SentencePieceProcessor(model_proto=model_proto)
        size = self.sp.get_piece_size()
        self._size = size
        self._byte_ids = {int(self.sp.id_to_piece(i)[3:5], 16): i
                          for i in range(size) if self.sp.is_byte(i)}
        space_bytes = SP_SPACE.encode("utf-8")
        self._space_ids = ([self._byte_ids[b] for b in space_bytes]
                           if all(b in self._byte_ids for b in space_bytes) else None)
        declared = self.metadata.get("special_tokens") or {}
        self._specials = {self.sp.id_to_piece(i): i for i in range(size)
                          if self.sp.is_control(i) or self.sp.is_unknown(i)}
        for piece in declared:
            pid = self.sp.piece_to_id(piece)
            if pid != self.sp.unk_id() or piece == self.sp.id_to_piece(self.sp.unk_id()):
                self._specials[piece] = pid

    def encode(self, text: str) -> list[int]:
        if SP_SPACE not in text or self._space_ids is None:
            return self.sp.encode(text)
        ids: list[int] = []
        for i, part in enumerate(text.split(SP_SPACE)):
            if i:
                ids.extend(self._space_ids)
            if part:
                ids.extend(self.sp.encode(part))
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        return self.sp.decode(list(ids))

    @property
    def vocab_size(self) -> int:
        return self._size

    def id_to_token(self, token_id: int) -> str:
        if not 0 <= token_id < self._size:
            raise TokenkitError(f"token id {token_id} is outside the vocabulary (size {self._size})")
        return self.sp.id_to_piece(token_id)

    def token_to_id(self, token: str) -> int | None:
        pid = self.sp.piece_to_id(token)
        if pid == self.sp.unk_id() and token != self.sp.id_to_piece(pid):
            return None
        return pid

    def token_bytes(self, token_id: int) -> bytes | None:
        piece = self.id_to_token(token_id)
        if self.sp.is_byte(token_id):
            return bytes([int(piece[3:5], 16)])
        if self.sp.is_control(token_id) or self.sp.is_unknown(token_id):
            return None
        if piece in self._specials:
            return piece.encode("utf-8")
        return piece.replace(SP_SPACE, " ").encode("utf-8")

    def is_byte_fallback(self, token_id: int) -> bool:
        return bool(self.sp.is_byte(token_id))

    @property
    def specials(self) -> dict[str, int]:
        return dict(self._specials)

    @property
    def unk_id(self) -> int | None:
        uid = self.sp.unk_id()
        return uid if uid >= 0 else None

    def _write_backend_file(self, directory: Path) -> str:
        (directory / SP_FILE).write_bytes(self.model_proto)
        return SP_FILE
