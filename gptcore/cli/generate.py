"""Inference commands: ``generate`` (sample text), ``next`` (the next-token distribution),
``diversity`` (Self-BLEU of samples per sampling setting)."""

from __future__ import annotations

from pathlib import Path

import click
import torch
from tokenkit import Vocabulary
from tokenkit.atomic import atomic_file
from tokenkit.cli.console import ALLOW_SPECIAL, allowed_special, check_output_file
from tokenkit.plotfonts import use_cjk_fonts
from tokenkit.textio import check_unicode

from gptcore.cli.common import LOADER, MODEL_ARG, SETS, TOKENIZER, config, default, model_and_vocab, sampling, sampling_options
from gptcore.cli.console import echo, err, write_text
from gptcore.eval.diversity import self_bleu
from gptcore.errors import GptcoreError
from gptcore.generation.decoding import (
    CHAT_TOKENS, GenerationConfig, chat, chat_prompt, continuation, generate, mask_padding)
from gptcore.generation.sampling import SamplingConfig, next_token_distribution

G = GenerationConfig
#: torch seeds are 64-bit; a seed outside this range is refused by click, not by torch.
SEED = click.IntRange(0, (1 << 63) - 1)


def check_prompt(prompt: str, stop_strings: tuple[str, ...] = ()) -> None:
    """One line for a prompt that is not Unicode text (a lone surrogate) or is empty."""
    check_unicode(prompt, "--prompt")
    for stop in stop_strings:
        check_unicode(stop, "--stop")
    if not prompt:
        raise click.BadParameter("the prompt is empty: give at least one character",
                                 param_hint="'--prompt'")


class Streamer:
    """Prints the growing completion, holding back incomplete UTF-8 sequences.

    The text shown is always the difference of the decoded whole (``prefix`` ids, the prompt,
    plus the new ids; :func:`gptcore.generation.continuation`), so with SentencePiece or
    WordPiece decoders the first new word is not glued to the prompt, and the streamed text
    equals what ``--no-stream`` prints.
    """

    def __init__(self, vocab: Vocabulary, prefix: list[int] | None = None) -> None:
        self.vocab, self.prefix, self.ids, self.shown = vocab, list(prefix or []), [], ""

    def __call__(self, row: int, token: int) -> None:
        self.ids.append(token)
        text = continuation(self.vocab.decode, self.prefix, self.ids)
        if text.endswith("\ufffd") or not text.startswith(self.shown):
            return  # an incomplete character, or a decoder revising its last piece: wait
        write_text(text[len(self.shown):])
        self.shown = text


@click.command("generate")
@MODEL_ARG
@click.option("--prompt", required=True)
@TOKENIZER
@LOADER
@SETS
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=default(G, "max_new_tokens"),
              show_default=True)
@sampling_options
@click.option("--eos-id", type=int, multiple=True, help="Stop at this token id (repeatable).")
@click.option("--stop", "stop_strings", multiple=True, help="Stop string (repeatable).")
@click.option("--seed", type=SEED, default=default(G, "seed"))
@click.option("--num-return-sequences", "-n", type=click.IntRange(min=1),
              default=default(G, "num_return_sequences"), show_default=True)
@click.option("--no-cache", is_flag=True, help="Recompute the whole context every step.")
@click.option("--chat", "chat_mode", is_flag=True,
              help="Wrap the prompt in the chat template (a plain User:/Assistant: one, said so on "
                   "stderr, when the vocabulary lacks <start_of_turn>/<end_of_turn>).")
