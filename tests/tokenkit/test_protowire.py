"""tokenkit.protowire: varints read back what an encoder wrote; malformed bytes raise WireError."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenkit.protowire import WireError, read_varint, skip_field


def encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


@given(st.integers(0, 2**64 - 1), st.binary(max_size=4))
def test_varints_round_trip_and_stop_at_their_end(value: int, tail: bytes) -> None:
    data = encode_varint(value) + tail
    assert read_varint(data, 0) == (value, len(data) - len(tail))
    assert skip_field(data, 0, 0) == len(data) - len(tail)


@given(st.binary(max_size=20), st.integers(0, 30))
def test_length_delimited_fields_are_skipped_whole(payload: bytes, extra: int) -> None:
    data = encode_varint(len(payload)) + payload
    assert skip_field(data, 0, 2) == len(data)
    with pytest.raises(WireError, match="runs past the end"):
        skip_field(encode_varint(len(payload) + extra + 1) + payload, 0, 2)


def test_malformed_bytes_raise_wire_errors() -> None:
    with pytest.raises(WireError, match="runs past the end"):
        read_varint(b"\x80\x80", 0)
    with pytest.raises(WireError, match="longer than 10 bytes"):
        read_varint(b"\xff" * 11, 0)
    with pytest.raises(WireError, match="runs past the end"):
        skip_field(b"\x00" * 7, 0, 1)
    with pytest.raises(WireError, match="unsupported wire type 3"):
        skip_field(b"", 0, 3)
    assert issubclass(WireError, ValueError)
