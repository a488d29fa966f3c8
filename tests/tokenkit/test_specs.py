"""Vocabulary specs: paths, tiktoken:NAME, gpt2 / hf:gpt2 (identical ids), and one-line errors."""

from __future__ import annotations

from functools import lru_cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tokenkit.helpers import MIXED_TEXT
from tokenkit.corpora import find_corpus
from tokenkit.errors import TokenkitError
from tokenkit.backends.hf import HFVocabulary
from tokenkit.backends.tiktoken import TiktokenVocabulary
from tokenkit.specs import load_vocabulary
from tokenkit.training import train_from_texts

needs_gpt2 = pytest.mark.skipif(find_corpus("gpt2") is None,
                                reason="GPT-2 files (corpus 'gpt2': encoder.json + vocab.bpe) absent")


@lru_cache(maxsize=None)
def gpt2_pair() -> tuple[TiktokenVocabulary, HFVocabulary]:
    tk, hf = load_vocabulary("gpt2"), load_vocabulary("hf:gpt2")
    assert isinstance(tk, TiktokenVocabulary) and isinstance(hf, HFVocabulary)
    return tk, hf


@needs_gpt2
def test_gpt2_specs_load_with_the_same_ids():
    tk, hf = gpt2_pair()
    assert tk.vocab_size == hf.vocab_size == 50257
    assert tk.specials == hf.specials == {"<|endoftext|>": 50256}
    text = "Hello world! <|endoftext|> It's 2024."
    assert tk.encode(text, allowed_special="all") == hf.encode(text, allowed_special="all") == \
        [15496, 995, 0, 220, 50256, 632, 338, 48609, 13]
    assert tk.encode(text) == hf.encode(text) == tk.encoding.encode_ordinary(text)
    assert 50256 not in tk.encode(text)
    assert load_vocabulary("tiktoken:gpt2").encode(text) == tk.encode(text)
    assert tk.id_to_token(995) == hf.id_to_token(995) == "Ġworld"
    assert tk.token_to_id("Ġworld") == 995
    assert tk.token_bytes(995) == hf.token_bytes(995) == b" world"
    path = find_corpus("gpt2")
    assert load_vocabulary(str(path)).encode(text) == tk.encode(text)  # dir with the two files


@needs_gpt2
@settings(max_examples=1000, deadline=None)
@given(st.text())
def test_gpt2_tiktoken_and_hf_identical_on_arbitrary_text(text):
    tk, hf = gpt2_pair()
    ids = tk.encode(text)
    assert ids == hf.encode(text)
    assert tk.decode(ids) == hf.decode(ids) == text


def test_cl100k_offline():
    v = load_vocabulary("tiktoken:cl100k_base")
    assert isinstance(v, TiktokenVocabulary)
    assert v.encode("hello world") == [15339, 1917]
    assert v.specials["<|endoftext|>"] == 100257


@pytest.mark.parametrize("spec, message", [
    ("tiktoken:no_such_encoding", "unknown tiktoken encoding 'no_such_encoding'"),
    ("tiktoken:", "names nothing"),
    ("missing-dir/", "vocabulary missing-dir/ not found"),
    ("nope.model", "vocabulary nope.model not found"),
])
def test_bad_specs_give_one_line_errors(spec, message):
    with pytest.raises(TokenkitError, match=message) as err:
        load_vocabulary(spec)
    assert "\n" not in str(err.value)


def test_model_file_that_is_not_sentencepiece(tmp_path):
    bad = tmp_path / "fake.model"
    bad.write_bytes(b"this is not a protobuf\n" * 10)
    with pytest.raises(TokenkitError, match="is not a sentencepiece model") as err:
        load_vocabulary(str(bad))
    assert "\n" not in str(err.value)


def test_tokenkit_directory_and_tiktoken_of_it(tmp_path):
    vocab = train_from_texts([MIXED_TEXT], 400).vocabulary
    vocab.save(tmp_path / "v")
    hf = load_vocabulary(str(tmp_path / "v"))
    tk = load_vocabulary(f"tiktoken:{tmp_path / 'v'}")
    assert isinstance(tk, TiktokenVocabulary)
    assert tk.encode(MIXED_TEXT) == hf.encode(MIXED_TEXT)


def test_loader_reads_around_a_half_done_swap_and_changes_nothing(tmp_path):
    """A vocabulary replaced by a process killed between renames opens as the new copy; the
    reader renames and deletes nothing (the writer may be alive in another PID namespace)."""
    old = train_from_texts([MIXED_TEXT], 300).vocabulary
    new = train_from_texts([MIXED_TEXT], 400).vocabulary
    target = tmp_path / "v"
    old.save(target)
    dead_pid = 2 ** 22 + 12345  # above pid_max on Linux: never alive
    new.save(tmp_path / f".v.new-{dead_pid}-x")  # step 1 done (complete copy) ...
    target.rename(tmp_path / f".v.old-{dead_pid}-x")  # ... step 2 done, killed before step 3
    assert not target.exists()
    before = sorted(p.name for p in tmp_path.iterdir())
    loaded = load_vocabulary(str(target))
    assert loaded.vocab_size == 400 and loaded.encode(MIXED_TEXT) == new.encode(MIXED_TEXT)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing touched
    old.save(target, force=True)  # the next writer finishes the swap, then writes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v"]


def test_loaded_and_trained_hf_vocabularies_get_the_fast_path(tmp_path):
    vocab = train_from_texts([MIXED_TEXT], 400).vocabulary
    vocab.save(tmp_path / "v")
    loaded = load_vocabulary(str(tmp_path / "v"))
    assert isinstance(loaded, HFVocabulary) and loaded.fast_encoding() is not None
    assert loaded.encode(MIXED_TEXT) == loaded.tokenizer.encode(MIXED_TEXT, add_special_tokens=False).ids
