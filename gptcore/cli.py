"""gptcore command line: list, generate, next, diversity, pretrain, export.

Only this module prints.  Every user error surfaces as a one-line ``click.ClickException``.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
import torch

from gptcore import registry
from gptcore.generation import GenerationConfig, chat, check_vocabulary, generate
from gptcore.inference import decode_layout
from gptcore.registry import GptcoreError
from gptcore.sampling import SamplingConfig


def _errors(fn):
    """Turn library errors into one-line click errors (non-zero exit)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from tokenkit import TokenkitError

        try:
            return fn(*args, **kwargs)
        except (GptcoreError, TokenkitError, ValueError, OSError) as exc:
            raise click.ClickException(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)) from None

    return wrapper


@click.group()
def main() -> None:
    """Pretrain, sample and checkpoint GPT-style models."""


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _load_model(spec: str, loader: str | None, vocab: Any | None) -> tuple[torch.nn.Module, str | None]:
    """A model from a path (any loader) or, for demos, a preset name with random weights."""
    path = Path(spec)
    if path.exists() or loader:
        result = registry.load_model(path, loader)
        return result.model, result.vocabulary
    try:
        arch = registry.find_preset(spec)
    except GptcoreError:
        raise GptcoreError(f"model not found: {spec} (not a path, nor a preset)") from None
    torch.manual_seed(0)
    overrides = {"vocab_size": vocab.vocab_size} if vocab is not None else {}
    return arch.build(arch.make_config(spec, **overrides)).eval(), None


def _model_and_vocab(model: str, tokenizer: str | None, loader: str | None) -> tuple[torch.nn.Module, Any]:
    """Model and vocabulary for the inference commands (generate, next, diversity)."""
    from gptcore.vocab import load_vocabulary

    vocab = load_vocabulary(tokenizer) if tokenizer else None
    net, stored = _load_model(model, loader, vocab)
    if vocab is None:
        if not stored:
            raise GptcoreError(f"no --tokenizer given and {model} records no vocabulary")
        vocab = load_vocabulary(stored)
    check_vocabulary(net, vocab)
    decode_layout(net)  # inference only: input-major fp32 weights decode faster on the CPU
    return net, vocab


def _sampling(temperature: float, greedy: bool, top_k: int | None, top_p: float | None, min_p: float | None,
              epsilon: float | None, repetition_penalty: float) -> SamplingConfig:
    return SamplingConfig(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p, epsilon=epsilon,
                          repetition_penalty=repetition_penalty, greedy=greedy)


def _sampling_options(fn):
    for option in reversed([
        click.option("--temperature", type=float, default=1.0, show_default=True, help="0 = greedy."),
        click.option("--greedy", is_flag=True, help="Always pick the most likely token."),
        click.option("--top-k", type=int, default=None),
        click.option("--top-p", type=float, default=None),
        click.option("--min-p", type=float, default=None),
        click.option("--epsilon", type=float, default=None, help="Epsilon sampling threshold."),
        click.option("--repetition-penalty", type=float, default=1.0, show_default=True),
    ]):
        fn = option(fn)
    return fn


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _Streamer:
    """Prints the growing completion, holding back incomplete UTF-8 sequences."""

    def __init__(self, vocab: Any) -> None:
        self.vocab, self.ids, self.shown = vocab, [], ""

    def __call__(self, row: int, token: int) -> None:
        self.ids.append(token)
        text = self.vocab.decode(self.ids)
        if text.endswith("\ufffd"):
            return
        click.echo(text[len(self.shown):], nl=False)
        sys.stdout.flush()
        self.shown = text


# --------------------------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------------------------


@main.command("list")
def list_cmd() -> None:
    """Architectures, presets and loaders, with the distribution each comes from."""
    archs, loaders = registry.architectures(), registry.loaders()
    click.echo("Architectures:")
    for name, info in sorted(archs.plugins.items()):
        click.echo(f"  {name:<20} [{info.distribution}] {info.plugin.description}")
        for preset, values in info.plugin.presets.items():
            fields = ", ".join(f"{k}={v}" for k, v in values.items())
            click.echo(f"      preset {preset:<20} {fields}")
    click.echo("Loaders:")
    for name, info in sorted(loaders.plugins.items()):
        produces = f" -> {', '.join(info.plugin.architectures)}" if info.plugin.architectures else ""
        click.echo(f"  {name:<20} [{info.distribution}] {info.plugin.description}{produces}")
    problems = [("architecture", p) for p in archs.problems] + [("loader", p) for p in loaders.problems]
    if problems:
        click.echo("Unusable plugins:")
        for kind, p in problems:
            click.echo(f"  {p.name:<20} [{p.distribution}] ({kind}, {p.value}) ERROR: {p.error}")


