"""OOV analysis: the textbook's lossy vocabulary, and the lossless defaults."""

from __future__ import annotations

from functools import lru_cache

import pytest

from tests.conftest import corpus_path, corpus_text
from tests.tokenkit.helpers import mixed_vocab
from tokenkit.oov import BYTES, LOST, WHOLE, char_group, classify, emoji_report, oov_report, parse_emoji_test
from tokenkit.training import train_from_texts

OOV_SENTENCE = "論文を書くのは辛い El Psy Congroo 🥺"


@lru_cache(maxsize=None)
def wagahai_vocab(alphabet: str):
    text = corpus_text("wagahai", max_chars=120_000)
    return train_from_texts([text], 2000, alphabet=alphabet).vocabulary


def test_textbook_case_observed_alphabet_loses_capitals_and_emoji() -> None:
    rep = oov_report(wagahai_vocab("observed"), OOV_SENTENCE)
    lost = {u.text: u.how_lost for u in rep.lost}
    assert {"E", "P", "C", "🥺"} <= set(lost)
    assert lost["E"] == "dropped"
    assert "🥺" not in rep.decoded and "E" not in rep.decoded
    assert rep.groups["Latin upper"].lost == 3
    assert rep.groups["emoji"].lost == 1
    assert not rep.lossless


def test_textbook_case_default_vocabulary_loses_nothing() -> None:
    rep = oov_report(wagahai_vocab("bytes"), OOV_SENTENCE)
    assert rep.lossless and rep.decoded == OOV_SENTENCE and not rep.lost
    assert next(u for u in rep.units if u.text == "🥺").fate == BYTES  # split into byte tokens


def test_sentencepiece_byte_fallback_vs_no_fallback() -> None:
    fallback = oov_report(mixed_vocab("sentencepiece"), "x🥺")
    assert fallback.lossless
    assert next(u for u in fallback.units if u.text == "🥺").fate == BYTES
    no_fallback = oov_report(mixed_vocab("sentencepiece", byte_fallback=False), "x🥺")
    unit = next(u for u in no_fallback.units if u.text == "🥺")
    assert unit.fate == LOST and unit.how_lost == "unk"


def test_whole_token_characters() -> None:
    assert classify(mixed_vocab("hf"), "a").fate == WHOLE
    assert classify(wagahai_vocab("bytes"), "猫").fate == WHOLE  # merged from its 3 bytes


@pytest.mark.parametrize("ch,group", [("A", "Latin upper"), ("Ｚ", "Latin upper"), ("é", "Latin lower"),
                                      ("7", "digits"), ("あ", "Hiragana"), ("カ", "Katakana"),
                                      ("ｶ", "Katakana"), ("猫", "Han"), ("한", "Hangul"), ("🥺", "emoji"),
                                      ("☕", "emoji"), ("。", "other"), (" ", "other")])
def test_char_groups(ch: str, group: str) -> None:
    assert char_group(ch) == group


def test_emoji_list() -> None:
    emoji = parse_emoji_test(corpus_path("emoji-test"))
    assert len(emoji) > 3000 and "😀" in emoji and "👍🏽" in emoji
    lossless = emoji_report(mixed_vocab("hf"), emoji[:400])
    assert lossless.lost == 0 and lossless.roundtrip_fraction == 1.0
    assert lossless.tokens_per_emoji >= 1
    lossy = emoji_report(mixed_vocab("hf", alphabet="observed"), emoji[:400])
    assert lossy.lost > 0 and lossy.roundtrip_fraction < 1.0
