"""``gptcore list``: every architecture, preset and loader, and every plugin that is unusable."""

from __future__ import annotations

import click

from gptcore.cli.console import echo
from gptcore.platform import registry


@click.command("list")
def list_cmd() -> None:
    """Architectures, presets and loaders, with the distribution each comes from, and every
    unusable plugin or ambiguous preset with its error.

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
    presets = registry.preset_conflicts()
    if problems or presets:
        echo("Unusable plugins:")
        for kind, p in problems:
            echo(f"  {p.name:<20} [{p.distribution}] ({kind}, {p.value}) ERROR: {p.error}")
        for preset, owners in presets.items():
            who = " and ".join(f"{i.name} [{i.distribution}]" for i in owners)
            echo(f"  {preset:<20} [{'/'.join(i.distribution for i in owners)}] (preset) "
                 f"ERROR: preset {preset!r} is defined by architectures {who}")
