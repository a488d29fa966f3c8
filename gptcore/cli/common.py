"""What several commands share: option defaults taken from the config dataclasses, model and
vocabulary loading for the inference commands, and ``--set key=value`` parsing."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import torch

from tokenkit import Vocabulary

from gptcore.cli.console import note
from gptcore.data.vocab import load_vocabulary
from gptcore.errors import GptcoreError, PluginError, one_line
from gptcore.generation.decoding import check_vocabulary
from gptcore.generation.inference import decode_layout
from gptcore.generation.sampling import SamplingConfig
from gptcore.platform import registry
from gptcore.runs.directory import check_fingerprint

F = TypeVar("F", bound=Callable[..., Any])


def default(cls: type, name: str) -> Any:
    """The default of dataclass field ``name``: click options read it, never restate it."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
    raise KeyError(f"{cls.__name__} has no defaulted field {name!r}")


def config(cls: type, **values: Any) -> Any:
    """``cls(**values)``; a value the config rejects is a usage error, not a crash."""
    try:
        return cls(**values)
    except ValueError as exc:
        raise click.UsageError(one_line(exc)) from None


def sampling_options(fn: F) -> F:
    """``--temperature``, ``--greedy``, ``--top-k`` ... with :class:`SamplingConfig`'s defaults."""
    d = SamplingConfig
    for option in reversed([
        click.option("--temperature", type=float, default=default(d, "temperature"), show_default=True,
                     help="0 = greedy."),
        click.option("--greedy", is_flag=True, help="Always pick the most likely token."),
        click.option("--top-k", type=int, default=default(d, "top_k")),
        click.option("--top-p", type=float, default=default(d, "top_p")),
        click.option("--min-p", type=float, default=default(d, "min_p")),
        click.option("--epsilon", type=float, default=default(d, "epsilon"), help="Epsilon sampling threshold."),
        click.option("--repetition-penalty", type=float, default=default(d, "repetition_penalty"),
                     show_default=True),
    ]):
        fn = option(fn)
    return fn


def sampling(temperature: float, greedy: bool, top_k: int | None, top_p: float | None, min_p: float | None,
             epsilon: float | None, repetition_penalty: float) -> SamplingConfig:
    """The :class:`SamplingConfig` the options of :func:`sampling_options` describe."""
    return config(SamplingConfig, temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                  epsilon=epsilon, repetition_penalty=repetition_penalty, greedy=greedy)


def load_model(spec: str, loader: str | None, vocab: Vocabulary | None,
               overrides: dict[str, Any] | None = None) -> tuple[torch.nn.Module, str | None]:
    """A model from a path (any loader) or, for demos, a preset name with random weights.

    ``overrides`` (``--set``) go to the loader, or to the preset's config, checked against the
    architecture's config class.
    """
    overrides = dict(overrides or {})
    path = Path(spec)
    if path.exists() or loader:
        result = registry.load_model(path, loader, **overrides)
        return result.model, result.vocabulary
    try:
        arch = registry.find_preset(spec)
    except PluginError:
        raise  # the preset exists but is ambiguous: say so, not "not found"
    except GptcoreError:
        raise GptcoreError(f"model not found: {spec} (not a path, nor a preset)") from None
    torch.manual_seed(0)
    if vocab is not None:
        overrides.setdefault("vocab_size", vocab.vocab_size)
    try:
        config = arch.make_config(spec, **overrides)
    except (TypeError, ValueError) as exc:  # the config class rejected a --set value
        raise GptcoreError(f"invalid config for preset {spec}: {one_line(exc)}") from None
    return registry.build(arch, config).eval(), None


def model_and_vocab(model: str, tokenizer: str | None, loader: str | None,
                    sets: tuple[str, ...] = ()) -> tuple[torch.nn.Module, Vocabulary]:
    """Model and vocabulary for the inference commands (generate, next, diversity).

    A model whose embedding table is larger than the tokenizer (padded) is accepted; a note
    on stderr says which ids are padding (generation never samples them).
    """
    vocab = load_vocabulary(tokenizer) if tokenizer else None
    net, stored = load_model(model, loader, vocab, split_sets(sets))
    if vocab is None:
        if not stored:
            raise GptcoreError(f"no --tokenizer given and {model} records no vocabulary")
        vocab = load_vocabulary(stored)
    padding = check_vocabulary(net, vocab)
    check_fingerprint(net, vocab, model)
    if padding:
        note(f"note: {model} has {net.config.vocab_size} embedding rows for a {vocab.vocab_size}-token "
             f"tokenizer: ids {vocab.vocab_size}..{net.config.vocab_size - 1} are padding, never sampled")
    decode_layout(net)  # inference only: input-major fp32 weights decode faster on the CPU
    return net, vocab


def split_sets(values: tuple[str, ...]) -> dict[str, str]:
    """``--set key=value`` pairs as raw strings; the config class's field types parse them
    (:func:`gptcore.platform.interfaces.coerce_overrides`), so ``--set sliding_window=none`` is None
    only where the field may be None."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise GptcoreError(f"--set expects key=value, got {item!r}")
        out[key.strip()] = raw
    return out


def parse_sets(values: tuple[str, ...]) -> dict[str, Any]:
    """``--set key=value`` pairs as config overrides (true/false, int, float, else string)."""
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


MODEL_ARG = click.argument("model")
TOKENIZER = click.option("--tokenizer", default=None,
                         help="tokenkit vocabulary: a path, or a name such as gpt2 (default: the one MODEL records).")
LOADER = click.option("--loader", default=None,
                      help="Force a loader (default: the one loader that detects the format).")
SETS = click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                    help="Config field for the loader, e.g. context_length=256 (repeatable).")
