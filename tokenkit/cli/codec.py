"""``tokenkit encode`` and ``tokenkit decode``: text <-> token ids as JSON."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from tokenkit.cli.console import ALLOW_SPECIAL, allowed_special, dump_json, read_input
from tokenkit.engines import ENGINES
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
@click.option("--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
              help="What encodes a byte-level BPE (auto: gigatoken when installed; reference: "
                   "tiktoken). Same ids either way.")
@ALLOW_SPECIAL
def encode(vocab: str, text: str | None, file: str | None, engine: str,
           allow_special: tuple[str, ...]) -> None:
    """Token ids and token strings as JSON.

    \b
    Example:
      tokenkit encode gpt2 --text "Hello world"
    """
    v = load_vocabulary(vocab, engine=engine)
    ids = v.encode(read_input(text, file), allowed_special=allowed_special(allow_special))
    dump_json({"ids": ids, "tokens": [display_token(v, i) for i in ids]})


def ids_from_json(data: Any, source: str = "stdin") -> list[int]:
    """A JSON list of ids or ``{"ids": [...]}``; anything else (floats, booleans, null, nested
    lists, strings) is refused in one line rather than coerced."""
    if isinstance(data, dict):
        if "ids" not in data:
            raise TokenkitError(f'{source}: a JSON object must hold "ids" (a list of token ids)')
        data = data["ids"]
    if not isinstance(data, list):
        raise TokenkitError(f'{source}: "ids" must be a list of token ids, not {data!r:.60}')
    for x in data:
        if type(x) is not int:  # bool is an int subclass: true is not token 1
            raise TokenkitError(f"{source}: token id {x!r:.60} is not an integer")
    return list(data)


def _int(text: str, source: str) -> int:
    if not text.lstrip("+-").isdigit() or not text.isascii():
        raise TokenkitError(f"{source}: token id {text[:60]!r} is not an integer")
    return int(text)


def parse_ids(ids: tuple[str, ...]) -> list[int]:
    """Numbers from arguments (spaces or commas), or from stdin (JSON list, {"ids": [...]}, or
    numbers separated by spaces/commas). At least one id is required."""
    if ids == ("-",):
        raw_bytes = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
        try:
            raw = raw_bytes.decode("utf-8") if isinstance(raw_bytes, bytes) else raw_bytes
        except UnicodeDecodeError as e:
            raise TokenkitError(f"stdin is not valid UTF-8 (byte offset {e.start})") from None
        stripped = raw.strip()
        if stripped[:1] in ("[", "{"):
            try:
                data = json.loads(stripped)
            except ValueError as e:
                raise TokenkitError(f"stdin is not valid JSON: {e}") from None
            parsed = ids_from_json(data)
        else:
            parsed = [_int(x, "stdin") for x in raw.replace(",", " ").split()]
        where = "stdin"
    else:
        parsed = [_int(x, "argument") for group in ids for x in group.replace(",", " ").split()]
        where = "the arguments"
    if not parsed:
        raise TokenkitError(f"no token ids in {where}: give ids as arguments or - to read JSON from stdin")
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
