"""HTML tables for the report dataclasses' ``_repr_html_`` (notebooks).

Kept apart from :mod:`tokenkit.render` (which builds on the reports) so that the report modules
can import it at the top without a cycle.
"""

from __future__ import annotations

import base64
import html
from typing import Any


def report_html(rep: Any) -> str:
    """A bits report as an HTML table (the textbook's rows), for notebooks."""
    rows = [("characters", rep.characters), ("UTF-8 bytes", rep.utf8_bytes),
            ("UTF-8 bits", rep.utf8_bits), ("vocabulary size", rep.vocab_size),
            ("bits per token", f"{rep.bits_per_token} (ceil(log2 V))"), ("tokens", rep.n_tokens),
            ("BPE bits", rep.bpe_bits), ("ratio", f"{rep.ratio:.2f}"),
            ("bytes per token", f"{rep.bytes_per_token:.2f}"),
            ("chars per token", f"{rep.chars_per_token:.2f}")]
    body = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in rows)
    return f"<table class='tk-report'>{body}</table>"


def oov_html(report: Any) -> str:
    """An OOV report as an HTML table: per group, whole / bytes / lost and lost examples."""
    head = "<tr><th>group</th><th>chars</th><th>whole</th><th>bytes</th><th>lost</th><th>lost, e.g.</th></tr>"
    rows = "".join(
        f"<tr><td>{g}</td><td>{s.total}</td><td>{s.whole}</td><td>{s.bytes}</td>"
        f"<td style='color:{'#b00000' if s.lost else 'inherit'}'>{s.lost}</td>"
        f"<td>{html.escape(' '.join(s.examples['lost']))}</td></tr>"
        for g, s in report.groups.items())
    verdict = "lossless" if report.lossless else f"{len(report.lost)} characters lost"
    return f"<table class='tk-oov'>{head}{rows}</table><div>round trip: {verdict}</div>"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, (list, tuple, dict)):
        return html.escape(str(len(value)) + " items")
    return html.escape(str(value))


def rows_html(rows: list[Any], css_class: str = "tk-rows") -> str:
    """Dataclass rows (all of one type) as an HTML table, one column per field."""
    if not rows:
        return "<p>no rows</p>"
    names = list(vars(rows[0]))
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = "".join("<tr>" + "".join(f"<td>{_cell(getattr(r, n))}</td>" for n in names) + "</tr>"
                   for r in rows)
    return f"<table class='{css_class}'><tr>{head}</tr>{body}</table>"


def images_html(pngs: list[bytes]) -> str:
    """PNG pictures inlined as ``data:`` URIs (a notebook cell shows them without files)."""
    return "".join(f"<img src='data:image/png;base64,{base64.b64encode(png).decode()}'>" for png in pngs)
