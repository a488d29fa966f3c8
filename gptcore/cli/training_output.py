"""What ``gptcore pretrain`` prints while it trains: the start-up lines, a progress bar on rank 0,
one line per evaluation, and the closing line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from gptcore.cli.console import echo, progress
from gptcore.data.shards import TokenShards
from gptcore.runs.directory import Run
from gptcore.training.config import TrainConfig
from gptcore.training.loop import train, use_bf16


def _say(where: Any, line: str = "") -> None:
    if where.is_main:
        echo(line)


def _flag(name: str) -> str:
    return "--" + {"sets": "set"}.get(name, name).replace("_", "-")


def _show(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return " ".join(str(v) for v in value) or "(none)"
    return str(value)


def report_start(where: Any, out: Path, options: dict[str, Any], notes: list[str], cfg: TrainConfig, plan: Any,
                  seq_len: int, accum: int, model: torch.nn.Module, resuming: bool, step: int) -> None:
    n_params = sum(p.numel() for p in model.parameters())
    total = cfg.total_steps(plan)
    _say(where, f"{'resuming' if resuming else 'run'} {out}" + (f" at step {step}" if resuming else ""))
    for note in notes:
        _say(where, note)
    _say(where, "config: " + " ".join(f"{_flag(k)}={_show(v)}" for k, v in sorted(options.items())))
    _say(where, f"model: {n_params / 1e6:.2f}M parameters; global batch {cfg.batch_size} x {accum} x "
                f"{where.world_size} x {seq_len} = {plan.tokens_per_step:,} tokens; {total} steps "
                f"({total / plan.steps_per_epoch:.2f} epochs of {plan.steps_per_epoch} steps); device {where.device}, "
                f"{'bf16 autocast' if use_bf16(cfg, where.device) else 'float32'}")


class _NoBar:
    """What ranks other than 0 get instead of a progress bar."""

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, *args: Any, **kwargs: Any) -> int:
        return 0

    def update(self, *args: Any, **kwargs: Any) -> None:
        return None


def fit(model: torch.nn.Module, shards: TokenShards, cfg: TrainConfig, vocab: Any, where: Any, run: Run,
         ckpt: Any, sha: str | None, plan: Any) -> None:
    total = cfg.total_steps(plan)
    start = ckpt.step if ckpt is not None else 0
    with progress() if where.is_main else _NoBar() as bar:
        task = bar.add_task("pretrain", total=total, completed=start)

        def on_event(record: dict[str, Any]) -> None:
            if not where.is_main:
                return
            if record["kind"] == "log":
                mfu = f"  mfu {record['mfu']:.1%}" if "mfu" in record else ""
                bar.update(task, completed=record["step"],
                           description=f"loss {record['loss']:.3f}  {record['tokens_per_second']:,.0f} tok/s{mfu}")
                return
            sample = record.get("sample")
            echo(f"step {record['step']:>6}/{total}  tokens {record['tokens']:>10,}  train {record['train_loss']:.3f}  "
                 f"val {record['val_loss']:.3f}  ppl {record['val_perplexity']:.1f}  bpb {record['val_bpb']:.3f}"
                 + (f"  | {sample!r}" if sample is not None else ""))

        result = train(model, shards, cfg, vocab=vocab, where=where, run=run if where.is_main else None,
                       resume_from=ckpt, checkpoint_extra={"vocabulary_sha256": sha}, on_event=on_event)
    if where.is_main:
        latest = run.latest()
        plot = run.plot()
        echo(f"done: step {result.step}, {result.tokens_per_second:,.0f} tokens/s over {result.train_seconds:.1f} s "
             f"of training; checkpoint {latest}" + (f"; plot {plot}" if plot else ""))
