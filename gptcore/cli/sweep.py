"""``gptcore vocab-sweep``: a thin click command over :mod:`gptcore.sweep`."""

from __future__ import annotations

from pathlib import Path

import click

from tokenkit.sweep import parse_sizes

from gptcore.cli.common import default, parse_sets
from gptcore.cli.console import echo, err, progress
from gptcore.sweep.config import DEFAULT_BUDGET_BYTES, SweepConfig, SweepEvent, SweepResult
from gptcore.sweep.runner import run_sweep
from gptcore.training.hostmemory import keep_freed_blocks

S = SweepConfig


def _table(result: SweepResult) -> list[str]:
    runs = {r.vocab_size: r for r in result.runs}
    lines = [f"{'vocab':>7} {'actual':>7} {'bytes/tok':>9} {'ctx tok':>7} {'emb params':>11} "
             f"{'rest params':>11} {'train tok':>11} {'val loss':>8} {'bits/byte':>9} {'± std':>7}"]
    for s in result.summary:
        r = runs[s.vocab_size]
        lines.append(f"{s.vocab_size:>7,} {s.actual_vocab_size:>7,} {s.bytes_per_token:>9.3f} "
                     f"{r.context_tokens:>7} {r.params_embedding:>11,} {r.params_rest:>11,} "
                     f"{r.train_tokens:>11,} {r.val_loss:>8.4f} {s.bpb_mean:>9.4f} {s.bpb_std:>7.4f}")
    return lines


@click.command("vocab-sweep", short_help="Bits per byte against vocabulary size: one model pretrained per vocabulary.")
@click.argument("corpus", nargs=-1, required=True)
@click.option("--vocab", "sizes", default=",".join(map(str, default(S, "sizes"))), show_default=True,
              help="Comma-separated vocabulary sizes (k = thousands); 256 = the bare byte vocabulary.")
@click.option("--backend", type=click.Choice(["hf", "sentencepiece"]), default=default(S, "backend"),
              show_default=True, help="tokenkit backend of the trained vocabularies.")
@click.option("--arch", default=None, help=f"Architecture [{default(S, 'arch')}, unless --preset names one].")
@click.option("--preset", default=default(S, "preset"), help="Model preset (width, depth, ...).")
@click.option("--set", "sets", multiple=True,
              help="Model config override key=value (repeatable); vocab_size and context_length are "
                   "set per vocabulary.")
@click.option("--bytes", "budget_bytes", type=int, default=None,
              help=f"Equal budget in training bytes per run [{DEFAULT_BUDGET_BYTES:,}].")
@click.option("--flops", "budget_flops", type=float, default=None,
              help="Equal budget in training FLOPs per run instead: 6*N_rest*tokens + "
                   "12*n_layers*emb_dim*context_tokens*tokens (N_rest: parameters outside the "
                   "embeddings and head).")
@click.option("--seeds", type=int, default=default(S, "seeds"), show_default=True,
              help="Runs per vocabulary (seeds 0..N-1: initialisation and batch order).")
@click.option("--context-bytes", type=int, default=default(S, "context_bytes"), show_default=True,
              help="Context in bytes; in tokens it is this / bytes per token, rounded.")
@click.option("--batch-size", type=int, default=default(S, "batch_size"), show_default=True)
@click.option("--lr", type=float, default=default(S, "lr"), show_default=True)
@click.option("--val-fraction", type=float, default=default(S, "val_fraction"), show_default=True,
              help="Documents held out (or the tail of a single document).")
@click.option("--split-seed", type=int, default=default(S, "split_seed"), show_default=True,
              help="Seeds which documents are held out.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default=default(S, "device"),
              show_default=True)
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Sweep directory (continued when it holds this sweep).")
@click.option("--force", is_flag=True, help="Start again in an --out that holds other settings.")
def vocab_sweep_cmd(corpus: tuple[str, ...], sizes: str, backend: str, arch: str | None, preset: str | None,
                    sets: tuple[str, ...], budget_bytes: int | None, budget_flops: float | None, seeds: int,
                    context_bytes: int, batch_size: int, lr: float, val_fraction: float, split_seed: int,
                    device: str, out: Path, force: bool) -> None:
    """Which vocabulary makes the better model: pretrain the same model on one vocabulary per
    size and compare validation bits per byte at equal training bytes (or FLOPs).

    The corpus is split once; each vocabulary is trained on the training split only. Width,
    depth and context in bytes are fixed. Writes OUT/results.csv, results.json, bpb.png and a
    directory per run; an interrupted sweep continues where it stopped. Minutes to hours:
    `tokenkit sweep` is the fast sweep that measures compression only, with no model.

    \b
    Example: gptcore vocab-sweep tinyshakespeare --vocab 256,1000,4000 --seeds 1 --bytes 300000 \\
               --set emb_dim=64 --set n_layers=2 --set n_heads=2 --context-bytes 128 --out runs/sweep
    """
    config = SweepConfig(
        sources=corpus, sizes=tuple(parse_sizes(sizes)), backend=backend,
        arch=arch or (None if preset else default(S, "arch")), preset=preset, model=parse_sets(sets),
        budget_bytes=budget_bytes, budget_flops=budget_flops, seeds=seeds, context_bytes=context_bytes,
        batch_size=batch_size, lr=lr, val_fraction=val_fraction, split_seed=split_seed, device=device)
    keep_freed_blocks()  # reuse each step's large CPU buffers instead of refaulting them (hostmemory)
    with progress() as bar:
        task = bar.add_task("vocab-sweep", total=None)

        def on_event(event: SweepEvent) -> None:
            if event.kind == "warning":
                err.print(f"warning: {event.message}")
            elif event.kind == "run":
                bar.update(task, completed=event.done, total=event.total, description=event.message)
            else:
                bar.update(task, description=event.message,
                           **({"total": event.total} if event.total else {}))

        result = run_sweep(config, out, force=force, on_event=on_event)
    for line in _table(result):
        echo(line)
    best = result.best()
    echo(f"lowest validation bits per byte: vocab {best.vocab_size:,} (actual {best.actual_vocab_size:,}), "
         f"{best.bpb_mean:.4f} over {best.seeds} seed(s)")
    for name in ("results.csv", "results.json", "bpb.png"):
        echo(f"wrote {out / name}")


__all__ = ["vocab_sweep_cmd"]
