"""crc32c (Castagnoli), masked as LevelDB and TensorFlow store it: the checksums of a TF bundle.

Split from :mod:`gptcore.platform.tfbundle` (which re-exports every name): a checksum is one
idea, the bundle format another.
"""

from __future__ import annotations


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc32c_python(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """Pure-Python crc32c (a few MB/s): the fallback when ``google-crc32c`` is not installed."""
    crc ^= 0xFFFFFFFF
    table = _TABLE
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


try:
    import google_crc32c as _gcrc

    def crc32c(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
        """crc32c of ``data`` continuing from ``crc`` (hardware-accelerated C)."""
        # the C extension takes only immutable bytes: one memcpy, small next to the read
        return _gcrc.extend(crc, data if isinstance(data, bytes) else bytes(data))
except ImportError:  # pragma: no cover - google-crc32c is a dependency
    crc32c = crc32c_python


def mask_crc(crc: int) -> int:
    """LevelDB's masking: rotate right by 15 and add a constant (so CRCs of CRCs stay useful)."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def unmask_crc(masked: int) -> int:
    """Inverse of :func:`mask_crc`."""
    rot = (masked - 0xA282EAD8) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


__all__ = ["crc32c", "crc32c_python", "mask_crc", "unmask_crc"]
