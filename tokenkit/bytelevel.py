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
    table = char_to_byte()
    return bytes(table[c] for c in token)


def bytes_to_token(data: bytes) -> str:
    table = byte_to_char()
    return "".join(table[b] for b in data)
