"""Readers of foreign weight formats are bounded: crafted files are refused fast, small, in one line.

Each case is a file an attacker (or a bad download) could hand to ``gptcore``: a TensorFlow
``.index`` whose work would grow as entries x block size, one whose footer is wrong on a huge
file, a tensor claiming terabytes, safetensors headers that lie about their length. Each must
be rejected within :data:`TIME_LIMIT` seconds, allocating at most :data:`MEMORY_LIMIT` bytes
(tracemalloc), with one line naming the file.
"""

from __future__ import annotations

import json
import struct
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from gptcore.errors import GptcoreError
from gptcore.platform.tfbundle import (
    BLOCK_TRAILER_SIZE,
    TABLE_MAGIC,
    TensorBundle,
    crc32c,
    mask_crc,
    open_bundle,
)
from gptcore.platform.weights import MAX_JSON_FILE, check_safetensors_header, read_json, read_tensors

from tests.gptcore.test_gpt2_openai import _block, entry_proto, field, varint, write_bundle

TIME_LIMIT = 2.0
MEMORY_LIMIT = 8 * 1024 * 1024


def rejected(call: Callable[[], object], *names: str) -> str:
    """Run ``call``; it must raise one GptcoreError naming ``names``, fast and small."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(GptcoreError) as info:
            call()
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert seconds < TIME_LIMIT, f"took {seconds:.2f} s: {message}"
    assert peak < MEMORY_LIMIT, f"allocated {peak} bytes: {message}"
    assert "\n" not in message
    for name in names:
        assert name in message
    return message


def table(blocks: list[bytes], index_handles: list[tuple[bytes, tuple[int, int]]]) -> bytes:
    """A LevelDB table from raw data blocks and an index whose handles point anywhere."""
    out = bytearray()

    def put(contents: bytes) -> tuple[int, int]:
        handle = (len(out), len(contents))
        trailer = b"\0"
        out.extend(contents + trailer + struct.pack("<I", mask_crc(crc32c(contents + trailer))))
        return handle

    for b in blocks:
        put(b)
    meta = put(_block([]))
    index = put(_block([(k, varint(o) + varint(s)) for k, (o, s) in index_handles],
                       restart_interval=1))
    footer = (varint(meta[0]) + varint(meta[1]) + varint(index[0]) + varint(index[1]))
    return bytes(out + footer.ljust(40, b"\0") + struct.pack("<Q", TABLE_MAGIC))


def test_an_index_pointing_at_one_big_block_many_times_is_refused_fast(tmp_path):
    """The audit's 410 KB .index: ~100k index entries all naming one ~300 KB block."""
    big = _block([(b"", field(1, 1)), (b"a", b"x" * 300_000)])
    handle = (0, len(big))
    handles = [(b"k%06d" % i, handle) for i in range(12_000)]
    index = tmp_path / "ckpt.index"
    index.write_bytes(table([big], handles))
    assert index.stat().st_size > 300_000
    rejected(lambda: TensorBundle(tmp_path / "ckpt"), str(index), "overlaps")


def test_a_huge_shared_key_prefix_repeated_in_every_entry_is_refused(tmp_path):
    """Entries of 3 bytes that each rebuild a 100 KB key: quadratic copying, unless capped."""
    first = varint(0) + varint(100_000) + varint(0) + b"k" * 100_000
    rest = (varint(100_000) + varint(0) + varint(0)) * 50_000
    block = first + rest + struct.pack("<I", 0) + struct.pack("<I", 1)
    index = tmp_path / "ckpt.index"
    index.write_bytes(table([block], [(b"z", (0, len(block)))]))
    rejected(lambda: TensorBundle(tmp_path / "ckpt"), str(index), "key of")


def test_a_huge_index_with_a_bad_footer_is_refused_without_reading_it(tmp_path):
    index = tmp_path / "ckpt.index"
    with index.open("wb") as f:
        f.truncate(512 * 1024 * 1024)  # sparse: 512 MB of zeros, no magic number
    rejected(lambda: TensorBundle(tmp_path / "ckpt"), str(index), "bad magic number")


def test_an_index_block_past_the_end_is_refused_before_reading(tmp_path):
    index = tmp_path / "ckpt.index"
    footer = (varint(0) + varint(0) + varint(1 << 40) + varint(1 << 20)).ljust(40, b"\0")
    with index.open("wb") as f:
        f.truncate(64 * 1024 * 1024)
        f.seek(0, 2)
        f.write(footer + struct.pack("<Q", TABLE_MAGIC))
    rejected(lambda: TensorBundle(tmp_path / "ckpt"), str(index), "runs past the end")


