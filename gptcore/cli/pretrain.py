"""``gptcore pretrain``: text file + tokenkit vocabulary -> a trained checkpoint in ``OUT/checkpoint``.

Read top to bottom: vocabulary (:mod:`gptcore.vocab`) -> token split and loop
(:mod:`gptcore.training`) -> model from the registry (:mod:`gptcore.registry`) -> checkpoints
(:mod:`gptcore.checkpoint`, written by the loop).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import click
import torch

from gptcore import registry
from gptcore.cli.common import default, parse_sets
from gptcore.cli.console import echo, progress
from gptcore.errors import GptcoreError, one_line
from gptcore.generation import check_vocabulary
from gptcore.training import TrainConfig, describe, resume, split_tokens, train
from gptcore.vocab import load_vocabulary

T = TrainConfig
VAL_FRACTION = inspect.signature(split_tokens).parameters["val_fraction"].default


@click.command("pretrain")
@click.option("--arch", default=None, help="Architecture name (e.g. gpt2).")
@click.option("--preset", default=None, help="Preset (e.g. gpt2-124m-ctx256).")
@click.option("--set", "sets", multiple=True, help="Config override key=value (repeatable).")
@click.option("--tokenizer", required=True, help="tokenkit vocabulary: a path, or a name such as gpt2.")
@click.option("--data", "data", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--steps", type=int, default=default(T, "steps"), show_default=True)
@click.option("--batch-size", type=int, default=default(T, "batch_size"), show_default=True)
@click.option("--seq-len", type=int, default=default(T, "seq_len"), help="Default: the model's context length.")
@click.option("--lr", type=float, default=default(T, "lr"), show_default=True)
@click.option("--weight-decay", type=float, default=default(T, "weight_decay"), show_default=True)
@click.option("--eval-every", type=int, default=default(T, "eval_every"), show_default=True)
@click.option("--checkpoint-every", type=int, default=default(T, "checkpoint_every"), show_default=True,
              help="Also at the last step; 0 = never.")
@click.option("--val-fraction", type=float, default=VAL_FRACTION, show_default=True)
@click.option("--seed", type=int, default=default(T, "seed"), show_default=True)
@click.option("--bf16", is_flag=True, help="bf16 autocast for matmuls (weights stay fp32).")
@click.option("--resume", "resuming", is_flag=True, help="Continue from OUT/checkpoint.")
def pretrain_cmd(arch: str | None, preset: str | None, sets: tuple[str, ...], tokenizer: str, data: Path,
                 out_dir: Path, steps: int, batch_size: int, seq_len: int | None, lr: float, weight_decay: float,
                 eval_every: int, checkpoint_every: int, val_fraction: float, seed: int, bf16: bool,
                 resuming: bool) -> None:
    """Pretrain a model on a text file (the textbook's chapter 5 loop).

    \b
    Example: gptcore pretrain --preset gpt2-124m-ctx256 --tokenizer VOCAB --data the-verdict.txt --out runs/verdict
    """
    vocab = load_vocabulary(tokenizer)
    if not data.is_file():
        raise GptcoreError(f"data file not found: {data}")
    try:
        text = data.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GptcoreError(f"cannot read data file {data}: {one_line(exc)}") from None
    train_ids, val_ids = split_tokens(vocab.encode(text), val_fraction)
    cfg = TrainConfig(steps=steps, batch_size=batch_size, seq_len=seq_len, lr=lr, weight_decay=weight_decay,
                      eval_every=eval_every, checkpoint_every=checkpoint_every, seed=seed, bf16=bf16)
    start, optimizer = 0, None
    if resuming:
        ckpt, optimizer, _ = resume(out_dir / "checkpoint", cfg)
        model, start = ckpt.model, ckpt.step
        echo(f"resuming at step {start}")
    else:
        if arch is None and preset is None:
            raise GptcoreError("give --arch or --preset")
        torch.manual_seed(seed)
        try:
            model = registry.build_model(arch, preset, vocab_size=vocab.vocab_size, **parse_sets(sets))
        except (TypeError, ValueError) as exc:  # the config dataclass rejected a --set value
            raise GptcoreError(f"invalid model config: {one_line(exc)}") from None
    check_vocabulary(model, vocab)

    with progress() as bar:
        task = bar.add_task("pretrain", total=cfg.steps, completed=start)

        def log(record: dict[str, float]) -> None:
            val = f"  val {record['val_loss']:.3f}" if "val_loss" in record else ""
            echo(f"step {int(record['step']):>6}  train {record['train_loss']:.3f}{val}")
            bar.update(task, completed=int(record["step"]))

        result = train(model, train_ids, val_ids, cfg, optimizer=optimizer, start_step=start, out_dir=out_dir,
                       vocabulary=str(Path(tokenizer).resolve()), on_log=log)
    summary = describe(result)
    echo(f"done: step {summary['step']}, {summary['tokens_per_second']:.0f} tokens/s, "
         f"checkpoint {out_dir / 'checkpoint'}")
