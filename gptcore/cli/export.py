"""``gptcore export``: write a model in another format through its architecture's exporters."""

from __future__ import annotations

from pathlib import Path

import click
from tokenkit.errors import TokenkitError

from gptcore.cli.common import LOADER, MODEL_ARG, SETS, TOKENIZER, load_model, split_sets
from gptcore.cli.console import echo
from gptcore.errors import GptcoreError, one_line
from gptcore.export.writer import EXPORT_KIND, export
from gptcore.ownership import check_output
from gptcore.generation.decoding import check_vocabulary
from gptcore.runs.directory import check_fingerprint
from gptcore.data.vocab import load_vocabulary


@click.command("export")
@MODEL_ARG
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--format", "fmt", default="hf", show_default=True, help="An exporter of MODEL's architecture.")
@TOKENIZER
@LOADER
@SETS
@click.option("--force", is_flag=True,
              help="Replace OUT when it holds an earlier export (never another directory, nor MODEL).")
@click.option("--weights-only", is_flag=True,
              help="Write the weights and config without the tokenizer (for a vocabulary the format cannot hold).")
def export_cmd(model: str, out: Path, fmt: str, tokenizer: str | None, loader: str | None,
               sets: tuple[str, ...], force: bool, weights_only: bool) -> None:
    """Write MODEL in another format (hf: a directory transformers loads, with the tokenizer).

    \b
    Example: gptcore export runs/tiny out/hf --format hf
    """
    if weights_only and tokenizer:
        raise click.UsageError("--weights-only writes no tokenizer: drop --tokenizer")
    if not Path(model).exists():
        raise GptcoreError(f"model not found: {model}")
    inputs = [model] + ([tokenizer] if tokenizer else [])
    check_output(out, EXPORT_KIND, force=force, flag="OUT", inputs=inputs, swap=True)  # before loading
    net, stored = load_model(model, loader, None, split_sets(sets))
    spec = None if weights_only else tokenizer or stored
    vocab = load_vocabulary(spec) if spec else None
    if vocab is not None:
        check_vocabulary(net, vocab)
        check_fingerprint(net, vocab, model)
    try:
        written = export(net, fmt, out, force=force, vocab=vocab, inputs=inputs)
    except TokenkitError as exc:  # the tokenizer cannot be written in this format: say how to go without it
        raise GptcoreError(f"{one_line(exc)}; to export the weights alone, add --weights-only") from None
    echo(f"wrote {written}")
