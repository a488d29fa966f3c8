"""Tokens as a person looks at them: pieces with spans and flags, as plain text, rich or HTML.

One module turns an encoding into :class:`TokenPiece` s (id, bytes, backend string, the
characters of the text it covers, and two flags) and renders them three ways. The playground,
notebooks (``_repr_html_``) and terminals all draw from the same pieces, so they agree.

The flags say what the bits report cannot:

* **byte piece**: the token holds part of a character (a byte-level token that splits its
  UTF-8 sequence, or a sentencepiece ``<0xNN>`` fallback piece);
* **lost**: what the token stands for does not come back from ``decode`` (``<unk>``, bytes
  that decode to U+FFFD, a character :func:`tokenkit.oov.classify` calls lost). Characters
  dropped without any token are reported as :class:`LostSpan` s between the pieces.

Only the public :class:`~tokenkit.vocabulary.Vocabulary` interface is used.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tokenkit.metrics import BitsReport, bits_report_from_ids
from tokenkit.oov import LOST, classify, is_utf8
from tokenkit.vocabulary import Vocabulary

#: Whitespace made visible (the same marks as tokenkit.report).
VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}
#: How far past a dropped run of text a token is looked for: bounds the work on a lossy
#: (e.g. normalising) vocabulary to linear time; longer dropped runs show as unplaced tokens.
SEARCH_WINDOW = 4096
#: Token colours cycle through this many CSS classes (``tk-c0`` ... ``tk-c5``).
N_COLOURS = 6


@dataclass(frozen=True)
class TokenPiece:
    """One token of an encoding, placed on the characters of the text it came from."""

    index: int
    id: int
    data: bytes | None  # what the token contributes to decoded text; None for control tokens
    backend: str  # the backend's own string (``Ġthe``, ``▁the``, ``<0xE5>``...)
    start: int  # character span [start, end) in the text; empty when nothing lines up
    end: int
    byte_piece: bool
    lost: bool
    special: bool = False

    @property
    def hex(self) -> str:
        return self.data.hex(" ") if self.data is not None else ""

    def to_dict(self, text: str) -> dict[str, Any]:
        return {"index": self.index, "id": self.id, "hex": self.hex, "backend": self.backend,
                "start": self.start, "end": self.end, "text": text[self.start:self.end],
                "byte_piece": self.byte_piece, "lost": self.lost, "special": self.special}


@dataclass(frozen=True)
class LostSpan:
    """Characters of the text that no token stands for (dropped on encode)."""

    start: int
    end: int
    after: int  # index of the token this span follows (-1: before the first token)

    def to_dict(self, text: str) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "after": self.after,
                "text": text[self.start:self.end]}


@dataclass
class TokenView:
    """An encoding with everything needed to draw it; shows coloured tokens in notebooks."""

    text: str
    name: str
    pieces: list[TokenPiece]
    lost_spans: list[LostSpan]
    decoded: str
    report: BitsReport
    lost_chars: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[int]:
        return [p.id for p in self.pieces]

    @property
    def lossless(self) -> bool:
        return self.decoded == self.text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: tokens, lost spans, the decoded text and the bits report (no ids twice)."""
        rep = self.report.to_dict()
        rep.pop("text")
        rep.pop("ids")
        return {"name": self.name, "tokens": [p.to_dict(self.text) for p in self.pieces],
                "lost_spans": [s.to_dict(self.text) for s in self.lost_spans],
                "decoded": self.decoded, "lossless": self.lossless,
                "lost_chars": self.lost_chars, "report": rep}

    def _repr_html_(self) -> str:
        return to_html(self)

    def __rich__(self) -> Any:
        return to_rich(self)

    def __str__(self) -> str:
        return to_text(self)



def _char_starts(text: str) -> list[int]:
    """Byte offset where each character starts, plus the total length at the end."""
    starts, pos = [], 0
    for ch in text:
        starts.append(pos)
        pos += len(ch.encode("utf-8"))
    starts.append(pos)
    return starts