@click.option("--no-stream", is_flag=True, help="Print only when done.")
@ALLOW_SPECIAL
def generate_cmd(model: str, prompt: str, tokenizer: str | None, loader: str | None, sets: tuple[str, ...],
                 max_new_tokens: int,
                 temperature: float, greedy: bool, top_k: int | None, top_p: float | None, min_p: float | None,
                 epsilon: float | None, repetition_penalty: float, eos_id: tuple[int, ...],
                 stop_strings: tuple[str, ...], seed: int | None, num_return_sequences: int, no_cache: bool,
                 chat_mode: bool, no_stream: bool, allow_special: tuple[str, ...]) -> None:
    """Continue PROMPT with MODEL (a checkpoint, HF or textbook weights, or a preset name).

    \b
    Example: gptcore generate runs/verdict/checkpoint --prompt "Every effort moves you" --seed 1
    """
    if chat_mode and allow_special:
        raise click.UsageError("--allow-special cannot be combined with --chat: chat messages are "
                               "always ordinary text, so they cannot forge turns")
    check_prompt(prompt, stop_strings)
    sampler = sampling(temperature, greedy, top_k, top_p, min_p, epsilon, repetition_penalty)
    net, vocab = model_and_vocab(model, tokenizer, loader, sets)
    allowed = allowed_special(allow_special)
    bad_eos = [i for i in eos_id if not 0 <= i < vocab.vocab_size]
    if bad_eos:
        raise click.BadParameter(f"token id {bad_eos[0]} is outside the vocabulary (size {vocab.vocab_size})",
                                 param_hint="'--eos-id'")
    eos = list(eos_id) or [i for i in (vocab.specials.get("<eos>"),) if i is not None]
    cfg = config(GenerationConfig, max_new_tokens=max_new_tokens, sampling=sampler, eos_id=tuple(eos) or None,
                 stop_strings=stop_strings, seed=seed, num_return_sequences=num_return_sequences,
                 use_cache=not no_cache)
    stream = not no_stream and num_return_sequences == 1
    streamer = Streamer(vocab, None if chat_mode else vocab.encode(prompt, allowed_special=allowed)) if stream else None
    if chat_mode:
        if not chat_prompt(vocab, [("user", prompt)]).templated:
            err.print(f"note: the vocabulary has no {' / '.join(CHAT_TOKENS[1:3])} tokens; "
                      "--chat uses the plain 'User: … Assistant:' template")
        texts = [chat(net, vocab, [("user", prompt)], cfg, on_token=streamer)]
    else:
        if stream:
            write_text(prompt)
        texts = generate(net, vocab, prompt, cfg, on_token=streamer, allowed_special=allowed)
    if stream:
        rest = texts[0][len(streamer.shown):] if not chat_mode and texts[0].startswith(streamer.shown) else ""
        write_text(rest + "\n")  # what a decoder held back at the end (a piece it revised)
        return
    for i, text in enumerate(texts):
        if len(texts) > 1:
            echo(f"--- sample {i + 1}")
        write_text((text if chat_mode else prompt + text) + "\n")


@click.command("next")
@MODEL_ARG
@click.option("--prompt", required=True)
@TOKENIZER
@LOADER
@SETS
@click.option("--top-k", type=click.IntRange(min=1), default=10, show_default=True,
              help="How many tokens to show.")
