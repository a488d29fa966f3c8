"""``gptcore list``: every architecture, preset and loader, and every plugin that is unusable."""

from __future__ import annotations

import click

from gptcore import registry
from gptcore.cli.console import echo


@click.command("list")
def list_cmd() -> None:
    """Architectures, presets and loaders, with the distribution each comes from.

    \b
    Example: gptcore list
    """
    archs, loaders = registry.architectures(), registry.loaders()
    echo("Architectures:")
    for name, info in sorted(archs.plugins.items()):
        echo(f"  {name:<20} [{info.distribution}] {info.plugin.description}")
        for preset, values in info.plugin.presets.items():
            fields = ", ".join(f"{k}={v}" for k, v in values.items())
            echo(f"      preset {preset:<20} {fields}")
    echo("Loaders:")
    for name, info in sorted(loaders.plugins.items()):
        produces = f" -> {', '.join(info.plugin.architectures)}" if info.plugin.architectures else ""
        echo(f"  {name:<20} [{info.distribution}] {info.plugin.description}{produces}")
    problems = [("architecture", p) for p in archs.problems] + [("loader", p) for p in loaders.problems]
    if problems:
        echo("Unusable plugins:")
        for kind, p in problems:
            echo(f"  {p.name:<20} [{p.distribution}] ({kind}, {p.value}) ERROR: {p.error}")
