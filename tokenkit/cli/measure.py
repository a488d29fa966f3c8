"""``tokenkit report`` and ``tokenkit oov``: what one vocabulary does to one text."""

from __future__ import annotations

import click

from tokenkit.cli.console import ALLOW_SPECIAL, allowed_special, dump_json, out, read_input
from tokenkit.corpora import resolve_corpus
from tokenkit.errors import TokenkitError
from tokenkit.metrics import bits_report
from tokenkit.oov import emoji_report, oov_report, parse_emoji_test
from tokenkit.specs import load_vocabulary


@click.command()
@click.argument("vocab")
@click.option("--text", help="Text to measure.")
@click.option("--file", "file", help="File or corpus name to measure.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@ALLOW_SPECIAL
def report(vocab: str, text: str | None, file: str | None, as_json: bool,
           allow_special: tuple[str, ...]) -> None:
    """UTF-8 bits against BPE bits for a text, in the textbook's format.

    \b
    Example:
      tokenkit report wagahai-5000 --text 吾輩わがはいは猫である。名前はまだ無い。
    """
    # lazy: tokenkit.report imports rich.table (heavy, ~30 ms); only printing commands need it
    from tokenkit.report import display_token, format_bits_report, token_boundaries

    v = load_vocabulary(vocab)
    body = read_input(text, file)
    rep = bits_report(v, body, allowed_special=allowed_special(allow_special))
    if as_json:
        dump_json({**rep.to_dict(), "vocabulary": vocab,
                   "tokens": [display_token(v, i) for i in rep.ids]})
        return
    out.print(format_bits_report(rep, token_boundaries(v, rep.ids), name=vocab), markup=False)


@click.command()
@click.argument("vocab")
@click.option("--text", help="Text whose characters to check.")
@click.option("--file", "file", help="File or corpus name whose characters to check.")
@click.option("--emoji", "emoji", is_flag=True, help="Check the whole Unicode emoji list (emoji-test corpus).")
@click.option("--strict", is_flag=True, help="Exit non-zero when anything is lost.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@ALLOW_SPECIAL
def oov(vocab: str, text: str | None, file: str | None, emoji: bool, strict: bool, as_json: bool,
        allow_special: tuple[str, ...]) -> None:
    """Which characters VOCAB cannot encode or give back.

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
        rep = oov_report(v, read_input(text, file), allowed_special=allowed_special(allow_special))
        if as_json:
            dump_json(rep.to_dict())
        else:
            out.print(f"original: {rep.text}", markup=False)
            out.print(f"decoded:  {rep.decoded}", markup=False)
            out.print(oov_table(rep))
            for line in lost_lines(rep):
                out.print(f"lost {line}", markup=False)
            verdict = "lossless" if rep.lossless else f"{len(rep.lost)} characters lost"
            out.print(f"round trip: {'identical' if rep.decoded == rep.text else 'DIFFERENT'}; {verdict}")
        lost = len(rep.lost) + (rep.decoded != rep.text)
    if strict and lost:
        raise click.ClickException(f"{lost} lost (--strict)")