@click.option("--temperature", type=float, default=1.0, show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write a PNG bar chart.")
@click.option("--force", is_flag=True, help="Overwrite an existing --plot file.")
@ALLOW_SPECIAL
def next_cmd(model: str, prompt: str, tokenizer: str | None, loader: str | None, sets: tuple[str, ...], top_k: int,
             temperature: float, plot: Path | None, force: bool, allow_special: tuple[str, ...]) -> None:
    """The next-token probability distribution after PROMPT, as a bar chart.

    \b
    Example: gptcore next runs/verdict/checkpoint --prompt "Every effort moves" --top-k 10 --plot next.png
    """
    check_prompt(prompt)
    if not (temperature > 0 and temperature != float("inf")):
        raise click.BadParameter(f"must be a finite number > 0, got {temperature}",
                                 param_hint="'--temperature'")
    check_output_file(plot, "--plot")
    if plot is not None and plot.suffix.lower() not in (".png", ""):
        raise click.BadParameter(f"{plot}: only PNG is written", param_hint="'--plot'")
    if plot is not None and plot.exists() and not force:  # before loading the model, not after
        raise GptcoreError(f"output {plot} already exists (use --force to overwrite)")
    net, vocab = model_and_vocab(model, tokenizer, loader, sets)
    ids = vocab.encode(prompt, allowed_special=allowed_special(allow_special))
    if not ids:
        raise GptcoreError("empty prompt: give at least one token")
    ids = ids[-net.config.context_length:]
    with torch.inference_mode():
        logits = mask_padding(net(torch.tensor([ids]))[0, -1], vocab.vocab_size)
    try:
        dist = next_token_distribution(logits, temperature, top_k)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    labels = [repr(vocab.decode([i])) for i, _ in dist]
    width = max(len(label) for label in labels)
    for (token_id, p), label in zip(dist, labels):
        bar = "█" * max(1, round(p * 50)) if p > 0 else ""
        echo(f"{label:>{width}} {token_id:>7}  {p:7.4f} {bar}")
    if plot is not None:
        _plot(plot, dist, labels, f"next token after {prompt[-40:]!r} (T={temperature})")
        echo(f"wrote {plot}")


def _plot(path: Path, dist: list[tuple[int, float]], labels: list[str], title: str) -> None:
    """A bar chart PNG written atomically (matplotlib is heavy: imported only when asked)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    use_cjk_fonts()  # prompts and tokens may be Japanese, Korean, emoji
    fig, ax = plt.subplots(figsize=(max(5, len(dist) * 0.6), 3.5))
    ax.bar(range(len(dist)), [p for _, p in dist])
    ax.set_xticks(range(len(dist)), labels, rotation=60, ha="right")
    ax.set_ylabel("probability")
    ax.set_title(title)
    fig.tight_layout()
    try:
        with atomic_file(path) as tmp:
            fig.savefig(tmp, format="png")  # --plot was checked to be a .png before any work
    finally:
        plt.close(fig)


@click.command("diversity")
@MODEL_ARG
@click.option("--prompt", required=True)
@TOKENIZER
@LOADER
@SETS
@click.option("--n", "n_samples", type=click.IntRange(min=2), default=8, show_default=True,
              help="Samples per setting.")
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--temperature", "temperatures", type=float, multiple=True, help="Repeatable (default 0.5 1 1.5).")
@click.option("--top-p", "top_ps", type=float, multiple=True, help="Repeatable, each at temperature 1.")
@click.option("--seed", type=SEED, default=0, show_default=True)
@ALLOW_SPECIAL
def diversity_cmd(model: str, prompt: str, tokenizer: str | None, loader: str | None, sets: tuple[str, ...],
                  n_samples: int,
                  max_new_tokens: int, temperatures: tuple[float, ...], top_ps: tuple[float, ...], seed: int,
                  allow_special: tuple[str, ...]) -> None:
    """Self-BLEU of N samples per setting (lower = more diverse).

    \b
    Example: gptcore diversity runs/verdict/checkpoint --prompt "Every effort" --temperature 0.5 --top-p 0.9
    """
    check_prompt(prompt)
    settings = [config(SamplingConfig, temperature=t) for t in (temperatures or (() if top_ps else (0.5, 1.0, 1.5)))]
    settings += [config(SamplingConfig, temperature=1.0, top_p=p) for p in top_ps]
    net, vocab = model_and_vocab(model, tokenizer, loader, sets)
    echo("| temperature | top_p | Self-BLEU |\n|---:|---:|---:|")
    for s in settings:
        cfg = config(GenerationConfig, max_new_tokens=max_new_tokens, sampling=s, seed=seed,
                     num_return_sequences=n_samples)
        texts = generate(net, vocab, prompt, cfg, allowed_special=allowed_special(allow_special))
        echo(f"| {s.temperature} | {s.top_p if s.top_p is not None else '-'} | {self_bleu(texts):.2f} |")
