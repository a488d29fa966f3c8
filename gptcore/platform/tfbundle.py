"""Read TensorFlow checkpoints (the "tensor bundle" format) without TensorFlow.

Why: OpenAI's original GPT-2 release (and much else from the TF 1 era) is a TensorFlow
checkpoint, and installing a TensorFlow that still reads it is a common failure.  The format is
small and documented:

* ``PREFIX.index`` is a LevelDB-style table (sorted key -> value blocks, an index block, a
  48-byte footer ending in a magic number).  Keys are variable names; the empty key holds a
  ``BundleHeaderProto`` (number of shards, endianness); every other value is a
  ``BundleEntryProto`` (dtype, shape, shard, offset, size, masked crc32c of the bytes).
* ``PREFIX.data-0000S-of-0000N`` hold each tensor's raw little-endian bytes at (offset, size).
* A directory's ``checkpoint`` text file names the newest ``PREFIX``.

The protobufs are decoded by hand (varints and length-delimited fields), and tensors are read as
plain bytes into numpy: nothing is unpickled and no TensorFlow or protobuf package is imported.
Every problem raises a one-line :class:`GptcoreError` naming the file (and the variable).
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tokenkit.protowire import WireError, read_varint

from gptcore.errors import GptcoreError
from gptcore.platform.crc32c import crc32c, crc32c_python, mask_crc, unmask_crc

TABLE_MAGIC = 0xDB4775248B80FB57
"""LevelDB's table magic number, the footer's last 8 bytes (little-endian)."""
FOOTER_SIZE = 48  # two block handles padded to 40 bytes + 8-byte magic
BLOCK_TRAILER_SIZE = 5  # 1-byte compression type + 4-byte masked crc32c
MAX_KEY_BYTES = 4096
"""Longest variable name accepted: TF names are tens of bytes, and a cap keeps rebuilding
prefix-compressed keys linear in the file (a crafted block could repeat a huge shared prefix
in every 3-byte entry)."""
MAX_CHECKPOINT_FILE = 1 << 20  # the ``checkpoint`` text file names a prefix: a few hundred bytes
_COMPRESSION = {0: None, 1: "snappy", 2: "zstd"}

# TensorFlow DataType enum (types.proto) -> numpy dtype; bfloat16 is read as its raw 16 bits.
TF_DTYPES: dict[int, tuple[str, np.dtype]] = {
    1: ("float32", np.dtype("<f4")), 2: ("float64", np.dtype("<f8")), 3: ("int32", np.dtype("<i4")),
    4: ("uint8", np.dtype("u1")), 5: ("int16", np.dtype("<i2")), 6: ("int8", np.dtype("i1")),
    8: ("complex64", np.dtype("<c8")), 9: ("int64", np.dtype("<i8")), 10: ("bool", np.dtype("?")),
    14: ("bfloat16", np.dtype("<u2")), 17: ("uint16", np.dtype("<u2")),
    18: ("complex128", np.dtype("<c16")), 19: ("float16", np.dtype("<f2")),
    22: ("uint32", np.dtype("<u4")), 23: ("uint64", np.dtype("<u8")),
}
_OTHER_DTYPES = {0: "invalid", 7: "string", 11: "qint8", 12: "quint8", 13: "qint32", 15: "qint16",
                 16: "quint16", 20: "resource", 21: "variant"}
DT_BFLOAT16 = 14


# --------------------------------------------------------------------------------------------
# protobuf wire format (only what the two bundle messages need)
# --------------------------------------------------------------------------------------------


class _Malformed(WireError):
    """Internal: bytes that do not parse; turned into a one-line GptcoreError by the caller."""


def proto_fields(buf: bytes | memoryview) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield (field number, wire type, value) of a serialized message; bytes for LEN fields."""
    pos = 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
        elif wire == 1:
            if pos + 8 > len(buf):
                raise _Malformed("fixed64 runs past the end")
            value, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        elif wire == 2:
            length, pos = read_varint(buf, pos)
            if pos + length > len(buf):
                raise _Malformed("length-delimited field runs past the end")
            value, pos = bytes(buf[pos:pos + length]), pos + length
        elif wire == 5:
            if pos + 4 > len(buf):
                raise _Malformed("fixed32 runs past the end")
            value, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        else:
            raise _Malformed(f"unsupported wire type {wire}")
        yield number, wire, value


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


@dataclass(frozen=True)
class BundleHeader:
    """``BundleHeaderProto``: how many data shards there are and their byte order."""

    num_shards: int = 1
    big_endian: bool = False


