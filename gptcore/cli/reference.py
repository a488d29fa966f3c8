"""Render the gptcore CLI reference (``docs/cli-gptcore.md``) from the commands' ``--help``.

Regenerate after changing a command::

    python -m gptcore.cli.reference > docs/cli-gptcore.md

``tests/gptcore/test_cli_reference.py`` fails while the file is out of date.
"""

from __future__ import annotations

import click

from gptcore.cli import main

WIDTH = 100  # fixed, so the text does not depend on the terminal that renders it


def _help(command: click.Command, name: str, parent: click.Context | None) -> tuple[str, click.Context]:
    ctx = command.make_context(name, [], parent=parent, resilient_parsing=True,
                               terminal_width=WIDTH, max_content_width=WIDTH)
    return command.get_help(ctx), ctx


def render(group: click.Group = main, prog: str = "gptcore") -> str:
    """Markdown with the help of ``prog`` and of each of its commands, in name order."""
    text, root = _help(group, prog, None)
    parts = ["# gptcore command line reference", "",
             "Generated from `--help` by `python -m gptcore.cli.reference > docs/cli-gptcore.md`;",
             "do not edit by hand (the tests fail when it is out of date).", "",
             f"## `{prog}`", "", "```", text, "```"]
    for name in group.list_commands(root):
        command = group.get_command(root, name)
        if command is None or command.hidden:
            continue
        sub, _ = _help(command, name, root)
        parts += ["", f"## `{prog} {name}`", "", "```", sub, "```"]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    click.echo(render(), nl=False)