def view(vocab: Vocabulary, text: str, ids: list[int] | None = None, name: str = "") -> TokenView:
    """Encode ``text`` (unless ``ids`` are given) and place every token on the text.

    Token bytes are matched against the text's UTF-8 bytes left to right; where a vocabulary
    dropped characters, the next token is searched for further on and the skipped characters
    become a lost span (or the span of a preceding ``<unk>``).
    """
    ids = vocab.encode(text) if ids is None else list(ids)
    raw = text.encode("utf-8")
    starts = _char_starts(text)
    byte_to_char = [0] * (len(raw) + 1)
    for ci in range(len(text)):
        for b in range(starts[ci], starts[ci + 1]):
            byte_to_char[b] = ci
    byte_to_char[len(raw)] = len(text)
    boundary = set(starts)

    lost_set = _lost_characters(vocab, text)
    specials = set(vocab.specials.values())
    unk = vocab.unk_id
    pieces: list[TokenPiece] = []
    lost_spans: list[LostSpan] = []
    pos = 0  # byte position in `raw`
    pending_unk: int | None = None  # index into `pieces` of an <unk> waiting for its span
    for index, tid in enumerate(ids):
        data = vocab.token_bytes(tid)
        backend = vocab.id_to_token(tid)
        is_unk = tid == unk or data is None
        if is_unk:
            pieces.append(TokenPiece(index, tid, data, backend, byte_to_char[pos], byte_to_char[pos],
                                     False, tid == unk, tid in specials))
            pending_unk = len(pieces) - 1 if tid == unk else pending_unk
            continue
        found = raw.find(data, pos, pos + SEARCH_WINDOW + len(data)) if data else pos
        if found < 0:  # bytes the text does not contain (normalisation): nothing lines up
            pieces.append(TokenPiece(index, tid, data, backend, byte_to_char[pos], byte_to_char[pos],
                                     False, True, tid in specials))
            continue
        if found > pos:
            gap = (byte_to_char[pos], _ceil_char(byte_to_char, boundary, found))
            if pending_unk is not None:
                p = pieces[pending_unk]
                pieces[pending_unk] = TokenPiece(p.index, p.id, p.data, p.backend, gap[0], gap[1],
                                                 False, True, p.special)
            elif gap[1] > gap[0]:
                lost_spans.append(LostSpan(gap[0], gap[1], len(pieces) - 1))
        pending_unk = None
        end = found + len(data)
        c0 = byte_to_char[found]
        c1 = _ceil_char(byte_to_char, boundary, end)
        split = found not in boundary or end not in boundary
        byte_piece = split or vocab.is_byte_fallback(tid) or not is_utf8(data)
        lost = any(text[c] in lost_set for c in range(c0, c1))
        pieces.append(TokenPiece(index, tid, data, backend, c0, c1, byte_piece, lost, tid in specials))
        pos = end
    if pos < len(raw):
        tail = (byte_to_char[pos], len(text))
        if pending_unk is not None:
            p = pieces[pending_unk]
            pieces[pending_unk] = TokenPiece(p.index, p.id, p.data, p.backend, *tail, False, True,
                                             p.special)
        else:
            lost_spans.append(LostSpan(*tail, len(pieces) - 1))
    decoded = vocab.decode(ids)
    return TokenView(text=text, name=name or vocab.name, pieces=pieces, lost_spans=lost_spans,
                     decoded=decoded, report=bits_report_from_ids(text, ids, vocab.vocab_size),
                     lost_chars=[c for c in dict.fromkeys(text) if c in lost_set])


def _ceil_char(byte_to_char: list[int], boundary: set[int], byte_pos: int) -> int:
    """The character index at or after ``byte_pos`` (the end of a span that may split one)."""
    return byte_to_char[byte_pos] if byte_pos in boundary else byte_to_char[byte_pos] + 1


def _lost_characters(vocab: Vocabulary, text: str) -> set[str]:
    """Characters :func:`tokenkit.oov.classify` calls lost, checked only when the round trip fails."""
    if vocab.decode(vocab.encode(text)) == text:
        return set()
    chars = list(dict.fromkeys(text))
    return {c for c, ids in zip(chars, vocab.encode_batch(chars))
            if classify(vocab, c, ids).fate == LOST}


# -- renderers -------------------------------------------------------------------------------
def visible(text: str) -> str:
    """Whitespace as visible marks (a newline keeps its line break after the mark)."""
    return "".join(VISIBLE.get(c, c) + ("\n" if c == "\n" else "") for c in text)


def piece_label(view_: TokenView, piece: TokenPiece) -> str:
    """What a token shows: its characters, or its hex bytes when it holds part of one."""
    if piece.byte_piece or piece.start == piece.end:
        if piece.data is None or piece.special:
            return piece.backend
        return f"‹{piece.hex}›"
    return view_.text[piece.start:piece.end]


def piece_title(view_: TokenView, piece: TokenPiece) -> str:
    """The hover text: id, hex bytes, backend string, and the flags in words."""
    parts = [f"id {piece.id}", f"bytes {piece.hex or '(none)'}", f"backend {piece.backend!r}"]
    if piece.byte_piece:
        parts.append(f"byte piece of {view_.text[piece.start:piece.end]!r}")
    if piece.lost:
        parts.append("lost: not given back by decode")
    return " · ".join(parts)


def _segments(view_: TokenView) -> Iterable[tuple[str, Any]]:
    """("lost", LostSpan) and ("token", TokenPiece) in text order."""
    by_after: dict[int, list[LostSpan]] = {}
    for span in view_.lost_spans:
        by_after.setdefault(span.after, []).append(span)
    for span in by_after.get(-1, []):
        yield "lost", span
    for piece in view_.pieces:
        yield "token", piece
        for span in by_after.get(piece.index, []):
            yield "lost", span


