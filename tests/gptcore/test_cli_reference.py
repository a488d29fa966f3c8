"""gptcore.cli.reference: docs/cli-gptcore.md is the commands' current --help.

Out of date?  Regenerate with ``python -m gptcore.cli.reference > docs/cli-gptcore.md``.
"""

from __future__ import annotations

from pathlib import Path

from gptcore.cli import main
from gptcore.cli.reference import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli-gptcore.md"


def test_reference_is_up_to_date():
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/cli-gptcore.md is out of date: run `python -m gptcore.cli.reference > docs/cli-gptcore.md`")


def test_every_command_is_documented_with_an_example():
    text = render()
    for name, command in main.commands.items():
        assert f"## `gptcore {name}`" in text
        assert f"Example: gptcore {name}" in (command.help or ""), name