@main.command("generate")
@click.argument("model")
@click.option("--prompt", required=True)
@click.option("--tokenizer", "tokenizer", default=None, help="tokenkit vocabulary (path).")
@click.option("--loader", default=None, help="Force a loader (default: detect).")
@click.option("--max-new-tokens", type=int, default=50, show_default=True)
@_sampling_options
@click.option("--eos-id", type=int, multiple=True, help="Stop at this token id (repeatable).")
@click.option("--stop", "stop_strings", multiple=True, help="Stop string (repeatable).")
@click.option("--seed", type=int, default=None)
@click.option("--num-return-sequences", "-n", type=int, default=1, show_default=True)
@click.option("--no-cache", is_flag=True, help="Recompute the whole context every step.")
@click.option("--chat", "chat_mode", is_flag=True, help="Wrap the prompt in the chat template.")
@click.option("--no-stream", is_flag=True, help="Print only when done.")
@_errors
def generate_cmd(model: str, prompt: str, tokenizer: str | None, loader: str | None, max_new_tokens: int,
                 temperature: float, greedy: bool, top_k: int | None, top_p: float | None, min_p: float | None,
                 epsilon: float | None, repetition_penalty: float, eos_id: tuple[int, ...],
                 stop_strings: tuple[str, ...], seed: int | None, num_return_sequences: int, no_cache: bool,
                 chat_mode: bool, no_stream: bool) -> None:
    """Continue PROMPT with MODEL (a checkpoint, HF or textbook weights, or a preset name)."""
    net, vocab = _model_and_vocab(model, tokenizer, loader)
    eos = list(eos_id) or [i for i in (vocab.specials.get("<eos>"),) if i is not None]
    cfg = GenerationConfig(max_new_tokens, _sampling(temperature, greedy, top_k, top_p, min_p, epsilon,
                                                     repetition_penalty),
                           eos_id=tuple(eos) or None, stop_strings=stop_strings,
                           seed=seed, num_return_sequences=num_return_sequences, use_cache=not no_cache)
    stream = not no_stream and num_return_sequences == 1
    streamer = _Streamer(vocab) if stream else None
    if chat_mode:
        texts = [chat(net, vocab, [("user", prompt)], cfg, on_token=streamer)]
    else:
        if stream:
            click.echo(prompt, nl=False)
        texts = generate(net, vocab, prompt, cfg, on_token=streamer)
    if stream:
        click.echo()
        return
    for i, text in enumerate(texts):
        if len(texts) > 1:
            click.echo(f"--- sample {i + 1}")
        click.echo(text if chat_mode else prompt + text)


@main.command("next")
@click.argument("model")
@click.option("--prompt", required=True)
@click.option("--tokenizer", default=None)
@click.option("--loader", default=None)
@click.option("--top-k", type=int, default=10, show_default=True)
@click.option("--temperature", type=float, default=1.0, show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write a PNG bar chart.")
@_errors
def next_cmd(model: str, prompt: str, tokenizer: str | None, loader: str | None, top_k: int,
             temperature: float, plot: Path | None) -> None:
    """The next-token probability distribution after PROMPT, as a bar chart."""
    from gptcore.sampling import next_token_distribution

    net, vocab = _model_and_vocab(model, tokenizer, loader)
    ids = vocab.encode(prompt)
    if not ids:
        raise GptcoreError("empty prompt: give at least one token")
    ids = ids[-net.config.context_length:]
    with torch.inference_mode():
        logits = net(torch.tensor([ids]))[0, -1]
    dist = next_token_distribution(logits, temperature, top_k)
    labels = [repr(vocab.decode([i])) for i, _ in dist]
    width = max(len(label) for label in labels)
    for (token_id, p), label in zip(dist, labels):
        bar = "█" * max(1, round(p * 50)) if p > 0 else ""
        click.echo(f"{label:>{width}} {token_id:>7}  {p:7.4f} {bar}")
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(max(5, len(dist) * 0.6), 3.5))
        ax.bar(range(len(dist)), [p for _, p in dist])
        ax.set_xticks(range(len(dist)), labels, rotation=60, ha="right")
        ax.set_ylabel("probability")
        ax.set_title(f"next token after {prompt[-40:]!r} (T={temperature})")
        fig.tight_layout()
        _atomic_write(plot, lambda tmp: fig.savefig(tmp, format="png"))
        plt.close(fig)
        click.echo(f"wrote {plot}")


@main.command("diversity")
@click.argument("model")
@click.option("--prompt", required=True)
@click.option("--tokenizer", default=None)
@click.option("--loader", default=None)
@click.option("--n", "n_samples", type=int, default=8, show_default=True)
@click.option("--max-new-tokens", type=int, default=30, show_default=True)
@click.option("--temperature", "temperatures", type=float, multiple=True, help="Repeatable (default 0.5 1 1.5).")
@click.option("--top-p", "top_ps", type=float, multiple=True, help="Repeatable, each at temperature 1.")
@click.option("--seed", type=int, default=0, show_default=True)
@_errors
def diversity_cmd(model: str, prompt: str, tokenizer: str | None, loader: str | None, n_samples: int,
                  max_new_tokens: int, temperatures: tuple[float, ...], top_ps: tuple[float, ...], seed: int) -> None:
    """Self-BLEU of N samples per setting (lower = more diverse)."""
    from gptcore.diversity import self_bleu

    net, vocab = _model_and_vocab(model, tokenizer, loader)
    settings = [SamplingConfig(temperature=t) for t in (temperatures or (() if top_ps else (0.5, 1.0, 1.5)))]
    settings += [SamplingConfig(temperature=1.0, top_p=p) for p in top_ps]
    click.echo("| temperature | top_p | Self-BLEU |\n|---:|---:|---:|")
    for s in settings:
        cfg = GenerationConfig(max_new_tokens, s, seed=seed, num_return_sequences=n_samples)
        texts = generate(net, vocab, prompt, cfg)
        click.echo(f"| {s.temperature} | {s.top_p if s.top_p is not None else '-'} | {self_bleu(texts):.2f} |")


