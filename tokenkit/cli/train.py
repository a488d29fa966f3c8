"""``tokenkit train``: options built from :class:`~tokenkit.training.TrainOptions`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tokenkit.cli.console import TEXT_FIELD, check_output_directory, default, progress_bar
from tokenkit.corpusreader import Corpus, open_corpus
from tokenkit.engines import ENGINES
from tokenkit.textio import ERRORS
from tokenkit.training import (
    ALPHABETS,
    BACKENDS,
    SP_MODEL_TYPES,
    TrainOptions,
    default_output_name,
    train_corpus,
    training_engine,
)


def _opt(name: str) -> object:
    return default(TrainOptions, name)


@click.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--vocab", "vocab_size", type=int, required=True, help="Vocabulary size, specials included.")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Output directory (default: named after the first source and the options).")
@click.option("--backend", type=click.Choice(BACKENDS), default=_opt("backend"), show_default=True)
@click.option("--alphabet", type=click.Choice(ALPHABETS), default=_opt("alphabet"), show_default=True,
              help="hf: all 256 bytes (lossless) or only the bytes seen in the corpus (the textbook's).")
@click.option("--model-type", type=click.Choice(SP_MODEL_TYPES), default=_opt("model_type"),
              show_default=True, help="sentencepiece model type.")
@click.option("--byte-fallback/--no-byte-fallback", default=_opt("byte_fallback"), show_default=True,
              help="sentencepiece: encode unknown characters as byte pieces.")
@click.option("--character-coverage", type=float, default=_opt("character_coverage"), show_default=True)
@click.option("--normalization", default=_opt("normalization"), show_default=True,
              help="sentencepiece normalisation rule (identity keeps the text exactly).")
@click.option("--special-tokens", "special_tokens", multiple=True,
              help="Special tokens (repeat or comma-separate), counted inside --vocab.")
@click.option("--min-frequency", type=int, default=_opt("min_frequency"), show_default=True,
              help="hf: minimum pair count.")
@TEXT_FIELD
@click.option("--errors", type=click.Choice(ERRORS), default=default(Corpus, "errors"),
              show_default=True, help="Invalid UTF-8 (or a lone surrogate in JSONL): fail (strict) "
                                      "or replace with U+FFFD.")
@click.option("--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
              help="hf: what trains. auto: gigatoken (HF's merges exactly; the corpus is spooled "
                   "to TMPDIR while it trains) up to --vocab 8192, and above it on a corpus of at "
                   "least 1 KB per token, else HF; reference: HF tokenizers; rustbpe: fastest, "
                   "merges differ (docs/engines.md).")
@click.option("--force", is_flag=True,
              help="Replace an output directory tokenkit wrote (never one holding other files).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def train(sources: tuple[str, ...], vocab_size: int, output: Path | None, backend: str, alphabet: str,
          model_type: str, byte_fallback: bool, character_coverage: float, normalization: str,
          special_tokens: tuple[str, ...], min_frequency: int, text_field: str, errors: str,
          engine: str, force: bool, quiet: bool) -> None:
    """Train a vocabulary of --vocab tokens on FILES, DIRECTORIES, corpus names or - (stdin).

    Text, JSONL and Parquet files (the text in --text-field), plain or .gz/.zst, are
    streamed: read once, never whole; directories are read recursively in sorted order.

    \b
    Example:
      tokenkit train --vocab 5000 wagahai
    """
    specials = tuple(t for group in special_tokens for t in group.split(",") if t)
    options = TrainOptions(vocab_size=vocab_size, backend=backend, alphabet=alphabet,
                           model_type=model_type, special_tokens=specials,
                           min_frequency=min_frequency, byte_fallback=byte_fallback,
                           character_coverage=character_coverage, normalization=normalization)
    options.validate()
    output = output or Path(default_output_name(sources, options))
    check_output_directory(output, force, sources, option="-o/--output")

    corpus = open_corpus(sources, text_field=text_field, errors=errors)
    show = not quiet and sys.stderr.isatty()
    if show:  # a terminal only: in scripts an error stays one stderr line; the result line names it
        choice = training_engine(options, engine, corpus.max_text_bytes() if corpus.tight_bound else None)
        because = f" ({choice.reason})" if choice.reason and engine != "auto" else ""
        ran = "sentencepiece" if backend == "sentencepiece" else (
            "HF tokenizers" if choice.is_reference else choice.name)
        click.echo(f"training {backend} vocabulary with engine {ran}{because}…", err=True)
        with progress_bar(bytes_=True, description="reading") as update:
            phase = "training sentencepiece" if backend == "sentencepiece" else "computing merges"
            corpus.on_progress = lambda done, total: update(
                done, total, phase if total is not None and done >= total else None)
            result = train_corpus(corpus, options, engine=engine)
    else:
        result = train_corpus(corpus, options, engine=engine)
    result.vocabulary.save(output, force=force)

    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    s = result.summary
    merges = "n/a" if s.get("merges") is None else str(s["merges"])
    click.echo(f"trained {backend} vocabulary ({s['engine']} engine): {s['vocab_size']} tokens (asked {s['requested_vocab_size']}), "
               f"{merges} merges, on {s['corpus_bytes']:,} bytes / {s['corpus_characters']:,} characters / "
               f"{s['corpus_lines']:,} lines in {s['training_seconds']:.2f} s -> {output}")
    for note in s.get("notes", []):
        click.echo(f"note: {note}")
    if s.get("engine_note") and engine != "auto":
        click.echo(f"note: --engine {engine} did not run: {s['engine_note']}")
