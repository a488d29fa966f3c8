"""docs/cli.md is generated from --help and kept in sync; every command's help shows an example."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "docs" / "gen_cli_reference.py"


def generator():
    spec = importlib.util.spec_from_file_location("gen_cli_reference", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_up_to_date() -> None:
    gen = generator()
    assert gen.OUTPUT.read_text(encoding="utf-8") == gen.render(), (
        "docs/cli.md is out of date: run `.venv/bin/python docs/gen_cli_reference.py`")


def _commands(group: click.Group, prog: str) -> list[tuple[str, click.Command]]:
    ctx = click.Context(group, info_name=prog)
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        found.append((f"{prog} {name}", command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, f"{prog} {name}"))
    return found


@pytest.mark.parametrize("section", generator().SECTIONS, ids=lambda s: s[0])
def test_every_command_help_has_an_example(section) -> None:
    _, target, prog = section
    module, attribute = target.split(":")
    group = getattr(importlib.import_module(module), attribute)
    example = re.compile(rf"Example:\s+{re.escape(prog)} \S")
    missing = [path for path, command in [(prog, group), *_commands(group, prog)]
               if not example.search(command.help or "")]
    assert not missing, f"help without an 'Example:' block running {prog}: {missing}"


@pytest.mark.parametrize("section", generator().SECTIONS, ids=lambda s: s[0])
def test_reference_lists_every_command_and_subcommand(section) -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    _, target, prog = section
    module, attribute = target.split(":")
    group = getattr(importlib.import_module(module), attribute)
    for path, _ in _commands(group, prog):
        assert f"`{path}`" in text, path
