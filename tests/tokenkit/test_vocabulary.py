"""Lossless by default: decode(encode(text)) == text for arbitrary Unicode text."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tokenkit.helpers import mixed_vocab

# Arbitrary Unicode (hypothesis leaves out surrogates, which cannot be UTF-8 encoded),
# plus texts built from the characters sentencepiece treats specially.
tricky = st.text(alphabet=st.sampled_from(list(" \t\n\r\u2581\u3000▁<>|sé猫🥺\x00")), max_size=30)
texts = st.one_of(st.text(max_size=80), tricky)
SETTINGS = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(texts)
def test_byte_level_default_roundtrips(text: str) -> None:
    v = mixed_vocab("hf")
    assert v.decode(v.encode(text)) == text


@SETTINGS
@given(texts)
def test_sentencepiece_bpe_byte_fallback_roundtrips(text: str) -> None:
    v = mixed_vocab("sentencepiece")
    assert v.decode(v.encode(text)) == text


@settings(max_examples=200, deadline=None)
@given(texts)
def test_sentencepiece_unigram_byte_fallback_roundtrips(text: str) -> None:
    v = mixed_vocab("sentencepiece", model_type="unigram")
    assert v.decode(v.encode(text)) == text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_token_bytes_concatenate_to_the_text(text: str) -> None:
    """token_bytes is what the OOV analysis and exports rely on: it must add up exactly."""
    v = mixed_vocab("hf")
    assert b"".join(v.token_bytes(i) for i in v.encode(text)) == text.encode("utf-8")


def test_observed_alphabet_is_lossy_for_unseen_bytes() -> None:
    v = mixed_vocab("hf", alphabet="observed")
    assert v.decode(v.encode("🥺")) != "🥺"
    assert v.decode(v.encode("The fox")) == "The fox"
