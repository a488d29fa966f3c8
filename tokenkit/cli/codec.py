"""``tokenkit encode`` and ``tokenkit decode``: text <-> token ids as JSON."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from tokenkit.cli.console import ALLOW_SPECIAL, allowed_special, dump_json, read_input
from tokenkit.errors import TokenkitError
from tokenkit.specs import load_vocabulary
from tokenkit.vocabulary import Vocabulary


def display_token(vocab: Vocabulary, token_id: int) -> str:
    # lazy: tokenkit.report imports rich.table (heavy, ~30 ms); encode prints JSON only
    from tokenkit.report import display_token as display

    return display(vocab, token_id)


@click.command()
@click.argument("vocab")
@click.option("--text", help="Text to encode.")
@click.option("--file", "file", help="File or corpus name to encode.")
@ALLOW_SPECIAL
def encode(vocab: str, text: str | None, file: str | None, allow_special: tuple[str, ...]) -> None:
    """Token ids and token strings as JSON.

    \b
    Example:
      tokenkit encode gpt2 --text "Hello world"
    """
    v = load_vocabulary(vocab)
    ids = v.encode(read_input(text, file), allowed_special=allowed_special(allow_special))
    dump_json({"ids": ids, "tokens": [display_token(v, i) for i in ids]})


def parse_ids(ids: tuple[str, ...]) -> list[int]:
    """Numbers from arguments (spaces or commas), or from stdin (JSON list, {"ids": [...]}, text)."""
    values: list[Any]
    if ids == ("-",):
        raw = sys.stdin.read()
        try:
            data = json.loads(raw)
            values = data["ids"] if isinstance(data, dict) else data
        except (json.JSONDecodeError, KeyError, TypeError):
            values = raw.replace(",", " ").split()
    else:
        values = [x for group in ids for x in group.replace(",", " ").split()]
    parsed = []
    for x in values:
        try:
            parsed.append(int(x))
        except (TypeError, ValueError):
            raise TokenkitError(f"token id {x!r} is not an integer") from None
    return parsed


@click.command()
@click.argument("vocab")
@click.argument("ids", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print {\"text\": ...} instead of the raw text.")
def decode(vocab: str, ids: tuple[str, ...], as_json: bool) -> None:
    """Text for IDS (numbers, or - to read a JSON list or {"ids": [...]} from stdin).

    \b
    Example:
      tokenkit decode gpt2 15496 995
    """
    v = load_vocabulary(vocab)
    parsed = parse_ids(ids)
    bad = [i for i in parsed if not 0 <= i < v.vocab_size]
    if bad:
        raise TokenkitError(f"token id {bad[0]} is outside the vocabulary (size {v.vocab_size})")
    text = v.decode(parsed)
    if as_json:
        dump_json({"text": text})
    else:
        click.echo(text, nl=False)
