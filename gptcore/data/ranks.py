"""Preparing shards on several processes: each rank encodes a contiguous run of documents into
part files, and rank 0 joins the parts into the shards and the one manifest.

Under ``torchrun --nnodes N --nproc-per-node M -m gptcore prepare ...`` every rank scans the
sources (cheap: hashing), takes documents ``[r * n / W, (r + 1) * n / W)`` in source order and
encodes them exactly as one process would (the same chunking, the same split of each document),
into ``.OUT.parts/rank-RRRRR/`` beside ``OUT`` on the shared file system. Rank 0 then copies the
parts in rank order into the final shards, putting the end-of-text id between the last document
of one part and the first of the next, as one process puts it between any two documents. The
token stream is therefore byte-for-byte the single-process one (tested with 2 gloo processes).

The parts directory carries a marker file; only a directory with that marker is ever removed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from gptcore.data.manifest import SPLITS, SplitInfo
from gptcore.data.writer import SplitWriter
from gptcore.errors import GptcoreError

PARTS_MARKER = "gptcore-prepare-parts.json"
PART_INFO = "part.json"
_T = TypeVar("_T")
#: Tokens copied at a time when joining parts (64 MiB at uint32).
COPY_TOKENS = 1 << 24


def _alone(flag: bool) -> bool:
    return flag


@dataclass(frozen=True)
class Share:
    """Which documents this process encodes, and how it waits for the others.

    ``sync(flag)`` waits until every rank has called it and returns True when any rank passed
    True: a barrier that also tells every rank whether another one failed. Under torchrun the
    CLI passes an all-reduce (:func:`gptcore.training.distributed.any_rank`); the data stage
    itself never imports the process-group code.
    """

    rank: int = 0
    world_size: int = 1
    sync: Callable[[bool], bool] = field(default=_alone, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.rank < self.world_size:
            raise GptcoreError(f"rank {self.rank} is outside world size {self.world_size}")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def split(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        self.sync(False)

    def documents(self, n: int) -> range:
        """This rank's contiguous run of the ``n`` documents (possibly empty)."""
        return range(self.rank * n // self.world_size, (self.rank + 1) * n // self.world_size)


def together(share: Share, work: Callable[[], _T], what: str,
             on_failure: Callable[[], None] | None = None) -> _T | None:
    """Run ``work`` on this rank, then wait for every rank. When any rank failed, every rank
    raises: the failing one its own error, the others one line saying so (so no rank is left
    waiting at a barrier); rank 0 first runs ``on_failure`` (cleaning up what was written)."""
    failure: Exception | None = None
    result: _T | None = None
    try:
        result = work()
    except Exception as e:  # noqa: BLE001 - every rank must hear of it
        failure = e
    if share.sync(failure is not None):
        if share.is_main and on_failure is not None:
            on_failure()
        if failure is not None:
            raise failure
        raise GptcoreError(f"another rank failed while {what} (its error says why)")
    return result


def parts_directory(out: Path) -> Path:
    return out.parent / f".{out.name}.parts"


def open_parts(out: Path, share: Share) -> Path:
    """Rank 0 makes (or clears its own stale) parts directory; every rank returns its path."""
    parts = parts_directory(out)

    def make() -> None:
        if not share.is_main:
            return
        if parts.is_symlink() or (parts.exists() and not (parts / PARTS_MARKER).is_file()):
            raise GptcoreError(f"{parts} exists and was not written by gptcore prepare; "
                               "move it away and run again")
        if parts.exists():
            shutil.rmtree(parts)  # a killed earlier run's parts: ours (it holds the marker)
        parts.mkdir(parents=True)
        (parts / PARTS_MARKER).write_text(json.dumps({"out": str(out), "world_size": share.world_size}) + "\n",
                                          encoding="utf-8")

    together(share, make, f"making {parts}")
    return parts


def rank_directory(parts: Path, rank: int) -> Path:
    return parts / f"rank-{rank:05d}"


def write_part_info(directory: Path, writers: dict[str, SplitWriter]) -> None:
    info = {name: {"tokens": w.tokens, "bytes": w.bytes, "documents": w.documents,
                   "files": [s.file for s in w.shards]} for name, w in writers.items()}
    (directory / PART_INFO).write_text(json.dumps(info) + "\n", encoding="utf-8")


def join_parts(parts: Path, world_size: int, directory: Path, dtype: str, shard_tokens: int,
               eot: int | None) -> dict[str, SplitInfo]:
    """Rank 0: copy every rank's parts, in rank order, into the final shards in ``directory``."""
    writers = {s: SplitWriter(directory, s, dtype, shard_tokens, eot) for s in SPLITS}
    for rank in range(world_size):
        part = rank_directory(parts, rank)
        try:
            info = json.loads((part / PART_INFO).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise GptcoreError(f"rank {rank} left no readable {part / PART_INFO}: {e}") from None
        for name, writer in writers.items():
            got = info[name]
            if got["documents"] == 0:
                continue
            sep = writer.separator()  # counts the part's first document, gives the separator
            if sep is not None:
                writer.write(sep)
            writer.documents += got["documents"] - 1
            writer.bytes += got["bytes"]
            copied = 0
            for file in got["files"]:
                ids = np.memmap(part / Path(file).name, dtype=np.dtype(dtype).newbyteorder("<"), mode="r")
                for start in range(0, len(ids), COPY_TOKENS):
                    writer.write(np.asarray(ids[start:start + COPY_TOKENS]))
                copied += len(ids)
                del ids
            if copied != got["tokens"]:
                raise GptcoreError(f"rank {rank}'s {name} part holds {copied} tokens, "
                                   f"its {PART_INFO} says {got['tokens']}")
    return {name: writer.close() for name, writer in writers.items()}


def remove_parts(parts: Path) -> None:
    if (parts / PARTS_MARKER).is_file() and not parts.is_symlink():
        shutil.rmtree(parts, ignore_errors=True)
