"""The tiktoken fast path: attached by the loader and the trainer, used only when ids are identical."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tokenkit.helpers import MIXED_TEXT
from tokenkit.backends.hf import HFVocabulary
from tokenkit.convert import tiktoken_form
from tokenkit.errors import TokenkitError
from tokenkit.fastpath import apply_fast_path, fast_encoder_for, find_fast_path
from tokenkit.training import train_from_texts


def test_fast_path_only_when_identical():
    byte_level = train_from_texts([MIXED_TEXT], 400).vocabulary
    assert fast_encoder_for(byte_level) is not None
    assert byte_level.fast_encoding() is not None  # HFVocabulary.encode goes through tiktoken
    assert byte_level.encode(MIXED_TEXT) == \
        byte_level.tokenizer.encode(MIXED_TEXT, add_special_tokens=False).ids

    observed = train_from_texts([MIXED_TEXT], 400, alphabet="observed").vocabulary
    with pytest.raises(TokenkitError, match=r"lacks \d+ of the 256 bytes .* cannot become a "
                                            "tiktoken encoding"):
        tiktoken_form(observed)
    assert fast_encoder_for(observed) is None
    assert observed.fast_encoding() is None

    sp = train_from_texts([MIXED_TEXT], 600, backend="sentencepiece").vocabulary
    assert fast_encoder_for(sp) is None


def test_a_backend_alone_has_no_fast_path():
    """The HF backend never looks for tiktoken itself; apply_fast_path attaches it."""
    trained = train_from_texts([MIXED_TEXT], 400).vocabulary
    bare = HFVocabulary(trained.tokenizer, {"name": "bare"})
    assert bare.fast_encoding() is None
    assert apply_fast_path(bare) is bare and bare.fast_path_finder is find_fast_path
    assert bare.fast_encoding() is not None
    bare.use_fast = False  # what `tokenkit bench --no-fast` does
    assert bare.fast_encoding() is None


_vocab = None


def _trained() -> HFVocabulary:
    global _vocab
    if _vocab is None:
        _vocab = train_from_texts([MIXED_TEXT], 500, special_tokens=["<|endoftext|>"]).vocabulary
    return _vocab


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=6))
def test_fast_path_gives_hf_ids_one_by_one_and_batched(texts):
    vocab = _trained()
    assert vocab.fast_encoding() is not None
    hf = [vocab.tokenizer.encode(t, add_special_tokens=False).ids for t in texts]
    assert [vocab.encode(t) for t in texts] == hf
    assert vocab.encode_batch(texts) == hf
