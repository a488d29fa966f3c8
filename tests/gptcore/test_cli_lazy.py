"""The lazy command group: ``gptcore --help`` imports no command module (nor torch) and lists
exactly what the commands' own help says."""

from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

from gptcore.cli import COMMANDS, main


def test_help_imports_no_command_module_nor_torch():
    code = ("import sys; from click.testing import CliRunner; from gptcore.cli import main;"
            "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0, r.output;"
            "print(sorted(m for m in sys.modules if m.startswith('gptcore.cli.') or m == 'torch'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['gptcore.cli.console', 'gptcore.cli.errors']" or \
        done.stdout.strip() == "['gptcore.cli.errors']", done.stdout


def test_summaries_match_each_commands_own_help():
    lazy = CliRunner().invoke(main, ["--help"], terminal_width=100).output
    eager = click.Group("gptcore", commands={n: main.get_command(click.Context(main), n) for n in COMMANDS})
    ctx = click.Context(eager, info_name="gptcore", terminal_width=100)
    formatter = ctx.make_formatter()
    eager.format_commands(ctx, formatter)
    assert formatter.getvalue() in lazy
    for name, (_, _, summary) in COMMANDS.items():
        command = main.get_command(click.Context(main), name)
        assert command.get_short_help_str(1000) == summary, name
