"""The tiktoken backend: the Vocabulary interface over a tiktoken.Encoding, and its files."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tokenkit.helpers import MIXED_TEXT
from tokenkit.backends import tiktoken as tk
from tokenkit.convert import tiktoken_form
from tokenkit.errors import TokenkitError
from tokenkit.specs import load_vocabulary
from tokenkit.training import train_from_texts


@lru_cache(maxsize=1)
def vocab() -> tk.TiktokenVocabulary:
    hf = train_from_texts([MIXED_TEXT], 450, special_tokens=["<|endoftext|>"]).vocabulary
    return tk.TiktokenVocabulary(tiktoken_form(hf), {"name": "mixed-450"})


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_decode_encode_round_trip(text: str) -> None:
    v = vocab()
    ids = v.encode(text)
    assert v.decode(ids) == text
    assert b"".join(v.token_bytes(i) for i in ids) == text.encode("utf-8")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=40))
def test_encode_many_equals_one_by_one(texts: list[str]) -> None:
    v = vocab()
    assert tk.encode_many(v.encoding, texts) == [v.encode(t) for t in texts]
    assert v.encode_batch(texts) == [v.encode(t) for t in texts]
    assert v.decode_batch(v.encode_batch(texts)) == texts


def test_specials_are_read_from_text_only_when_allowed_and_named() -> None:
    v = vocab()
    eot = v.specials["<|endoftext|>"]
    assert v.encode("a<|endoftext|>b") == v.encoding.encode_ordinary("a<|endoftext|>b")
    assert eot not in v.encode("a<|endoftext|>b")
    assert v.encode("a<|endoftext|>b", allowed_special="all").count(eot) == 1
    assert v.encode("a<|endoftext|>b", allowed_special={"<|endoftext|>"}).count(eot) == 1
    assert v.id_to_token(eot) == "<|endoftext|>" and v.token_to_id("<|endoftext|>") == eot
    assert v.token_bytes(eot) == b"<|endoftext|>"


def test_token_strings_round_trip_through_ids() -> None:
    v = vocab()
    for i in range(v.vocab_size):
        assert v.token_to_id(v.id_to_token(i)) == i
    assert v.token_to_id("not a byte-level token ☃") is None


def test_id_outside_the_vocabulary_is_one_line() -> None:
    with pytest.raises(TokenkitError, match=f"token id 99999 is outside vocabulary .* "
                                            f"\\(size {vocab().vocab_size}:"):
        vocab().id_to_token(99999)


def test_files_round_trip_and_tiktoken_reads_them(tmp_path: Path) -> None:
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    v = vocab()
    saved = v.save(tmp_path / "v")
    assert sorted(p.name for p in saved.iterdir()) == ["tiktoken.json", "tokenizer.tiktoken",
                                                       "tokenkit.json"]
    again = tk.load_tiktoken_dir(saved)
    assert again.encoding._mergeable_ranks == v.encoding._mergeable_ranks
    assert again.specials == v.specials and again.encoding._pat_str == tk.GPT2_PATTERN
    plain = tiktoken.Encoding("x", pat_str=tk.GPT2_PATTERN,
                              mergeable_ranks=load_tiktoken_bpe(str(saved / tk.TIKTOKEN_FILE)),
                              special_tokens=v.specials)
    assert plain.encode(MIXED_TEXT) == v.encode(MIXED_TEXT)
    assert load_vocabulary(str(saved)).encode(MIXED_TEXT) == v.encode(MIXED_TEXT)


def test_missing_and_malformed_files_are_one_line(tmp_path: Path) -> None:
    (tmp_path / tk.TIKTOKEN_META).write_text("{}")
    with pytest.raises(TokenkitError, match="tokenizer.tiktoken not found"):
        tk.load_tiktoken_dir(tmp_path)
    (tmp_path / tk.TIKTOKEN_FILE).write_text("not base64 and no rank\n")
    with pytest.raises(TokenkitError, match="is malformed") as err:
        tk.load_tiktoken_dir(tmp_path)
    assert "\n" not in str(err.value)


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=30), max_size=12),
       cuts=st.lists(st.integers(0, 40), max_size=12))
def test_decode_batch_equals_decoding_each_list_alone(texts: list[str], cuts: list[int]) -> None:
    """One decode of all the bytes, cut per list, equals tiktoken decoding each list alone,
    also for lists cut inside a character (U+FFFD) and empty ones."""
    v = vocab()
    lists = [ids[:cuts[i]] if i < len(cuts) else ids for i, ids in enumerate(v.encode_batch(texts))]
    lists += [[], [v.specials["<|endoftext|>"]]] if "<|endoftext|>" in v.specials else [[]]
    assert v.decode_batch(lists) == [v.encoding.decode(ids, errors="replace") for ids in lists]
