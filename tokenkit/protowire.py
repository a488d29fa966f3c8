"""Protocol-buffer wire format, read by hand: base-128 varints and field skipping.

Two readers need it and neither needs the protobuf package: the sentencepiece backend (editing
piece types in a model file) and gptcore's TensorFlow checkpoint reader.
"""

from __future__ import annotations


class WireError(ValueError):
    """Bytes that are not a well-formed protobuf message."""


def read_varint(buf: bytes | bytearray | memoryview, pos: int) -> tuple[int, int]:
    """Decode a base-128 varint at ``pos``; returns (value, position after it).

    >>> read_varint(b"\\xac\\x02", 0)
    (300, 2)
    """
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise WireError("varint runs past the end")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise WireError("varint longer than 10 bytes")


def skip_field(buf: bytes | bytearray | memoryview, pos: int, wire: int) -> int:
    """The position after a field's value of wire type ``wire`` starting at ``pos``."""
    if wire == 0:
        return read_varint(buf, pos)[1]
    if wire == 2:
        length, pos = read_varint(buf, pos)
        end = pos + length
    elif wire in (1, 5):
        end = pos + (8 if wire == 1 else 4)
    else:
        raise WireError(f"unsupported wire type {wire}")
    if end > len(buf):
        raise WireError(f"field of wire type {wire} runs past the end")
    return end
