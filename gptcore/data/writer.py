"""Writing token shards: one writer per split, fed by a bounded parallel encoding pipeline."""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from gptcore.data.encoding import Encoder
from gptcore.data.manifest import ShardInfo, SplitInfo
from gptcore.errors import GptcoreError

#: Tokens per shard file (256 MiB at uint16); a split larger than this gets several files.
SHARD_TOKENS = 1 << 27


class SplitWriter:
    """Appends ids of one split to numbered shard files; counts tokens, bytes, documents."""

    def __init__(self, directory: Path | None, split: str, dtype: str, shard_tokens: int,
                 eot: int | None) -> None:
        self.directory, self.split, self.dtype = directory, split, np.dtype(dtype)
        self.shard_tokens, self.eot = shard_tokens, eot
        self.tokens = self.bytes = self.documents = 0
        self.shards: list[ShardInfo] = []
        self._file: Any = None
        self._in_shard = 0
        self.memory: list[np.ndarray] = []  # used when directory is None (in-memory encode)

    def separator(self) -> np.ndarray | None:
        """Start a document: the end-of-text separator to write before it, if any."""
        self.documents += 1
        if self.documents > 1 and self.eot is not None:
            return np.array([self.eot], dtype=self.dtype)
        return None

    def write(self, ids: np.ndarray) -> None:
        if self.directory is None:
            self.memory.append(ids)
            self.tokens += len(ids)
            return
        while len(ids):
            if self._file is None or self._in_shard == self.shard_tokens:
                self._roll()
            take = min(len(ids), self.shard_tokens - self._in_shard)
            self._file.write(ids[:take].astype(self.dtype.newbyteorder("<"), copy=False).tobytes())
            self._in_shard += take
            self.tokens += take
            ids = ids[take:]

    def _roll(self) -> None:
        self._close_file()
        name = f"{self.split}-{len(self.shards):05d}.bin"
        assert self.directory is not None
        self._file = open(self.directory / name, "wb")  # noqa: SIM115 - closed in _close_file
        self.shards.append(ShardInfo(name, 0))

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self.shards[-1] = ShardInfo(self.shards[-1].file, self._in_shard)
            self._file, self._in_shard = None, 0

    def close(self) -> SplitInfo:
        self._close_file()
        return SplitInfo(self.tokens, self.bytes, self.documents, tuple(self.shards))


class Pipeline:
    """Encode chunks on a thread pool (tiktoken, HF tokenizers release the GIL), write in order.

    At most ``2 * workers`` chunks are in flight, which bounds memory.
    """

    def __init__(self, encoder: Encoder, workers: int, vocab_size: int) -> None:
        self.encoder, self.vocab_size = encoder, vocab_size
        self.pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="gptcore-encode")
        self.limit = 2 * max(1, workers)
        self.pending: deque[tuple[SplitWriter, Future[np.ndarray] | np.ndarray]] = deque()

    def _encode(self, text: str) -> np.ndarray:
        ids = np.asarray(self.encoder.encode(text), dtype=np.uint32)
        if ids.size and int(ids.max()) >= self.vocab_size:
            raise GptcoreError(f"the vocabulary produced id {int(ids.max())}, outside its size "
                               f"{self.vocab_size}")
        return ids

    def put_ids(self, writer: SplitWriter, ids: np.ndarray) -> None:
        self.pending.append((writer, ids))

    def put_text(self, writer: SplitWriter, text: str) -> None:
        self.pending.append((writer, self.pool.submit(self._encode, text)))
        while len(self.pending) > self.limit:
            self._drain_one()

    def _drain_one(self) -> None:
        writer, item = self.pending.popleft()
        writer.write(item.result() if isinstance(item, Future) else item)

    def finish(self) -> None:
        while self.pending:
            self._drain_one()

    def close(self) -> None:
        for _, item in self.pending:
            if isinstance(item, Future):
                item.cancel()
        self.pool.shutdown(wait=True)