@dataclass(frozen=True)
class BundleEntry:
    """``BundleEntryProto``: where one variable's bytes are and what they hold."""

    name: str
    dtype: int
    shape: tuple[int, ...]
    shard_id: int = 0
    offset: int = 0
    size: int = 0
    crc32c: int | None = None  # masked, as stored; None when the writer recorded none
    sliced: bool = False  # a partitioned variable (only its slices hold data)

    @property
    def dtype_name(self) -> str:
        """TensorFlow's name for the dtype (``float32``, ``bfloat16``, ``string``...)."""
        if self.dtype in TF_DTYPES:
            return TF_DTYPES[self.dtype][0]
        return _OTHER_DTYPES.get(self.dtype, f"dtype {self.dtype}")


def parse_header(value: bytes) -> BundleHeader:
    """Decode a serialized ``BundleHeaderProto`` (num_shards = 1, endianness = 2)."""
    shards, endianness = 0, 0
    for number, wire, v in proto_fields(value):
        if number == 1 and wire == 0:
            shards = _signed64(v)  # type: ignore[arg-type]
        elif number == 2 and wire == 0:
            endianness = v  # type: ignore[assignment]
    return BundleHeader(num_shards=shards, big_endian=endianness == 1)


def _parse_shape(value: bytes) -> tuple[int, ...]:
    dims: list[int] = []
    for number, wire, v in proto_fields(value):
        if number == 2 and wire == 2:  # repeated Dim { int64 size = 1; string name = 2; }
            size = 0
            for n, w, d in proto_fields(v):  # type: ignore[arg-type]
                if n == 1 and w == 0:
                    size = _signed64(d)  # type: ignore[arg-type]
            dims.append(size)
        elif number == 3 and wire == 0 and v:
            raise _Malformed("shape has unknown rank")
    return tuple(dims)


def parse_entry(name: str, value: bytes) -> BundleEntry:
    """Decode a serialized ``BundleEntryProto`` for variable ``name``."""
    fields: dict[str, object] = {"dtype": 0, "shape": ()}
    for number, wire, v in proto_fields(value):
        if number == 1 and wire == 0:
            fields["dtype"] = v
        elif number == 2 and wire == 2:
            fields["shape"] = _parse_shape(v)  # type: ignore[arg-type]
        elif number == 3 and wire == 0:
            fields["shard_id"] = _signed64(v)  # type: ignore[arg-type]
        elif number == 4 and wire == 0:
            fields["offset"] = _signed64(v)  # type: ignore[arg-type]
        elif number == 5 and wire == 0:
            fields["size"] = _signed64(v)  # type: ignore[arg-type]
        elif number == 6 and wire == 5:
            fields["crc32c"] = v
        elif number == 7 and wire == 2:
            fields["sliced"] = True
    return BundleEntry(name=name, **fields)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# LevelDB table (the .index file)
# --------------------------------------------------------------------------------------------


def _block_handle(buf: bytes | memoryview, pos: int) -> tuple[int, int, int]:
    offset, pos = read_varint(buf, pos)
    size, pos = read_varint(buf, pos)
    return offset, size, pos


def _read_block(data: bytes, offset: int, size: int) -> memoryview:
    """The contents of the block at (offset, size), its trailer checked."""
    end = offset + size + BLOCK_TRAILER_SIZE
    if end > len(data):
        raise _Malformed(f"block at byte {offset} (+{size}) runs past the end of the file "
                         f"({len(data)} bytes): truncated")
    kind = data[offset + size]
    if kind != 0:
        raise _Malformed(f"block at byte {offset} uses {_COMPRESSION.get(kind, f'type {kind}')} "
                         "compression, which is not supported (only uncompressed tables)")
    stored = struct.unpack_from("<I", data, offset + size + 1)[0]
    if unmask_crc(stored) != crc32c(data[offset:offset + size + 1]):
        raise _Malformed(f"block at byte {offset} fails its crc32c check")
    return memoryview(data)[offset:offset + size]


def _block_entries(block: memoryview) -> Iterator[tuple[bytes, memoryview]]:
    """Key/value pairs of one block: prefix-compressed keys, then the restart-point array."""
    if len(block) < 4:
        raise _Malformed("block shorter than its restart count")
    restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    limit = len(block) - 4 - 4 * restarts
    if limit < 0:
        raise _Malformed(f"block claims {restarts} restart points, more than fit")
    pos, key = 0, b""
    while pos < limit:
        shared, pos = read_varint(block, pos)
        unshared, pos = read_varint(block, pos)
        value_len, pos = read_varint(block, pos)
        if shared > len(key) or pos + unshared + value_len > limit:
            raise _Malformed(f"corrupt block entry at byte {pos}")
        if shared + unshared > MAX_KEY_BYTES:
            raise _Malformed(f"key of {shared + unshared} bytes at byte {pos} (a variable name "
                             f"is at most {MAX_KEY_BYTES} bytes)")
        key = key[:shared] + bytes(block[pos:pos + unshared])
        pos += unshared
        yield key, block[pos:pos + value_len]
        pos += value_len


