"""sentencepiece models behind the :class:`~tokenkit.vocabulary.Vocabulary` interface."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tokenkit.errors import TokenkitError, one_line
from tokenkit.vocabulary import SP_FILE, Vocabulary

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
        import sentencepiece as spm  # heavy: the C++ extension loads on first use

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


def load_sentencepiece(path: Path, metadata: dict[str, Any] | None = None) -> SentencePieceVocabulary:
    """Open a sentencepiece ``.model`` file."""
    if not path.exists():
        raise TokenkitError(f"vocabulary file {path} not found")
    proto = path.read_bytes()
    try:
        return SentencePieceVocabulary(proto, metadata or {"name": path.stem})
    except (RuntimeError, OSError) as e:
        raise TokenkitError(f"{path} is not a sentencepiece model: {one_line(e)}") from e