@pytest.mark.parametrize("shape,size", [((1 << 38,), 1 << 40), ((1 << 20, 1 << 20), 1 << 42)])
def test_a_tensor_claiming_more_than_its_data_file_holds_is_refused_before_allocating(
        tmp_path, shape, size):
    prefix = tmp_path / "ckpt"
    write_bundle(prefix, {"w": np.zeros(4, np.float32)})
    items = [(b"", field(1, 1)), (b"w", entry_proto(1, shape, 0, 0, size, None))]
    index = Path(f"{prefix}.index")
    index.write_bytes(table([_block(items)], [(b"w", (0, len(_block(items))))]))
    bundle = open_bundle(index)
    rejected(lambda: bundle.read("w"), "truncated data file", f"{prefix}.data-00000-of-00001")


def test_a_negative_offset_is_refused(tmp_path):
    prefix = tmp_path / "ckpt"
    write_bundle(prefix, {"w": np.zeros(4, np.float32)})
    items = [(b"", field(1, 1)), (b"w", entry_proto(1, (4,), 0, -8, 16, None))]
    block = _block(items)
    Path(f"{prefix}.index").write_bytes(table([block], [(b"w", (0, len(block)))]))
    rejected(lambda: open_bundle(prefix).read("w"), "variable w")


def test_a_huge_checkpoint_state_file_is_refused(tmp_path):
    write_bundle(tmp_path / "ckpt", {"w": np.zeros(2, np.float32)})
    with (tmp_path / "checkpoint").open("wb") as f:
        f.truncate(64 * 1024 * 1024)
    rejected(lambda: open_bundle(tmp_path), str(tmp_path / "checkpoint"))


def test_good_bundles_still_read_and_blocks_are_checked_in_order(tmp_path):
    arrays = {f"v{i:03d}": np.arange(i + 1, dtype=np.float32) for i in range(60)}
    write_bundle(tmp_path / "ckpt", arrays, block_size=64)
    bundle = open_bundle(tmp_path)
    for name, array in arrays.items():
        assert np.array_equal(bundle.read(name).numpy(), array)
    assert BLOCK_TRAILER_SIZE == 5


# -- safetensors ------------------------------------------------------------------------------
def safetensors_bytes(header: dict, data: bytes = b"", length: int | None = None) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


SAFETENSORS_CASES = {
    "length beyond the file": (safetensors_bytes({}, length=1 << 62), "header length"),
    "length just past the end": (safetensors_bytes({"a": 1}, length=100), "header length"),
    "shorter than 8 bytes": (b"\x01\x02", "shorter than the 8-byte"),
    "header not JSON": (struct.pack("<Q", 4) + b"\xff\xfe{]", "not JSON"),
    "header a list": (safetensors_bytes([1, 2]), "JSON object"),  # type: ignore[arg-type]
    "offsets past the data": (safetensors_bytes(
        {"w": {"dtype": "F32", "shape": [1 << 30], "data_offsets": [0, 1 << 32]}}, b"\0" * 16),
        "'w' claims bytes"),
    "negative offsets": (safetensors_bytes(
        {"w": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}}, b"\0" * 4), "'w' claims"),
}


@pytest.mark.parametrize("case", sorted(SAFETENSORS_CASES))
def test_crafted_safetensors_headers_are_refused_in_one_line(tmp_path, case):
    raw, words = SAFETENSORS_CASES[case]
    path = tmp_path / "model.safetensors"
    path.write_bytes(raw)
    rejected(lambda: read_tensors(path), str(path), words)


def test_a_sparse_huge_safetensors_file_with_a_lying_header_is_refused_small(tmp_path):
    path = tmp_path / "model.safetensors"
    with path.open("wb") as f:
        f.write(struct.pack("<Q", 90 * 1024 * 1024))  # under the cap, data all zeros: not JSON
        f.truncate(8 + 90 * 1024 * 1024)
    with pytest.raises(GptcoreError, match="not JSON"):
        check_safetensors_header(path)


def test_good_safetensors_still_read(tmp_path):
    import torch
    from safetensors.torch import save_file

    path = tmp_path / "model.safetensors"
    save_file({"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}, str(path))
    assert set(check_safetensors_header(path)) >= {"w"}
    assert torch.equal(read_tensors(path)["w"], torch.arange(6, dtype=torch.float32).reshape(2, 3))


def test_a_huge_json_config_is_refused_before_reading(tmp_path):
    path = tmp_path / "config.json"
    with path.open("wb") as f:
        f.write(b'{"n_embd": "')
        f.truncate(MAX_JSON_FILE + 1)
    rejected(lambda: read_json(path), str(path), "bytes, more than")
