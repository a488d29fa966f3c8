"""export: tiktoken ranks files and HF fast-tokenizer directories that give identical ids."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest
import tiktoken
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiktoken.load import load_tiktoken_bpe

from tests.tokenkit.helpers import MIXED_TEXT
from tokenkit.cli import main
from tokenkit.corpora import find_corpus
from tokenkit.errors import TokenkitError
from tokenkit.exporters import export, merges_from_ranks
from tokenkit.specs import load_vocabulary
from tokenkit.training import train_from_texts
from tokenkit.vocabulary import Vocabulary

# Text with every kind of piece the split regex distinguishes.
SAMPLE = MIXED_TEXT + "\n<|endoftext|>It's 42 ½ 😀👍🏽\r\n\n  \t x  \u00a0 y\u2028z 'LL 'll"


@lru_cache(maxsize=None)
def trained() -> Vocabulary:
    return train_from_texts([MIXED_TEXT], 700, special_tokens=["<|endoftext|>"]).vocabulary


@lru_cache(maxsize=None)
def exported_tiktoken(tmp: str) -> tiktoken.Encoding:
    out = export(trained(), Path(tmp) / "tk", "tiktoken")
    meta = json.loads((out / "tiktoken.json").read_text(encoding="utf-8"))
    return tiktoken.Encoding(meta["name"], pat_str=meta["pat_str"],
                             mergeable_ranks=load_tiktoken_bpe(str(out / "tokenizer.tiktoken")),
                             special_tokens=meta["special_tokens"])


@pytest.fixture(scope="module")
def tk_encoding(tmp_path_factory) -> tiktoken.Encoding:
    return exported_tiktoken(str(tmp_path_factory.mktemp("export")))


def test_tiktoken_export_loads_with_plain_tiktoken(tk_encoding, tmp_path):
    vocab = trained()
    assert tk_encoding.encode(SAMPLE, allowed_special="all") == vocab.encode(SAMPLE, allowed_special="all")
    assert tk_encoding.encode_ordinary(SAMPLE) == vocab.encode(SAMPLE)
    assert tk_encoding.n_vocab == vocab.vocab_size
    # tokenkit opens the export directory too
    out = export(vocab, tmp_path / "again", "tiktoken")
    assert load_vocabulary(str(out)).encode(SAMPLE) == vocab.encode(SAMPLE)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text())
def test_tiktoken_export_identical_ids_on_arbitrary_text(tk_encoding, text):
    assert tk_encoding.encode(text, allowed_special="all") == trained().encode(text, allowed_special="all")
    assert tk_encoding.encode_ordinary(text) == trained().encode(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(codec="utf-8"), max_size=200))
def test_hf_export_roundtrips_through_transformers(hf_dir, text):
    from transformers import PreTrainedTokenizerFast

    tok = _fast(hf_dir)
    assert isinstance(tok, PreTrainedTokenizerFast)
    # transformers reads special tokens out of text: compare with tokenkit's opt-in
    assert tok.encode(text, add_special_tokens=False) == trained().encode(text, allowed_special="all")


@lru_cache(maxsize=None)
def _fast(path: str):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast.from_pretrained(path)


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory) -> str:
    return str(export(trained(), tmp_path_factory.mktemp("hf") / "hf", "hf"))


def test_hf_export_files(hf_dir):
    files = sorted(p.name for p in Path(hf_dir).iterdir())
    assert files == ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json",
                     "tokenkit.json"]
    tok = _fast(hf_dir)
    assert tok.eos_token == "<|endoftext|>"
    assert tok.decode(tok.encode(SAMPLE, add_special_tokens=False)) == SAMPLE


def test_export_refuses_what_cannot_be_tiktoken(tmp_path):
    observed = train_from_texts([MIXED_TEXT], 400, alphabet="observed").vocabulary
    with pytest.raises(TokenkitError, match="of the 256 bytes"):
        export(observed, tmp_path / "x", "tiktoken")
    sp = train_from_texts([MIXED_TEXT], 600, backend="sentencepiece").vocabulary
    with pytest.raises(TokenkitError, match="not a byte-level BPE"):
        export(sp, tmp_path / "y", "hf")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_export_command(tmp_path):
    trained().save(tmp_path / "v")
    runner = CliRunner()
    res = runner.invoke(main, ["export", str(tmp_path / "v"), "--format", "tiktoken",
                                         "-o", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "tokenizer.tiktoken").is_file()
    again = runner.invoke(main, ["export", str(tmp_path / "v"), "--format", "tiktoken",
                                           "-o", str(tmp_path / "out")])
    assert again.exit_code != 0 and "already exists" in again.output
    assert len(again.output.strip().splitlines()) == 1
    bad = runner.invoke(main, ["export", str(tmp_path / "missing"), "--format", "hf"])
    assert bad.exit_code != 0 and bad.output.strip().splitlines() == [
        f"Error: vocabulary {tmp_path / 'missing'} not found (not a path, and not one of gpt2, "
        "hf:gpt2, tiktoken:NAME, tiktoken:PATH, hf:PATH)"]


def test_merges_from_ranks_hand_case():
    ranks = {b"a": 0, b"b": 1, b"c": 2, b"ab": 3, b"abc": 4, b"bc": 5}
    assert merges_from_ranks(ranks) == [(b"a", b"b"), (b"ab", b"c"), (b"b", b"c")]


@pytest.mark.skipif(find_corpus("taylorswift") is None, reason="corpus taylorswift absent")
@pytest.mark.parametrize("spec", ["gpt2", "tiktoken:cl100k_base"])
def test_tiktoken_encodings_export_to_hf_with_identical_ids(spec, tmp_path):
    if spec == "gpt2" and find_corpus("gpt2") is None:
        pytest.skip("GPT-2 files (corpus 'gpt2') absent")
    text = find_corpus("taylorswift").read_text(encoding="utf-8")[:60000] + SAMPLE
    vocab = load_vocabulary(spec)
    hf = load_vocabulary(str(export(vocab, tmp_path / "hf", "hf")))
    assert hf.encode(text) == vocab.encode(text)
