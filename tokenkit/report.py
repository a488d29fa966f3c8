"""Human-readable renderings of tokenkit's numbers (text and rich tables; no printing here)."""

from __future__ import annotations

from rich.table import Table

from tokenkit.metrics import BitsReport
from tokenkit.oov import GROUPS, EmojiReport, OOVReport
from tokenkit.vocabulary import Vocabulary

_VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}


def display_token(vocab: Vocabulary, token_id: int) -> str:
    """A token as readable text: whitespace made visible, partial UTF-8 shown as ``\\xNN``."""
    data = vocab.token_bytes(token_id)
    if data is None:
        return vocab.id_to_token(token_id)
    text = data.decode("utf-8", errors="backslashreplace")
    return "".join(_VISIBLE.get(c, c) for c in text)


def token_boundaries(vocab: Vocabulary, ids: list[int]) -> str:
    return "|".join(display_token(vocab, i) for i in ids)


def format_bits_report(rep: BitsReport, tokens: str, name: str = "") -> str:
    """The textbook's layout: text, UTF-8 size, fixed-width BPE size, their ratio, the tokens."""
    rows = [
        ("vocabulary", f"{name} ({rep.vocab_size} tokens)" if name else str(rep.vocab_size)),
        ("text", rep.text),
        ("UTF-8 bytes", f"{rep.utf8_bytes}"),
        ("UTF-8 bits", f"{rep.utf8_bits}  (8 x {rep.utf8_bytes})"),
        ("bits per token", f"{rep.bits_per_token}  (ceil(log2({rep.vocab_size})))"),
        ("tokens", f"{rep.n_tokens}"),
        ("BPE bits", f"{rep.bpe_bits}  ({rep.n_tokens} x {rep.bits_per_token})"),
        ("compression ratio", f"{rep.ratio:.2f}  ({rep.utf8_bits} / {rep.bpe_bits})"),
        ("bytes per token", f"{rep.bytes_per_token:.2f}"),
        ("chars per token", f"{rep.chars_per_token:.2f}"),
        ("token boundaries", tokens),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def oov_table(report: OOVReport) -> Table:
    table = Table(title="characters by script / category", show_lines=False)
    for col in ("group", "chars", "whole", "bytes", "lost", "lost examples", "byte-piece examples"):
        table.add_column(col, justify="right" if col in ("chars", "whole", "bytes", "lost") else "left")
    for group in GROUPS:
        s = report.groups.get(group)
        if s is None:
            continue
        table.add_row(group, str(s.total), str(s.whole), str(s.bytes),
                      f"[red]{s.lost}[/red]" if s.lost else "0",
                      " ".join(s.examples["lost"]), " ".join(s.examples["bytes"]))
    return table


def lost_lines(report: OOVReport) -> list[str]:
    return [f"{u.text!r} {u.codepoints} ({u.group}): {u.how_lost} -> {u.decoded!r}"
            for u in report.lost]


def format_emoji_report(rep: EmojiReport) -> str:
    lines = [
        f"emoji sequences         {rep.n}",
        f"round-trip              {rep.whole + rep.bytes} ({rep.roundtrip_fraction:.1%})",
        f"  from whole tokens     {rep.whole}",
        f"  only via byte pieces  {rep.bytes}",
        f"lost                    {rep.lost}",
        f"tokens per emoji        {rep.tokens_per_emoji:.2f} (max {rep.max_tokens})",
    ]
    if rep.lost_examples:
        lines.append(f"lost, e.g.              {' '.join(rep.lost_examples[:12])}")
    return "\n".join(lines)
