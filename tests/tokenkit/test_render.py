"""The token renderer: spans, byte pieces and lost characters, in text, rich and HTML."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tokenkit.helpers import mixed_vocab
from tokenkit.metrics import bits_report
from tokenkit.oov import oov_report
from tokenkit.render import TokenView, to_html, to_rich, to_text, view

OOV_SENTENCE = "論文を書くのは辛い El Psy Congroo 🥺"


class _Spans(HTMLParser):
    """Collects the attributes of every token / lost span of a rendering."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        d = {k: v or "" for k, v in attrs}
        if tag == "span" and ("tk-tok" in d.get("class", "") or "tk-gap" in d.get("class", "")):
            self.spans.append(d)


def spans(markup: str) -> list[dict[str, str]]:
    parser = _Spans()
    parser.feed(markup)
    return parser.spans


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=0, max_size=40))
def test_lossless_vocab_pieces_tile_the_text_in_order(text: str) -> None:
    v = mixed_vocab("hf")
    tv = view(v, text)
    assert tv.lossless and not tv.lost_spans and not any(p.lost for p in tv.pieces)
    assert b"".join(p.data or b"" for p in tv.pieces) == text.encode("utf-8")
    pos = 0
    for p in tv.pieces:  # spans never go backwards, never skip a character
        assert p.start <= pos <= p.end or (p.byte_piece and p.start < pos)
        pos = max(pos, p.end)
    assert pos == len(text)
    for p in tv.pieces:  # whole tokens are exactly their characters
        if not p.byte_piece:
            assert text[p.start:p.end].encode("utf-8") == p.data


def test_emoji_split_into_byte_tokens_is_flagged_byte_piece_not_lost() -> None:
    v = mixed_vocab("hf")  # 256-byte alphabet, never saw 🥺
    tv = view(v, "x🥺")
    emoji = [p for p in tv.pieces if p.start == 1]
    assert len(emoji) >= 2 and all(p.byte_piece and not p.lost for p in emoji)
    assert b"".join(p.data for p in emoji) == "🥺".encode("utf-8")


def test_sentencepiece_byte_fallback_pieces_are_byte_pieces() -> None:
    v = mixed_vocab("sentencepiece")
    tv = view(v, "a🥺")
    fallback = [p for p in tv.pieces if v.is_byte_fallback(p.id)]
    assert len(fallback) == 4 and all(p.byte_piece and not p.lost for p in fallback)
    assert all(re.fullmatch(r"<0x[0-9A-F]{2}>", p.backend) for p in fallback)


def test_observed_alphabet_marks_dropped_characters_lost() -> None:
    v = mixed_vocab("hf", alphabet="observed")  # MIXED_TEXT has no 🥺 and no "Z"
    text = "Zebra 🥺 fox"
    tv = view(v, text)
    lost_text = "".join(text[s.start:s.end] for s in tv.lost_spans)
    lost_pieces = [p for p in tv.pieces if p.lost]
    assert "Z" in lost_text
    assert "🥺" in lost_text or any(text[p.start:p.end] == "🥺" for p in lost_pieces)
    assert set(tv.lost_chars) == {u.text for u in oov_report(v, text).lost}
    assert tv.decoded == v.decode(v.encode(text)) and not tv.lossless
    assert "[lost: Z]" in to_text(tv)


def test_unk_token_covers_what_it_replaced() -> None:
    v = mixed_vocab("sentencepiece", byte_fallback=False)
    tv = view(v, "ab🥺cd")
    unk = [p for p in tv.pieces if p.id == v.unk_id]
    assert unk and unk[0].lost and "🥺" in tv.text[unk[0].start:unk[0].end]


def test_report_numbers_match_bits_report() -> None:
    v = mixed_vocab("hf")
    text = "The quick brown fox 吾輩は猫である。"
    assert view(v, text).report == bits_report(v, text)
    assert view(v, text).ids == v.encode(text)


def test_html_has_one_span_per_token_with_id_hex_and_backend() -> None:
    v = mixed_vocab("hf", alphabet="observed")
    text = "the fox\nZ 🥺"
    tv = view(v, text)
    markup = to_html(tv)
    found = spans(markup)
    tokens = [s for s in found if "tk-tok" in s["class"]]
    assert [int(s["data-id"]) for s in tokens] == tv.ids
    for s, p in zip(tokens, tv.pieces):
        assert s["data-hex"] == (p.data or b"").hex(" ")
        assert s["data-backend"] == v.id_to_token(p.id)
        assert f"id {p.id}" in s["title"]
        assert ("tk-lost" in s["class"]) == p.lost and ("tk-byte" in s["class"]) == p.byte_piece
    assert any("tk-gap" in s["class"] for s in found)  # dropped Z / 🥺
    assert "↵" in markup and "<br>" in markup and "␣" in markup  # whitespace made visible
    assert "decoded:" in markup and "<script" not in markup


def test_html_escapes_markup_in_the_text() -> None:
    v = mixed_vocab("hf")
    markup = to_html(view(v, '<img src=x onerror="alert(1)">'))
    assert "<img" not in markup and "&lt;" in markup


def test_notebook_and_rich_reprs() -> None:
    v = mixed_vocab("hf")
    tv = view(v, "the fox")
    assert isinstance(tv, TokenView) and tv._repr_html_() == to_html(tv)
    assert to_rich(tv).plain.replace("␣", " ") == "the fox"
    rep = bits_report(v, "the fox")
    assert f"<td>{rep.n_tokens}</td>" in rep._repr_html_()
    assert "round trip: lossless" in oov_report(v, "the fox")._repr_html_()


def test_normalising_vocabulary_tokens_that_match_no_text_are_lost_not_misplaced() -> None:
    from tokenkit.training import train_from_texts

    from tests.tokenkit.helpers import MIXED_TEXT

    v = train_from_texts([MIXED_TEXT], 600, backend="sentencepiece", normalization="nfkc").vocabulary
    text = "ＡＢＣ the fox " * 2000  # full-width letters come back as ASCII: lost
    tv = view(v, text)
    assert tv.ids == v.encode(text) and not tv.lossless
    assert {"Ａ", "Ｂ", "Ｃ"} <= set(tv.lost_chars)
    placed = [p for p in tv.pieces if not p.lost]
    assert placed and all(text[p.start:p.end].encode("utf-8") == p.data for p in placed if not p.byte_piece)
