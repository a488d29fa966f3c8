"""``gptcore new-plugin``: write a working plugin skeleton (see :mod:`gptcore.kit.scaffold`)."""

from __future__ import annotations

from pathlib import Path

import click

from gptcore.cli.console import echo
from gptcore.kit.scaffold import write_plugin
from gptcore.kit.scaffold_like import LIKES


@click.command("new-plugin")
@click.argument("name")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory to create (default: ./gptcore-NAME).")
@click.option("--like", type=click.Choice(LIKES), default=None,
              help="Build the model from gptcore's blocks like this family, with a HF loader/exporter for its "
                   "layout and a parity test against transformers.")
def new_plugin_cmd(name: str, out: Path | None, like: str | None) -> None:
    """Write a working plugin skeleton NAME (model, loader, exporter, tests) into OUT.

    It passes gptcore's plugin test kit (and, with --like, parity with transformers) as
    generated: install it with `pip install -e OUT`, then `gptcore list` shows it and
    `pytest OUT` runs the tests.

    \b
    Example: gptcore new-plugin my-llama --like llama --out plugins/gptcore-my-llama
    """
    target = out if out is not None else Path(f"gptcore-{name}")
    for path in write_plugin(name, target, like):
        echo(f"wrote {path}")
    echo(f"next: pip install -e {target} && pytest {target}")
