"""GPT-2's reversible byte <-> printable-character table.

Byte-level BPE (GPT-2, HF ``ByteLevel``) stores every token as a string of 256 visible
stand-in characters, one per byte. We need the table to turn a token string back into the
exact bytes it stands for (OOV analysis, export to tiktoken).
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def byte_to_char() -> dict[int, str]:
    """Map each byte to its printable stand-in: printable Latin-1 bytes map to themselves,
    the other 68 bytes to code points from U+0100 upwards, in byte order."""
    keep = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    table = {b: chr(b) for b in keep}
    next_cp = 0x100
    for b in range(256):
        if b not in table:
            table[b] = chr(next_cp)
            next_cp += 1
    return table


@lru_cache(maxsize=1)
def char_to_byte() -> dict[str, int]:
    return {c: b for b, c in byte_to_char().items()}


def token_to_bytes(token: str) -> bytes:
    """Bytes a byte-level token string stands for (raises KeyError on a foreign character).

    GPT-2's ``Ġ`` is a space, and a CJK character is three stand-ins, one per UTF-8 byte:

    >>> token_to_bytes("Ġcat"), token_to_bytes(bytes_to_token("猫".encode())).decode()
    (b' cat', '猫')
    """
    data = token.translate(_stand_in_to_latin1())  # C speed: vocabularies hold 100k tokens
    try:
        return data.encode("latin-1")
    except UnicodeEncodeError as e:
        raise KeyError(token[e.start]) from None


def bytes_to_token(data: bytes) -> str:
    return data.decode("latin-1").translate(_latin1_to_stand_in())


@lru_cache(maxsize=1)
def _stand_in_to_latin1() -> dict[int, str]:
    """``str.translate`` table: each stand-in to the Latin-1 character of its byte, and every
    Latin-1 character that is no stand-in to U+FFFF (which Latin-1 cannot encode: a KeyError)."""
    table = {ord(c): chr(b) for c, b in char_to_byte().items()}
    for code in range(256):
        table.setdefault(code, "\uffff")
    return table


@lru_cache(maxsize=1)
def _latin1_to_stand_in() -> dict[int, str]:
    return {b: c for b, c in byte_to_char().items()}
