"""sentencepiece models behind the :class:`~tokenkit.vocabulary.Vocabulary` interface."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tokenkit.errors import TokenkitError, one_line
from tokenkit.filecheck import checked_file
from tokenkit.protowire import read_varint, skip_field
from tokenkit.vocabulary import SP_FILE, Vocabulary, check_text

SP_SPACE = "\u2581"  # sentencepiece's whitespace marker ▁

# sentencepiece's ModelProto (protobuf wire format): field 1 = repeated SentencePiece pieces;
# in each piece field 3 = type. USER_DEFINED (4) pieces are matched in text, CONTROL (3) never.
_PIECES_FIELD, _TYPE_FIELD, _USER_DEFINED, _CONTROL = 1, 3, 4, 3


def user_defined_as_control(model_proto: bytes) -> tuple[bytes, list[int]]:
    """The same model with every USER_DEFINED piece turned CONTROL (never read from text), and
    the ids of those pieces.

    Both type values are one-byte varints, so the bytes are edited in place; no protobuf
    dependency is needed. Ids, scores and every other piece stay exactly as they were.
    """
    data = bytearray(model_proto)
    pos, piece, changed = 0, 0, []
    while pos < len(data):
        key, pos = read_varint(data, pos)
        field, wire = key >> 3, key & 7
        if field != _PIECES_FIELD or wire != 2:
            pos = skip_field(data, pos, wire)
            continue
        length, pos = read_varint(data, pos)
        end, inner = pos + length, pos
        while inner < end:
            ikey, inner = read_varint(data, inner)
            if ikey >> 3 == _TYPE_FIELD and ikey & 7 == 0 and data[inner] == _USER_DEFINED:
                data[inner] = _CONTROL
                changed.append(piece)
            inner = skip_field(data, inner, ikey & 7)
        pos, piece = end, piece + 1
    return bytes(data), changed


class SentencePieceVocabulary(Vocabulary):
    """A sentencepiece model (BPE or unigram), lossless when trained with byte fallback.

    sentencepiece decodes every ``▁`` (U+2581) as a space, so a literal ``▁`` in the input
    would come back as a space. With byte fallback we encode a literal ``▁`` as its three
    byte pieces instead, which decode to ``▁``: that is the only place where tokenkit's ids
    differ from sentencepiece's own ``encode``.

    Special tokens (control, unknown and user-defined pieces) are ordinary text unless allowed
    (:meth:`Vocabulary.encode`). sentencepiece always reads user-defined pieces out of text, so
    ordinary text is encoded with a copy of the model in which they are control pieces (which
    sentencepiece never produces from text); every other id is the model's own.
    """

    backend = "sentencepiece"

    def __init__(self, model_proto: bytes, metadata: dict[str, Any] | None = None) -> None:
        import sentencepiece as spm  # heavy: the C++ extension loads on first use

        super().__init__(metadata)
        self.model_proto = model_proto
        self.sp = spm.SentencePieceProcessor(model_proto=model_proto)
        size = self.sp.get_piece_size()
        if size == 0:
            raise RuntimeError("the model holds no pieces")
        self._size = size
        self._byte_ids = {int(self.sp.id_to_piece(i)[3:5], 16): i
                          for i in range(size) if self.sp.is_byte(i)}
        space_bytes = SP_SPACE.encode("utf-8")
        self._space_ids = ([self._byte_ids[b] for b in space_bytes]
                           if all(b in self._byte_ids for b in space_bytes) else None)
        declared = self.metadata.get("special_tokens") or {}
        try:
            ordinary_proto, user_defined = user_defined_as_control(model_proto)
        except (ValueError, IndexError) as e:
            raise RuntimeError(f"malformed model: {e}") from e
        self._specials = {self.sp.id_to_piece(i): i for i in range(size)
                          if self.sp.is_control(i) or self.sp.is_unknown(i)}
        self._specials.update({self.sp.id_to_piece(i): i for i in user_defined})
        self.ordinary_sp = (spm.SentencePieceProcessor(model_proto=ordinary_proto)
                            if user_defined else self.sp)
        for piece in declared:
            pid = self.sp.piece_to_id(piece)
            if pid != self.sp.unk_id() or piece == self.sp.id_to_piece(self.sp.unk_id()):
                self._specials[piece] = pid

    def encode_ordinary(self, text: str) -> list[int]:
        check_text(text)
        sp = self.ordinary_sp
        if SP_SPACE not in text or self._space_ids is None:
            return sp.encode(text)
        ids: list[int] = []
        for i, part in enumerate(text.split(SP_SPACE)):
            if i:
                ids.extend(self._space_ids)
            if part:
                ids.extend(sp.encode(part))
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """sentencepiece's decode, except that bytes which are not UTF-8 become U+FFFD by the
        rule the other backends follow (Python's and Rust's: one U+FFFD per maximal invalid
        subpart; sentencepiece writes one per byte)."""
        ids = self.checked_ids(ids)
        text = self.sp.decode(ids)
        if "\ufffd" in text:
            same_rule = self.decode_bytes(ids).decode("utf-8", "replace")
            if same_rule.replace("\ufffd", "") == text.replace("\ufffd", ""):
                return same_rule
        return text

    @property
    def vocab_size(self) -> int:
        return self._size

    def id_to_token(self, token_id: int) -> str:
        return self.sp.id_to_piece(self.check_id(token_id))

    def token_to_id(self, token: str) -> int | None:
        pid = self.sp.piece_to_id(token)
        if pid == self.sp.unk_id() and token != self.sp.id_to_piece(pid):
            return None
        return pid

    def token_bytes(self, token_id: int) -> bytes | None:
        piece = self.id_to_token(token_id)
        token_id = self.check_id(token_id)
        if self.sp.is_byte(token_id):
            return bytes([int(piece[3:5], 16)])
        if self.sp.is_control(token_id) or self.sp.is_unknown(token_id):
            return None
        if piece in self._specials:
            return piece.encode("utf-8")
        return piece.replace(SP_SPACE, " ").encode("utf-8")

    def is_byte_fallback(self, token_id: int) -> bool:
        return bool(self.sp.is_byte(self.check_id(token_id)))

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
    checked_file(path)
    try:
        proto = path.read_bytes()
    except OSError as e:
        raise TokenkitError(f"cannot read {path}: {e.strerror or e}") from e
    if not proto:
        raise TokenkitError(f"{path} is not a sentencepiece model: the file is empty")
    try:
        return SentencePieceVocabulary(proto, metadata or {"name": path.stem})
    except (RuntimeError, OSError, ValueError, TypeError) as e:
        raise TokenkitError(f"{path} is not a sentencepiece model: {one_line(e)}") from e
