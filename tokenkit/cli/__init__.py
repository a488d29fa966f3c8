"""The ``tokenkit`` command line: a thin click layer over the library (the only place that prints).

One module per area, each holding its commands; this one holds the group, its global
``--debug`` flag and the error adapter (:mod:`tokenkit.cli.errors`). ``main`` is the
console script and ``python -m tokenkit``.
"""

from __future__ import annotations

import click

from tokenkit.cli.codec import decode, encode
from tokenkit.cli.compare import bench_command, sweep_command
from tokenkit.cli.corpora import corpora
from tokenkit.cli.demo import demo
from tokenkit.cli.errors import DEBUG_ENV, ErrorAdaptingGroup, set_debug
from tokenkit.cli.export import export_command
from tokenkit.cli.measure import oov, report
from tokenkit.cli.train import train
from tokenkit.version import DISTRIBUTION


@click.group(cls=ErrorAdaptingGroup)
@click.version_option(package_name=DISTRIBUTION, prog_name="tokenkit")
@click.option("--debug", is_flag=True,
              help=f"Show the full traceback of an unexpected error (or set {DEBUG_ENV}=1).")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Train, load and measure BPE vocabularies.

    \b
    Example:
      tokenkit train --vocab 5000 wagahai && tokenkit report wagahai-5000 --file wagahai
    """
    set_debug(ctx, debug)


for command in (train, report, oov, encode, decode, corpora, demo, bench_command,
                sweep_command, export_command):
    main.add_command(command)

__all__ = ["main"]
