"""``gptcore prepare`` and ``gptcore eval``: thin click commands over gptcore.data / gptcore.eval."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import click
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from gptcore.cli.console import echo, err
from gptcore.data.manifest import MANIFEST
from gptcore.data.preparation import encode_sources, prepare
from gptcore.data.ranks import Share
from gptcore.data.sources import resolve_sources
from gptcore.data.shards import TokenShards
from gptcore.data.vocab import load_vocabulary
from gptcore.errors import GptcoreError
from gptcore.eval.bpb import evaluate
from gptcore.generation.decoding import check_vocabulary
from gptcore.platform import registry
from gptcore.runs.directory import check_fingerprint
from gptcore.training import distributed


@click.command("prepare")
@click.option("--tokenizer", required=True, help="tokenkit vocabulary: a path, gpt2, tiktoken:NAME.")
@click.option("--data", "sources", required=True, multiple=True,
              help="Text, JSONL or Parquet file (plain, .gz, .zst), directory or tokenkit corpus name "
                   "(repeatable).")
@click.option("--text-field", default="text", show_default=True,
              help="The field holding each record's text in JSONL / Parquet data.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the shards and manifest.json.")
@click.option("--val-fraction", type=float, default=0.1, show_default=True,
              help="Documents held out (or the tail of a single document).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds which documents are held out.")
@click.option("--context-length", type=int, default=None,
              help="Refuse splits too short for one sequence of this length.")
@click.option("--workers", type=int, default=None, help="Encoding threads [all cores].")
@click.option("--force", is_flag=True,
              help="Rebuild OUT when it holds other (stale) shards (never a directory of other files).")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def prepare_cmd(tokenizer: str, sources: tuple[str, ...], text_field: str, out: Path, val_fraction: float,
                seed: int,
                context_length: int | None, workers: int | None, force: bool, as_json: bool) -> None:
    """Encode text once into memory-mapped token shards that pretrain and eval read.

    Under torchrun each rank encodes its share of the documents (OUT on a file system every
    rank sees); the shards equal those of one process.

    \b
    Example: gptcore prepare --tokenizer gpt2 --data the-verdict --out data/verdict
      torchrun --nnodes 2 --nproc-per-node 8 ... -m gptcore prepare --tokenizer gpt2 --data big/ --out data/big
    """
    start = time.perf_counter()
    where = distributed.setup("cpu") if distributed.launched_by_torchrun() else None
    share = Share(where.rank, where.world_size, lambda flag: distributed.any_rank(flag, where)) if where else Share()
    if workers is None and where is not None:  # the ranks on one machine share its cores
        workers = max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    try:
        with Progress(TextColumn("encoding"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                      TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=True,
                      disable=as_json or not err.is_terminal or not share.is_main) as bar:
            task = bar.add_task("encoding", total=_text_bytes(sources) // share.world_size or None)
            manifest = prepare(tokenizer, sources, out, val_fraction=val_fraction, seed=seed,
                               context_length=context_length, force=force, workers=workers,
                               on_progress=lambda n: bar.advance(task, n), share=share,
                               text_field=text_field)
    finally:
        distributed.teardown()
    if not share.is_main:
        return
    seconds = time.perf_counter() - start
    if as_json:
        echo(json.dumps(manifest.to_json(), indent=2, ensure_ascii=False))
        return
    total = sum(s.bytes for s in manifest.splits.values())
    verb = "up to date" if manifest.reused else f"wrote in {seconds:.1f} s ({total / 1e6 / seconds:.1f} MB/s)"
    echo(f"{out}: {verb}; {manifest.tokenizer.name} ({manifest.tokenizer.vocab_size} ids, "
               f"{manifest.dtype}), split by {manifest.split_by}")
    for name, split in manifest.splits.items():
        echo(f"  {name:5} {split.documents:>8} documents {split.tokens:>12,} tokens "
                   f"{split.bytes / 1e6:>10.2f} MB  {len(split.shards)} shard(s)")


def _text_bytes(sources: tuple[str, ...]) -> int:
    """The sources' size on disk: the progress bar's total, for its ETA (0 when unknown)."""
    try:
        return sum(path.stat().st_size for _, path in resolve_sources(sources))
    except (GptcoreError, OSError):
        return 0  # prepare itself reports the bad source, in one line


@click.command("eval")
@click.argument("model")
@click.option("--data", "sources", required=True, multiple=True,
              help="A prepared shard directory, or text files / corpus names (repeatable).")
@click.option("--tokenizer", default=None, help="Vocabulary [the model's, or the shards'].")
@click.option("--split", default="val", show_default=True, help="Split of a shard directory.")
@click.option("--loader", default=None, help="Force a loader (default: detect).")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--context-length", type=click.IntRange(min=1), default=None, help="[the model's]")
@click.option("--max-batches", type=click.IntRange(min=1), default=None, help="[all]")
@click.option("--json", "as_json", is_flag=True)
def eval_cmd(model: str, sources: tuple[str, ...], tokenizer: str | None, split: str, loader: str | None,
             batch_size: int, context_length: int | None, max_batches: int | None, as_json: bool) -> None:
    """Loss, perplexity and bits per byte of MODEL (checkpoint or any loadable model) on text.

    \b
    Example: gptcore eval runs/verdict/checkpoint --data data/verdict
    """
    loaded = registry.load_model(model, loader)
    shards = TokenShards(sources[0]) if len(sources) == 1 and (Path(sources[0]) / MANIFEST).is_file() else None
    spec = tokenizer or loaded.vocabulary or (shards.manifest.tokenizer.spec if shards else None)
    if not spec:
        raise GptcoreError(f"no --tokenizer given and neither {model} nor the data records a vocabulary")
    vocab = load_vocabulary(spec)
    check_vocabulary(loaded.model, vocab)
    check_fingerprint(loaded.model, vocab, model)
    if shards is not None:
        shards.check_vocabulary(vocab)
        shards.check_ids(loaded.model.config.vocab_size)
        data: Any = shards
    else:
        data, _ = encode_sources(vocab, sources)
    result = evaluate(loaded.model, data, vocab, split=split, batch_size=batch_size,
                      context_length=context_length, max_batches=max_batches)
    if as_json:
        echo(json.dumps(result.__dict__))
        return
    echo(f"loss {result.loss:.4f}  perplexity {result.perplexity:.2f}  bits/byte "
               f"{result.bits_per_byte:.4f}  ({result.tokens:,} tokens, {result.bytes:,} bytes)")


__all__ = ["eval_cmd", "prepare_cmd"]