def to_text(view_: TokenView) -> str:
    """``吾輩|わが|…`` with ``[lost: 🥺]`` where characters vanish and a summary line."""
    out = []
    for kind, item in _segments(view_):
        if kind == "lost":
            out.append(f"[lost: {visible(view_.text[item.start:item.end])}]")
        else:
            label = visible(piece_label(view_, item))
            out.append(f"[lost: {label}]" if item.lost else label)
    rep = view_.report
    summary = (f"{rep.n_tokens} tokens, {rep.utf8_bits} UTF-8 bits, {rep.bpe_bits} BPE bits "
               f"({rep.bits_per_token} per token), ratio {rep.ratio:.2f}")
    lines = ["|".join(out), summary]
    if not view_.lossless:
        lines.append(f"decoded: {view_.decoded}")
    return "\n".join(lines)


_RICH_COLOURS = ("on #e0ecff", "on #ffe8cc", "on #dff5df", "on #f3e0ff", "on #fff6bf", "on #d9f4f4")


def to_rich(view_: TokenView) -> Any:
    """A ``rich.text.Text``: alternating backgrounds, byte pieces underlined, lost in red."""
    from rich.text import Text

    out = Text()
    for kind, item in _segments(view_):
        if kind == "lost":
            out.append(visible(view_.text[item.start:item.end]), style="bold red strike")
            continue
        style = _RICH_COLOURS[item.index % len(_RICH_COLOURS)]
        if item.byte_piece:
            style += " underline"
        if item.lost:
            style = "bold white on red"
        out.append(visible(piece_label(view_, item)), style=style)
    return out


def _html_text(text: str) -> str:
    parts = []
    for c in text:
        if c in VISIBLE:
            parts.append(f'<span class="tk-ws">{VISIBLE[c]}</span>' + ("<br>" if c == "\n" else ""))
        else:
            parts.append(html.escape(c))
    return "".join(parts)


#: Styles for the HTML rendering (the playground page uses the same class names).
CSS = """
.tk-tokens{font-family:"Noto Sans CJK JP","Hiragino Sans","Yu Gothic","Noto Sans",system-ui,
  sans-serif,"Noto Color Emoji","Apple Color Emoji","Segoe UI Emoji";line-height:2;
  white-space:normal;word-break:break-all}
.tk-tok{border-radius:3px;padding:1px 0;margin-right:1px;border:1px solid rgba(0,0,0,.12)}
.tk-c0{background:#dbe8ff}.tk-c1{background:#ffe3c4}.tk-c2{background:#d7f2d7}
.tk-c3{background:#efdcff}.tk-c4{background:#fff2b0}.tk-c5{background:#cdf0f0}
.tk-ws{color:#8a8a8a}
.tk-byte{border:1px dashed #555;font-family:ui-monospace,monospace;font-size:.8em}
.tk-lost{background:#ffd1d1!important;color:#b00000;text-decoration:line-through wavy #b00000;
  border:1px solid #b00000}
""".strip()


def to_html(view_: TokenView, *, standalone_css: bool = True, summary: bool = True) -> str:
    """Colour-coded spans with ``title`` and ``data-*`` attributes (id, hex, backend string).

    ``standalone_css=False`` leaves out the ``<style>`` (a page that links :data:`CSS` once);
    ``summary=False`` leaves out the numbers and decoded text (a page that shows its own).
    """
    out = [f"<style>{CSS}</style>"] if standalone_css else []
    out.append('<div class="tk-tokens">')
    for kind, item in _segments(view_):
        if kind == "lost":
            chars = view_.text[item.start:item.end]
            points = " ".join(f"U+{ord(c):04X}" for c in chars)
            out.append(f'<span class="tk-lost tk-gap" title="{html.escape(f"lost: {points}, no token")}"'
                       f' data-text="{html.escape(chars)}">{_html_text(chars)}</span>')
            continue
        classes = ["tk-tok", f"tk-c{item.index % N_COLOURS}"]
        if item.byte_piece:
            classes.append("tk-byte")
        if item.lost:
            classes.append("tk-lost")
        attrs = (f'class="{" ".join(classes)}" title="{html.escape(piece_title(view_, item))}" '
                 f'data-index="{item.index}" data-id="{item.id}" data-hex="{item.hex}" '
                 f'data-backend="{html.escape(item.backend)}" '
                 f'data-text="{html.escape(view_.text[item.start:item.end])}"')
        label = piece_label(view_, item)
        body = html.escape(label) if item.byte_piece or item.start == item.end else _html_text(label)
        out.append(f"<span {attrs}>{body}</span>")
    out.append("</div>")
    if not summary:
        return "".join(out)
    rep = view_.report
    out.append(f'<div class="tk-summary">{rep.n_tokens} tokens · {rep.utf8_bits} UTF-8 bits · '
               f'{rep.bpe_bits} BPE bits ({rep.bits_per_token} per token) · ratio {rep.ratio:.2f}</div>')
    if not view_.lossless:
        out.append(f'<div class="tk-decoded">decoded: {html.escape(view_.decoded)}</div>')
    return "".join(out)
