"""The ``tokenkit`` command line: a thin click layer over the library (the only place that prints).

One module per area, each holding its commands (:data:`COMMANDS` says which); this module holds
the group, its global ``--debug`` flag and the error adapter (:mod:`tokenkit.cli.errors`).
``main`` is the console script and ``python -m tokenkit``.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from tokenkit.cli.errors import DEBUG_ENV, ErrorAdaptingGroup, set_debug
from tokenkit.version import DISTRIBUTION

#: Command name -> "module:attribute". A command's module is imported when the command runs
#: (or when ``--help`` lists every command), so ``tokenkit train`` never imports the bench,
#: rich tables or matplotlib.
COMMANDS = {
    "train": "tokenkit.cli.train:train",
    "report": "tokenkit.cli.measure:report",
    "oov": "tokenkit.cli.measure:oov",
    "encode": "tokenkit.cli.codec:encode",
    "decode": "tokenkit.cli.codec:decode",
    "bench": "tokenkit.cli.compare:bench_command",
    "sweep": "tokenkit.cli.compare:sweep_command",
    "export": "tokenkit.cli.export:export_command",
    "corpora": "tokenkit.cli.corpora:corpora",
    "demo": "tokenkit.cli.demo:demo",
    "serve": "tokenkit.cli.serve:serve",
}


class TokenkitGroup(ErrorAdaptingGroup):
    """The error-adapting group whose commands are imported from :data:`COMMANDS` on use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> Any:
        if name in COMMANDS and name not in self.commands:
            module, attribute = COMMANDS[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)


@click.group(cls=TokenkitGroup)
@click.version_option(package_name=DISTRIBUTION, prog_name="tokenkit")
@click.option("--debug", is_flag=True,
              help=f"Show the full traceback of an unexpected error (or set {DEBUG_ENV}=1).")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Train, load and measure BPE vocabularies.

    \b
    Example:
      tokenkit train --vocab 5000 wagahai && tokenkit report wagahai-5000 --text 吾輩は猫である。
    """
    set_debug(ctx, debug)


__all__ = ["COMMANDS", "main"]