def _parse_sets(values: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values:
        if "=" not in item:
            raise GptcoreError(f"--set expects key=value, got {item!r}")
        key, raw = item.split("=", 1)
        low = raw.lower()
        value: Any
        if low in ("true", "false"):
            value = low == "true"
        else:
            try:
                value = int(raw)
            except ValueError:
                try:
                    value = float(raw)
                except ValueError:
                    value = raw
        out[key] = value
    return out


@main.command("pretrain")
@click.option("--arch", default=None, help="Architecture name (e.g. gpt2).")
@click.option("--preset", default=None, help="Preset (e.g. gpt2-124m-ctx256).")
@click.option("--set", "sets", multiple=True, help="Config override key=value (repeatable).")
@click.option("--tokenizer", required=True, help="tokenkit vocabulary (path).")
@click.option("--data", "data", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--steps", type=int, default=100, show_default=True)
@click.option("--batch-size", type=int, default=2, show_default=True)
@click.option("--seq-len", type=int, default=None, help="Default: the model's context length.")
@click.option("--lr", type=float, default=4e-4, show_default=True)
@click.option("--weight-decay", type=float, default=0.1, show_default=True)
@click.option("--eval-every", type=int, default=10, show_default=True)
@click.option("--checkpoint-every", type=int, default=50, show_default=True)
@click.option("--val-fraction", type=float, default=0.1, show_default=True)
@click.option("--seed", type=int, default=123, show_default=True)
@click.option("--bf16", is_flag=True, help="bf16 autocast for matmuls (weights stay fp32).")
@click.option("--resume", is_flag=True, help="Continue from OUT/checkpoint.")
@_errors
def pretrain_cmd(arch: str | None, preset: str | None, sets: tuple[str, ...], tokenizer: str, data: Path,
                 out_dir: Path, steps: int, batch_size: int, seq_len: int | None, lr: float, weight_decay: float,
                 eval_every: int, checkpoint_every: int, val_fraction: float, seed: int, bf16: bool,
                 resume: bool) -> None:
    """Pretrain a model on a text file (the textbook's chapter 5 loop)."""
    from gptcore.training import TrainConfig, describe, split_tokens, train
    from gptcore.training import resume as resume_from
    from gptcore.vocab import load_vocabulary

    vocab = load_vocabulary(tokenizer)
    if not data.is_file():
        raise GptcoreError(f"data file not found: {data}")
    train_ids, val_ids = split_tokens(vocab.encode(data.read_text(encoding="utf-8")), val_fraction)
    cfg = TrainConfig(steps=steps, batch_size=batch_size, seq_len=seq_len, lr=lr, weight_decay=weight_decay,
                      eval_every=eval_every, checkpoint_every=checkpoint_every, seed=seed, bf16=bf16)
    start, optimizer = 0, None
    if resume:
        ckpt, optimizer, stored = resume_from(out_dir / "checkpoint", cfg)
        model, start = ckpt.model, ckpt.step
        click.echo(f"resuming at step {start}")
    else:
        if arch is None and preset is None:
            raise GptcoreError("give --arch or --preset")
        torch.manual_seed(seed)
        model = registry.build_model(arch, preset, vocab_size=vocab.vocab_size, **_parse_sets(sets))
    check_vocabulary(model, vocab)

    def log(record: dict[str, float]) -> None:
        val = f"  val {record['val_loss']:.3f}" if "val_loss" in record else ""
        click.echo(f"step {int(record['step']):>6}  train {record['train_loss']:.3f}{val}")

    result = train(model, train_ids, val_ids, cfg, optimizer=optimizer, start_step=start, out_dir=out_dir,
                   vocabulary=str(Path(tokenizer).resolve()), on_log=log)
    summary = describe(result)
    click.echo(f"done: step {summary['step']}, {summary['tokens_per_second']:.0f} tokens/s, "
               f"checkpoint {out_dir / 'checkpoint'}")


@main.command("export")
@click.argument("model")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--format", "fmt", default="hf", show_default=True)
@click.option("--loader", default=None)
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
@_errors
def export_cmd(model: str, out: Path, fmt: str, loader: str | None, force: bool) -> None:
    """Write MODEL in another format (hf: a directory transformers loads)."""
    from gptcore.export import export

    net, _ = _load_model(model, loader, None) if Path(model).exists() else (None, None)
    if net is None:
        raise GptcoreError(f"model not found: {model}")
    click.echo(f"wrote {export(net, fmt, out, force=force)}")
