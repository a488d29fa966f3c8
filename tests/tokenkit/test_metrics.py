"""The bits report's arithmetic on hand-checked cases."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.tokenkit.helpers import mixed_vocab
from tokenkit.metrics import bits_per_token, bits_report, bits_report_from_ids


@pytest.mark.parametrize("vocab_size,bits", [(2, 1), (256, 8), (257, 9), (4096, 12), (5000, 13),
                                             (8192, 13), (8193, 14), (50257, 16), (100277, 17)])
def test_bits_per_token_is_ceil_log2(vocab_size: int, bits: int) -> None:
    assert bits_per_token(vocab_size) == bits


def test_textbook_sentence_numbers() -> None:
    """吾輩わがはいは猫である。名前はまだ無い。: 20 characters x 3 bytes; 10 tokens at vocab 5000."""
    text = "吾輩わがはいは猫である。名前はまだ無い。"
    rep = bits_report_from_ids(text, list(range(10)), 5000)
    assert (rep.utf8_bytes, rep.utf8_bits, rep.bits_per_token, rep.n_tokens, rep.bpe_bits) == \
        (60, 480, 13, 10, 130)
    assert round(rep.ratio, 2) == 3.69
    assert rep.characters == 20 and rep.bytes_per_token == 6.0 and rep.chars_per_token == 2.0


def test_after_adding_english_and_emoji_numbers() -> None:
    rep = bits_report_from_ids("吾輩わがはいは猫である。名前はまだ無い。", list(range(13)), 5000)
    assert rep.bpe_bits == 169 and round(rep.ratio, 2) == 2.84


def test_ascii_case() -> None:
    rep = bits_report_from_ids("hello world", [1, 2], 256)  # 11 bytes, 2 tokens of 8 bits
    assert (rep.utf8_bits, rep.bpe_bits, rep.ratio) == (88, 16, 5.5)


def test_empty_text() -> None:
    rep = bits_report_from_ids("", [], 1000)
    assert rep.n_tokens == 0 and rep.ratio == 0.0 and rep.bytes_per_token == 0.0


def test_non_empty_text_with_no_tokens_has_infinite_ratio() -> None:
    assert math.isinf(bits_report_from_ids("x", [], 1000).ratio)


@given(st.text(min_size=1, max_size=40))
def test_report_matches_the_vocabulary(text: str) -> None:
    v = mixed_vocab("hf")
    rep = bits_report(v, text)
    assert rep.n_tokens == len(v.encode(text))
    assert rep.bpe_bits == rep.n_tokens * math.ceil(math.log2(v.vocab_size))
    assert rep.utf8_bits == 8 * len(text.encode("utf-8"))
    assert rep.ratio == pytest.approx(rep.utf8_bits / rep.bpe_bits)
