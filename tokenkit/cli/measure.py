"""``tokenkit report`` and ``tokenkit oov``: what one vocabulary does to one text."""

from __future__ import annotations

import dataclasses

import click

from tokenkit.cli.console import (
    ALLOW_SPECIAL,
    PREVIEW_CHARS,
    PREVIEW_SHOWN,
    PREVIEW_TOKENS,
    TEXT_FIELD,
    allowed_special,
    dump_json,
    first_difference,
    out,
    preview,
    preview_tokens,
    read_input,
)
from tokenkit.corpora import resolve_corpus
from tokenkit.errors import TokenkitError
from tokenkit.metrics import bits_report
from tokenkit.oov import emoji_report, oov_report, parse_emoji_test
from tokenkit.specs import load_vocabulary


@click.command()
@click.argument("vocab")
@click.option("--text", help="Text to measure.")
@click.option("--file", "file",
              help="File or corpus name to measure (.txt, .jsonl, .parquet; .gz/.zst).")
@TEXT_FIELD
@click.option("--show-text", is_flag=True,
              help="Print the whole text and every token (by default a long text is previewed).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@ALLOW_SPECIAL
def report(vocab: str, text: str | None, file: str | None, text_field: str, show_text: bool,
           as_json: bool, allow_special: tuple[str, ...]) -> None:
    """UTF-8 bits against BPE bits for a text, in the textbook's format.

    The numbers come first; a text over 200 characters is shown as a preview (and in --json
    its text, ids and tokens are left out) unless --show-text asks for all of it.

    \b
    Example:
      tokenkit report wagahai-5000 --text 吾輩わがはいは猫である。名前はまだ無い。
    """
    # lazy: tokenkit.report imports rich.table (heavy, ~30 ms); only printing commands need it
    from tokenkit.report import display_token, format_bits_report

    v = load_vocabulary(vocab)
    body = read_input(text, file, text_field)
    rep = bits_report(v, body, allowed_special=allowed_special(allow_special))
    whole = show_text or len(body) <= PREVIEW_CHARS
    tokens = [display_token(v, i) for i in (rep.ids if whole else rep.ids[:PREVIEW_TOKENS])]
    if as_json:
        data = {**rep.to_dict(), "vocabulary": vocab, "tokens": tokens}
        if not whole:  # a novel's text, ids and tokens would be megabytes of JSON
            del data["text"], data["ids"], data["tokens"]
            data.update(truncated=True, text_preview=body[:PREVIEW_CHARS],
                        tokens_preview=preview_tokens(tokens, rep.n_tokens))
        dump_json(data)
        return
    if not whole:
        rep = dataclasses.replace(rep, text=preview(body))
    # click, not rich: rich would expand the text's tabs and drop its control characters
    click.echo(format_bits_report(rep, "|".join(preview_tokens(tokens, rep.n_tokens)), name=vocab))


@click.command()
@click.argument("vocab")
@click.option("--text", help="Text whose characters to check.")
@click.option("--file", "file", help="File or corpus name whose characters to check "
                                     "(.txt, .jsonl, .parquet; .gz/.zst).")
@TEXT_FIELD
@click.option("--emoji", "emoji", is_flag=True, help="Check the whole Unicode emoji list (emoji-test corpus).")
@click.option("--strict", is_flag=True, help="Exit non-zero when anything is lost.")
@click.option("--show-text", is_flag=True,
              help="Print the whole text and every token (by default a long text is previewed).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@ALLOW_SPECIAL
def oov(vocab: str, text: str | None, file: str | None, text_field: str, emoji: bool, strict: bool,
        show_text: bool, as_json: bool, allow_special: tuple[str, ...]) -> None:
    """Which characters VOCAB cannot encode or give back.

    The per-script table and every lost character come first, then the original and decoded
    text: previews for a text over 200 characters (around the first difference, if any)
    unless --show-text asks for all of it.

    \b
    Example:
      tokenkit oov wagahai-observed-5000 --text "El Psy Congroo 🥺"
    """
    # lazy: tokenkit.report imports rich.table (heavy, ~30 ms); only printing commands need it
    from tokenkit.report import format_emoji_report, lost_lines, oov_table

    v = load_vocabulary(vocab)
    if emoji:
        if text is not None or file is not None:
            raise TokenkitError("--emoji measures the emoji list; do not combine it with --text/--file")
        erep = emoji_report(v, parse_emoji_test(resolve_corpus("emoji-test")))
        if as_json:
            dump_json(erep.to_dict())
        else:
            out.print(format_emoji_report(erep), markup=False)
        lost = erep.lost
    else:
        rep = oov_report(v, read_input(text, file, text_field), allowed_special=allowed_special(allow_special))
        whole = show_text or max(len(rep.text), len(rep.decoded)) <= PREVIEW_CHARS
        if as_json:
            data = rep.to_dict()
            if not whole:  # the units (one per distinct character) stay; the text is a preview
                data.update(text=preview(rep.text), decoded=preview(rep.decoded), truncated=True)
            dump_json(data)
        else:
            out.print(oov_table(rep))
            for line in lost_lines(rep):
                out.print(f"lost {line}", markup=False)
            verdict = "lossless" if rep.lossless else f"{len(rep.lost)} characters lost"
            out.print(f"round trip: {'identical' if rep.decoded == rep.text else 'DIFFERENT'}; {verdict}")
            for label, shown in _text_lines(rep.text, rep.decoded, whole):
                click.echo(f"{label} {shown}")  # the text exactly: no tab expansion by rich
        lost = len(rep.lost) + (rep.decoded != rep.text)
    if strict and lost:
        raise click.ClickException(f"{lost} lost (--strict)")


def _text_lines(original: str, decoded: str, whole: bool) -> list[tuple[str, str]]:
    """The original and decoded text, or previews of both where they first differ."""
    if whole:
        return [("original:", original), ("decoded: ", decoded)]
    at = first_difference(original, decoded)
    if at is None:
        return [("original:", preview(original)), ("decoded: ", "identical to the original")]
    start = max(0, at - 20)
    return [("first difference at character", f"{at:,} (--show-text prints all):"),
            ("original:", original[start:start + PREVIEW_SHOWN].replace("\n", "↵")),
            ("decoded: ", decoded[start:start + PREVIEW_SHOWN].replace("\n", "↵"))]
