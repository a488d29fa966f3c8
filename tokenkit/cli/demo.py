"""``tokenkit demo``: the seed story in one command."""

from __future__ import annotations

from pathlib import Path

import click

from tokenkit.cli.console import out


@click.command()
@click.option("--workdir", type=click.Path(path_type=Path), default=Path("demo-out"),
              show_default=True, help="Where the four vocabularies are written.")
def demo(workdir: Path) -> None:
    """The seed story: vocab 5000 on 吾輩は猫である, bits and OOV, lossless vs observed alphabet.

    \b
    Example:
      tokenkit demo --workdir demo-out
    """
    # lazy: tokenkit.demo imports rich.rule and tokenkit.report's rich.table (heavy, ~30 ms)
    from tokenkit.demo import run_demo

    for block in run_demo(workdir):
        out.print(block, markup=False) if isinstance(block, str) else out.print(block)