def read_footer(footer: bytes | memoryview, file_size: int) -> tuple[int, int]:
    """The index block's (offset, size) from a table's last :data:`FOOTER_SIZE` bytes, checked
    against the magic number and the file size before anything else is read."""
    if file_size < FOOTER_SIZE or len(footer) < FOOTER_SIZE:
        raise _Malformed(f"file is {file_size} bytes, shorter than the {FOOTER_SIZE}-byte footer")
    footer = memoryview(footer)[len(footer) - FOOTER_SIZE:]
    magic = struct.unpack_from("<Q", footer, FOOTER_SIZE - 8)[0]
    if magic != TABLE_MAGIC:
        raise _Malformed(f"bad magic number 0x{magic:016x} (not a TensorFlow/LevelDB table, "
                         "or truncated)")
    _, _, pos = _block_handle(footer, 0)  # the metaindex block: TF writes no filter blocks
    index_offset, index_size, _ = _block_handle(footer, pos)
    if index_offset + index_size + BLOCK_TRAILER_SIZE > file_size - FOOTER_SIZE:
        raise _Malformed(f"index block at byte {index_offset} (+{index_size}) runs past the "
                         f"end of the file ({file_size} bytes): truncated")
    return index_offset, index_size


def read_table(data: bytes) -> Iterator[tuple[bytes, memoryview]]:
    """All (key, value) pairs of a LevelDB table held in ``data``, in key order.

    Linear in ``len(data)``: the data blocks must follow each other without overlapping (as
    every writer lays them out), so no block is read twice however many index entries point
    at it, and keys are capped at :data:`MAX_KEY_BYTES`.
    """
    index_offset, index_size = read_footer(memoryview(data)[-FOOTER_SIZE:], len(data))
    next_free = 0
    for _, handle in _block_entries(_read_block(data, index_offset, index_size)):
        offset, size, _ = _block_handle(handle, 0)
        if offset < next_free or offset + size + BLOCK_TRAILER_SIZE > index_offset:
            raise _Malformed(f"data block at byte {offset} (+{size}) overlaps another block or "
                             "the index: not a table any writer lays out")
        next_free = offset + size + BLOCK_TRAILER_SIZE
        yield from _block_entries(_read_block(data, offset, size))


# --------------------------------------------------------------------------------------------
# The bundle
# --------------------------------------------------------------------------------------------


_CHECKPOINT_LINE = re.compile(r'^\s*model_checkpoint_path\s*:\s*"((?:[^"\\]|\\.)*)"\s*$', re.M)


def checkpoint_prefix(directory: Path) -> Path:
    """The checkpoint prefix in ``directory``: from its ``checkpoint`` file, else the only ``*.index``.

    The ``checkpoint`` file may hold an absolute path from the machine that wrote it; when that
    does not exist, the same file name inside ``directory`` is used (a moved download).
    """
    state = directory / "checkpoint"
    if state.is_file():
        if state.stat().st_size > MAX_CHECKPOINT_FILE:
            raise GptcoreError(f"{state} is {state.stat().st_size} bytes, not a checkpoint state "
                               f"file (at most {MAX_CHECKPOINT_FILE})")
        match = _CHECKPOINT_LINE.search(state.read_text(encoding="utf-8", errors="replace"))
        if not match:
            raise GptcoreError(f"{state} has no model_checkpoint_path line")
        named = Path(match.group(1).encode().decode("unicode_escape"))
        for candidate in (directory / named, directory / named.name):
            if Path(f"{candidate}.index").is_file():
                return candidate
        raise GptcoreError(f"checkpoint index not found: {directory / named.name}.index "
                           f"(named by {state})")
    indexes = sorted(directory.glob("*.index"))
    if len(indexes) != 1:
        raise GptcoreError(f"no checkpoint file in {directory}, and {len(indexes)} *.index files "
                           "instead of one")
    return indexes[0].with_suffix("")


def shard_path(prefix: Path, shard: int, num_shards: int) -> Path:
    """``PREFIX.data-0000S-of-0000N``, as TensorFlow names data shards."""
    return Path(f"{prefix}.data-{shard:05d}-of-{num_shards:05d}")


