"""HF byte-level BPE -> tiktoken: the conversion, or one line saying why it is impossible."""

from __future__ import annotations

import pytest

from tests.tokenkit.helpers import MIXED_TEXT
from tokenkit.backends.hf import HFVocabulary
from tokenkit.convert import tiktoken_form
from tokenkit.errors import TokenkitError
from tokenkit.fastpath import fast_encoder_for
from tokenkit.training import train_from_texts


def test_add_prefix_space_is_refused():
    from tokenizers import Tokenizer, pre_tokenizers

    vocab = train_from_texts([MIXED_TEXT], 400).vocabulary
    tok = Tokenizer.from_str(vocab.tokenizer.to_str())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    prefixed = HFVocabulary(tok, {"name": "prefixed"})
    with pytest.raises(TokenkitError, match="add_prefix_space"):
        tiktoken_form(prefixed)
    assert fast_encoder_for(prefixed) is None


def test_sentencepiece_is_refused_in_one_line():
    sp = train_from_texts([MIXED_TEXT], 600, backend="sentencepiece").vocabulary
    with pytest.raises(TokenkitError, match="is not a byte-level BPE") as err:
        tiktoken_form(sp)
    assert "\n" not in str(err.value)


def test_conversion_keeps_ids_and_specials():
    vocab = train_from_texts([MIXED_TEXT], 400, special_tokens=["<eos>"]).vocabulary
    enc = tiktoken_form(vocab)
    assert enc.n_vocab == vocab.vocab_size
    assert enc._special_tokens == vocab.specials
    text = MIXED_TEXT[:300] + "<eos>"
    assert enc.encode(text, allowed_special="all") == vocab.encode(text, allowed_special="all")
    vocab.use_fast = False
    assert enc.encode(text, allowed_special="all") == vocab.encode(text, allowed_special="all")
    assert enc.encode_ordinary(text) == vocab.encode(text) == \
        vocab.tokenizer.encode(text, add_special_tokens=False).ids  # special splitting is off
