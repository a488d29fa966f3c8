"""Regenerate docs/cli.md from the commands' own --help.

    .venv/bin/python docs/gen_cli_reference.py          # rewrite docs/cli.md
    .venv/bin/python docs/gen_cli_reference.py --check  # exit 1 if it is out of date

Each entry of SECTIONS is (title, import path of the click group, program name); another
command line joins the reference by adding a line here.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from tokenkit.cli.reference import command_reference

OUTPUT = Path(__file__).with_name("cli.md")
SECTIONS = [
    ("tokenkit", "tokenkit.cli:main", "tokenkit"),
    ("gptcore", "gptcore.cli:main", "gptcore"),
]
HEADER = """# Command-line reference

Generated from each command's `--help` by `docs/gen_cli_reference.py`; do not edit by hand.
Regenerate with `.venv/bin/python docs/gen_cli_reference.py` (the tests fail when it is stale).
"""


def render() -> str:
    parts = [HEADER]
    for title, target, prog_name in SECTIONS:
        module, attribute = target.split(":")
        group = getattr(importlib.import_module(module), attribute)
        parts.append(command_reference(group, prog_name, title))
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is out of date: run .venv/bin/python docs/gen_cli_reference.py",
                  file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