class TensorBundle:
    """An opened checkpoint: its entries, read from the index; tensors read on demand."""

    def __init__(self, prefix: Path) -> None:
        self.prefix = Path(prefix)
        self.index_path = Path(f"{self.prefix}.index")
        if not self.index_path.is_file():
            raise GptcoreError(f"checkpoint index not found: {self.index_path}")
        self.header: BundleHeader | None = None
        self.entries: dict[str, BundleEntry] = {}
        name = "<table>"
        try:
            data = self._read_index()
            for key, value in read_table(data):
                name = key.decode("utf-8", errors="replace") or "<header>"
                if key == b"":
                    self.header = parse_header(bytes(value))
                else:
                    self.entries[name] = parse_entry(name, bytes(value))
        except WireError as exc:
            where = "" if name == "<table>" else f" (after entry {name})"
            raise GptcoreError(f"corrupt checkpoint index {self.index_path}{where}: {exc}") from None
        if self.header is None:
            raise GptcoreError(f"corrupt checkpoint index {self.index_path}: no bundle header entry")
        if self.header.num_shards < 1:
            raise GptcoreError(f"corrupt checkpoint index {self.index_path}: "
                               f"{self.header.num_shards} data shards")

    def _read_index(self) -> bytes:
        """The whole ``.index``, read only after its footer checks out (a file that is not a
        table costs 48 bytes of reading, not its size)."""
        try:
            with self.index_path.open("rb") as f:
                size = f.seek(0, 2)
                f.seek(max(0, size - FOOTER_SIZE))
                read_footer(f.read(FOOTER_SIZE), size)
                f.seek(0)
                return f.read()
        except OSError as exc:
            raise GptcoreError(f"cannot read checkpoint index {self.index_path}: "
                               f"{exc.strerror or exc}") from None

    def shard(self, shard_id: int) -> Path:
        """Path of data shard ``shard_id``."""
        assert self.header is not None
        return shard_path(self.prefix, shard_id, self.header.num_shards)

    def read(self, name: str, verify: bool = True) -> torch.Tensor:
        """Variable ``name`` as a CPU tensor (a copy; ``verify`` checks the stored crc32c)."""
        assert self.header is not None
        if name not in self.entries:
            raise GptcoreError(f"variable {name} not found in {self.index_path}")
        entry = self.entries[name]
        if entry.sliced:
            raise GptcoreError(f"variable {name} in {self.index_path} is partitioned into "
                               "slices, which is not supported")
        if entry.dtype not in TF_DTYPES:
            raise GptcoreError(f"variable {name} in {self.index_path} has unsupported dtype "
                               f"{entry.dtype_name}")
        if not 0 <= entry.shard_id < self.header.num_shards:
            raise GptcoreError(f"variable {name} in {self.index_path} names shard "
                               f"{entry.shard_id} of {self.header.num_shards}")
        dtype = TF_DTYPES[entry.dtype][1]
        if self.header.big_endian:
            dtype = dtype.newbyteorder(">")
        count = math.prod(entry.shape)
        if any(d < 0 for d in entry.shape) or count * dtype.itemsize != entry.size:
            raise GptcoreError(
                f"variable {name} in {self.index_path}: {entry.size} bytes recorded, but shape "
                f"{entry.shape} of {entry.dtype_name} needs {max(count, 0) * dtype.itemsize}")
        path = self.shard(entry.shard_id)
        try:
            with path.open("rb") as f:
                file_size = f.seek(0, 2)
                if entry.offset < 0 or entry.offset + entry.size > file_size:
                    raise GptcoreError(
                        f"truncated data file {path}: variable {name} needs bytes "
                        f"{entry.offset}..{entry.offset + entry.size}, file has {file_size}")
                buf = bytearray(entry.size)  # allocated only once the file is known to hold it
                f.seek(entry.offset)
                got = f.readinto(buf)
        except OSError as exc:
            raise GptcoreError(f"cannot read variable {name} from {path}: "
                               f"{exc.strerror or exc}") from None
        if got != entry.size:
            raise GptcoreError(
                f"truncated data file {path}: variable {name} needs bytes "
                f"{entry.offset}..{entry.offset + entry.size}, file has {path.stat().st_size}")
        if verify and entry.crc32c is not None and crc32c(buf) != unmask_crc(entry.crc32c):
            raise GptcoreError(f"crc32c mismatch for variable {name} in {path}: "
                               "the data file is corrupt")
        array = np.frombuffer(buf, dtype=dtype).reshape(entry.shape)
        if self.header.big_endian:
            array = array.astype(dtype.newbyteorder("="))
        tensor = torch.from_numpy(array)
        return tensor.view(torch.bfloat16) if entry.dtype == DT_BFLOAT16 else tensor


def open_bundle(path: Path) -> TensorBundle:
    """A checkpoint from a directory (via its ``checkpoint`` file), a prefix or a ``.index`` file."""
    path = Path(path)
    if path.is_dir():
        return TensorBundle(checkpoint_prefix(path))
    if path.suffix == ".index":
        return TensorBundle(path.with_suffix(""))
    return TensorBundle(path)


__all__ = [
    "BundleEntry", "BundleHeader", "TF_DTYPES", "TensorBundle", "checkpoint_prefix", "crc32c",
    "crc32c_python", "mask_crc", "open_bundle", "parse_entry", "parse_header", "proto_fields",
    "read_table", "read_varint", "shard_path", "unmask_crc",
]
