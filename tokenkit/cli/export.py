"""``tokenkit export``: a byte-level BPE vocabulary in tiktoken's or HF's own format."""

from __future__ import annotations

from pathlib import Path

import click

from tokenkit.cli.console import check_output_directory
from tokenkit.exporters import FORMATS, export, safe_name
from tokenkit.specs import load_vocabulary


@click.command("export")
@click.argument("vocab")
@click.option("--format", "fmt", required=True, type=click.Choice(FORMATS))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Output directory (default: VOCAB-NAME-FORMAT).")
@click.option("--force", is_flag=True,
              help="Replace an output directory tokenkit wrote (never one holding other files).")
def export_command(vocab: str, fmt: str, output: Path | None, force: bool) -> None:
    """Write byte-level BPE vocabulary VOCAB as tiktoken ranks or an HF fast-tokenizer dir.

    \b
    Example:
      tokenkit export wagahai-5000 --format tiktoken -o wagahai-5000-tiktoken
    """
    v = load_vocabulary(vocab)
    out = output or Path(f"{safe_name(v.name)}-{fmt}")
    check_output_directory(out, force, (vocab,), option="-o/--output")
    written = export(v, out, fmt, force=force)
    click.echo(f"wrote {written} ({fmt}, {v.vocab_size} ids)")
