"""A Markdown reference of a click command line, generated from its own ``--help``.

:func:`command_reference` renders one group (every command and subcommand, recursively);
``docs/gen_cli_reference.py`` puts the project's groups together into ``docs/cli.md``, and a
test fails when that file is out of date.
"""

from __future__ import annotations

import click

#: The terminal width the help is rendered at (stable across machines).
WIDTH = 100


def help_text(command: click.Command, path: list[str], parent: click.Context | None) -> str:
    """``COMMAND --help`` exactly as a user sees it, at :data:`WIDTH` columns."""
    ctx = click.Context(command, info_name=path[-1], parent=parent, terminal_width=WIDTH,
                        max_content_width=WIDTH)
    with ctx:
        return command.get_help(ctx)


def command_reference(group: click.Command, prog_name: str, title: str, *,
                      level: int = 2) -> str:
    """Markdown for ``group`` and every command below it: one heading and help block each."""
    blocks: list[str] = []

    def visit(command: click.Command, path: list[str], parent: click.Context | None) -> None:
        heading = "#" * min(level + len(path) - 1, 6)
        name = " ".join(path)
        blocks.append(f"{heading} {title if len(path) == 1 else f'`{name}`'}\n\n"
                      f"```text\n{help_text(command, path, parent).rstrip()}\n```\n")
        if isinstance(command, click.Group):
            ctx = click.Context(command, info_name=path[-1], parent=parent)
            for sub in command.list_commands(ctx):
                child = command.get_command(ctx, sub)
                if child is not None and not child.hidden:
                    visit(child, [*path, sub], ctx)

    visit(group, [prog_name], None)
    return "\n".join(blocks)
