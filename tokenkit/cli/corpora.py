"""``tokenkit corpora list|path|fetch``: the corpus manifest."""

from __future__ import annotations

from pathlib import Path

import click

from tokenkit.cli.console import out
from tokenkit.cli.errors import ErrorAdaptingGroup
from tokenkit.corpora import fetch_corpus, find_corpus, known_corpora, resolve_corpus


@click.group(cls=ErrorAdaptingGroup)
def corpora() -> None:
    """The corpus manifest: list, locate and fetch corpora.

    \b
    Example:
      tokenkit corpora list
    """


@corpora.command("list")
def corpora_list() -> None:
    """Every corpus in the manifest, with its size, licence and local path.

    \b
    Example:
      tokenkit corpora list
    """
    from rich.table import Table  # heavy: rich.table costs ~30 ms to import

    table = Table()
    for col in ("name", "bytes", "licence", "local path", "description"):
        table.add_column(col)
    for name, c in known_corpora().items():
        found = find_corpus(name)
        table.add_row(name, f"{sum(f.bytes for f in c.files):,}", c.licence,
                      str(found) if found else "(not fetched)", c.description)
    out.print(table)


@corpora.command("path")
@click.argument("name")
def corpora_path(name: str) -> None:
    """Print the local path of corpus NAME (fetching it if needed).

    \b
    Example:
      tokenkit corpora path wagahai
    """
    click.echo(str(resolve_corpus(name)))


@corpora.command("fetch")
@click.argument("name")
@click.option("--to", "root", type=click.Path(path_type=Path), help="Folder (default: the user cache).")
def corpora_fetch(name: str, root: Path | None) -> None:
    """Download corpus NAME from its source and verify its sha256.

    \b
    Example:
      tokenkit corpora fetch the-verdict
    """
    click.echo(str(fetch_corpus(name, root)))
