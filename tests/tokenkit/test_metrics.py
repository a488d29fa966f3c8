"""The bits report's arithmetic on hand-checked cases; entropy, Rényi efficiency (against the
reference implementation, tokenization-scorer), fertility, round trip and parity."""

from __future__ import annotations

import contextlib
import io
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tokenkit.helpers import MIXED_TEXT, mixed_vocab
from tokenkit import metrics
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


# -- entropy, Rényi efficiency, fertility, round trip and parity -------------------------------
def _scorer():
    return pytest.importorskip("tokenization_scorer", reason="tokenization-scorer (test dep) missing")


def reference(stream: list[int], metric: str, **kwargs) -> float:
    """tokenization-scorer on a token stream: one 'line' of space-separated token ids."""
    with contextlib.redirect_stderr(io.StringIO()):
        return float(_scorer().score([[" ".join(map(str, stream))]], metric=metric, **kwargs))


def test_shannon_entropy_hand_computed():
    # p = (1/2, 1/4, 1/4): H = 0.5*1 + 2 * 0.25*2 = 1.5 bits
    assert metrics.shannon_entropy({"a": 2, "b": 1, "c": 1}) == pytest.approx(1.5)
    assert metrics.shannon_entropy({"a": 7}) == 0.0
    assert metrics.shannon_entropy({}) == 0.0
    assert metrics.shannon_entropy(metrics.unigram_counts([5, 5, 9, 3])) == pytest.approx(1.5)


def test_renyi_entropy_and_efficiency_hand_computed():
    counts = {"a": 2, "b": 1, "c": 1}
    # sum p^2.5 = 0.5^2.5 + 2*0.25^2.5 = 0.1767767 + 0.0625 = 0.2392767; log2 = -2.0632
    s = 0.5 ** 2.5 + 2 * 0.25 ** 2.5
    h = math.log2(s) / (1 - 2.5)
    assert h == pytest.approx(1.3755, abs=1e-4)
    assert metrics.renyi_entropy(counts, 2.5) == pytest.approx(h)
    assert metrics.renyi_efficiency(counts, 2.5) == pytest.approx(h / math.log2(3))
    assert metrics.renyi_efficiency(counts, 2.5, vocab_size=8) == pytest.approx(h / 3)
    # uniform use of every token is perfectly efficient, and alpha = 1 is Shannon's
    assert metrics.renyi_efficiency({i: 4 for i in range(16)}, 2.5, 16) == pytest.approx(1.0)
    assert metrics.renyi_entropy(counts, 1.0) == pytest.approx(1.5)
    assert metrics.renyi_efficiency({"a": 3}, 2.5) == 0.0


def test_entropy_compression_ratio_hand_computed():
    # 12 bytes = 96 bits; 4 tokens at 1.5 bits each = 6 bits -> 16x
    assert metrics.entropy_compression_ratio(12, 4, 1.5) == pytest.approx(16.0)
    assert metrics.entropy_compression_ratio(12, 4, 0.0) == math.inf
    assert metrics.entropy_compression_ratio(0, 0, 0.0) == 0.0


def test_fertility():
    assert metrics.fertility(6, "the cat sat") == pytest.approx(2.0)
    assert metrics.fertility(3, "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。") is None
    assert metrics.fertility(0, "   ") is None


def test_round_trip_counts_lost_characters():
    rt = metrics.round_trip(["abc\n", "héllo\n", "x"], ["abc\n", "h\ufffdllo\n", "x"])
    assert (rt.lines, rt.exact_lines, rt.lost_characters) == (3, 2, 1)
    assert rt.fidelity == pytest.approx(2 / 3)
    assert rt.lost_examples == ("é",)
    with pytest.raises(ValueError):
        metrics.round_trip(["a"], [])


def test_parity():
    assert metrics.parity({"en": 10, "ja": 25, "de": 12}) == {"en": 1.0, "ja": 2.5, "de": 1.2}
    with pytest.raises(ValueError):
        metrics.parity({"ja": 3})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=2, max_size=300),
       st.sampled_from([1.5, 2.5, 3.0]))
def test_renyi_matches_tokenization_scorer(stream, alpha):
    counts = metrics.unigram_counts(stream)
    if len(counts) < 2:
        return
    assert metrics.renyi_efficiency(counts, alpha) == pytest.approx(
        reference(stream, "renyi", power=alpha), rel=1e-9)
    assert metrics.renyi_efficiency(counts, alpha, vocab_size=64) == pytest.approx(
        reference(stream, "renyi", power=alpha, vocab=64), rel=1e-9)
    assert metrics.shannon_entropy(counts) == pytest.approx(
        reference(stream, "entropy"), rel=1e-9)


def test_renyi_matches_tokenization_scorer_on_real_token_streams():
    vocab = mixed_vocab()
    ids = vocab.encode(MIXED_TEXT)
    counts = metrics.unigram_counts(ids)
    assert metrics.renyi_efficiency(counts, 2.5) == pytest.approx(
        reference(ids, "renyi", power=2.5), rel=1e-9)
    assert metrics.renyi_efficiency(counts, 2.5, vocab.vocab_size) == pytest.approx(
        reference(ids, "renyi", power=2.5, vocab=vocab.vocab_size), rel=1e-9)
