"""Special tokens are never read from ordinary text unless the caller allows them.

For every backend, ``encode(text)`` on text full of special-token strings equals the backend
library's own ordinary encoding: tiktoken's ``encode_ordinary``, HF ``tokenizers`` with special
splitting off (``encode_special_tokens = True``), and sentencepiece with its user-defined
pieces turned into control pieces (rebuilt here with protobuf, independently of tokenkit's
byte-level edit). ``allowed_special`` opts in, per token or ``"all"``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenkit.backends.hf import HFVocabulary
from tokenkit.bench import run_bench
from tokenkit.corpora import find_corpus
from tokenkit.errors import TokenkitError
from tokenkit.specs import load_vocabulary
from tokenkit.training import train_from_texts
from tokenkit.vocabulary import Vocabulary

from tests.tokenkit.helpers import MIXED_TEXT

SPECIALS = ["<|endoftext|>", "<bos>", "<start_of_turn>", "<end_of_turn>", "<eos>"]
needs_gpt2 = pytest.mark.skipif(find_corpus("gpt2") is None,
                                reason="gpt2 vocabulary files not found (../shared/corpora/gpt2)")


@lru_cache(maxsize=None)
def trained(backend: str, **options) -> Vocabulary:
    size = 500 if backend == "hf" else 600
    return train_from_texts([MIXED_TEXT], size, backend=backend, special_tokens=SPECIALS,
                            **options).vocabulary


def hf_ordinary_reference(vocab: HFVocabulary):
    """A fresh ``tokenizers.Tokenizer`` from the same JSON with special splitting off."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(vocab.tokenizer.to_str())
    tok.encode_special_tokens = True
    return lambda text: tok.encode(text, add_special_tokens=False).ids


def sp_ordinary_reference(vocab):
    """sentencepiece itself on the model with user-defined pieces made control pieces."""
    pb = pytest.importorskip("sentencepiece.sentencepiece_model_pb2")
    import sentencepiece as spm

    model = pb.ModelProto()
    model.ParseFromString(vocab.model_proto)
    for piece in model.pieces:
        if piece.type == pb.ModelProto.SentencePiece.USER_DEFINED:
            piece.type = pb.ModelProto.SentencePiece.CONTROL
    sp = spm.SentencePieceProcessor(model_proto=model.SerializeToString())
    return lambda text: sp.encode(text)


@lru_cache(maxsize=None)
def case(name: str) -> tuple[Vocabulary, object]:
    """(vocabulary, its backend library's ordinary encoder) for each backend under test."""
    if name in ("hf-bytes", "hf-observed", "hf-bytes-fast"):
        alphabet = "observed" if name == "hf-observed" else "bytes"
        vocab = trained("hf", alphabet=alphabet)
        if name == "hf-bytes-fast":
            assert vocab.fast_encoder() is not None
        else:  # a copy that uses HF's own encoder
            vocab = HFVocabulary(vocab.tokenizer, dict(vocab.metadata))
        return vocab, hf_ordinary_reference(vocab)
    if name in ("sp-bpe", "sp-unigram"):
        vocab = trained("sentencepiece", model_type=name[3:])
        return vocab, sp_ordinary_reference(vocab)
    if name in ("gpt2", "cl100k_base"):
        if name == "gpt2" and find_corpus("gpt2") is None:
            pytest.skip("gpt2 vocabulary files not found (../shared/corpora/gpt2)")
        vocab = load_vocabulary(f"tiktoken:{name}")
        return vocab, vocab.encoding.encode_ordinary
    if name == "hf:gpt2":
        if find_corpus("gpt2") is None:
            pytest.skip("gpt2 vocabulary files not found (../shared/corpora/gpt2)")
        vocab = load_vocabulary("hf:gpt2")
        return vocab, hf_ordinary_reference(vocab)
    raise AssertionError(name)


CASES = ["hf-bytes", "hf-bytes-fast", "hf-observed", "sp-bpe", "sp-unigram", "gpt2", "hf:gpt2",
         "cl100k_base"]
# Special strings of every vocabulary above, their fragments, and ordinary text around them.
PIECES = SPECIALS + ["<|fim_prefix|>", "<|endofprompt|>", "<unk>", "<s>", "</s>", "<|", "|>",
                     "<", ">", "endoftext", "\n", " ", "turn"]


def special_text(exclude: str = "") -> st.SearchStrategy[str]:
    chars = st.characters(codec="utf-8", exclude_characters=exclude)
    return st.lists(st.one_of(st.sampled_from(PIECES), st.text(chars, max_size=12)),
                    max_size=12).map("".join)


@pytest.mark.parametrize("name", CASES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_encode_is_the_backends_ordinary_encoding(name, data):
    vocab, ordinary = case(name)
    # sentencepiece: tokenkit encodes a literal ▁ as byte pieces (documented), unlike sentencepiece
    text = data.draw(special_text(exclude="\u2581" if name.startswith("sp-") else ""))
    ids = vocab.encode(text)
    assert ids == ordinary(text)
    assert vocab.encode_batch([text, text]) == [ids, ids]
    assert not set(ids) & set(vocab.specials.values()) or _unk_only(vocab, ids)


def _unk_only(vocab: Vocabulary, ids: list[int]) -> bool:
    """A lossy vocabulary may emit <unk> for unknown characters; never another special."""
    return set(ids) & set(vocab.specials.values()) <= {vocab.unk_id}


@pytest.mark.parametrize("name", ["hf-bytes", "hf-bytes-fast", "gpt2", "hf:gpt2", "cl100k_base"])
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_allowed_specials_are_read_as_their_ids(name, data):
    vocab, ordinary = case(name)
    text = data.draw(special_text())
    everything = vocab.encode(text, allowed_special="all")
    specials = vocab.specials
    occurrences = sum(1 for _ in _occurrences(text, specials))
    assert sum(1 for i in everything if i in specials.values()) == occurrences
    if name in ("gpt2", "cl100k_base"):
        assert everything == vocab.encoding.encode(text, allowed_special="all")
    one = next(iter(specials))
    only = vocab.encode(text, allowed_special={one})
    assert only.count(specials[one]) == text.count(one)
    assert vocab.decode(everything) == vocab.decode(vocab.encode(text))


def _occurrences(text: str, specials: dict[str, int]):
    """Leftmost-longest matches of the special strings (what tiktoken's regex finds)."""
    i = 0
    names = sorted(specials, key=len, reverse=True)
    while i < len(text):
        hit = next((s for s in names if s and text.startswith(s, i)), None)
        if hit:
            yield hit
            i += len(hit)
        else:
            i += 1


def test_sentencepiece_user_defined_specials_are_text_by_default():
    vocab = trained("sentencepiece")
    text = "a<eos>b <start_of_turn>user"
    assert not set(vocab.encode(text)) & set(vocab.specials.values())
    assert vocab.decode(vocab.encode(text)) == text
    ids = vocab.encode(text, allowed_special={"<eos>"})
    assert ids.count(vocab.specials["<eos>"]) == 1 and vocab.specials["<start_of_turn>"] not in ids


def test_unknown_or_malformed_allowed_special_is_one_line():
    vocab = trained("hf")
    with pytest.raises(TokenkitError, match=r"'<nope>' is not a special token of vocabulary"):
        vocab.encode("x", allowed_special={"<nope>"})
    with pytest.raises(TokenkitError, match="not the string '<eos>'"):
        vocab.encode("x", allowed_special="<eos>")


@needs_gpt2
def test_bench_counts_equal_the_reference_ordinary_encodings(tmp_path: Path):
    import tiktoken

    text = ("A document about tokenizers quotes <|endoftext|> and <|fim_prefix|> and "
            "<|endofprompt|> twice: <|endoftext|><|endoftext|>\n" * 20)
    corpus = tmp_path / "quoted.txt"
    corpus.write_text(text, encoding="utf-8")
    specs = ["tiktoken:cl100k_base", "gpt2", "hf:gpt2"]
    fast = {r.vocab: r.tokens for r in run_bench(specs, [str(corpus)]).rows}
    slow = {r.vocab: r.tokens for r in run_bench(specs, [str(corpus)], fast=False).rows}
    cl100k = load_vocabulary("tiktoken:cl100k_base").encoding
    gpt2 = load_vocabulary("gpt2").encoding
    assert isinstance(cl100k, tiktoken.Encoding)
    expected = {"tiktoken:cl100k_base": len(cl100k.encode_ordinary(text)),
                "gpt2": len(gpt2.encode_ordinary(text)),
                "hf:gpt2": len(hf_ordinary_reference(load_vocabulary("hf:gpt2"))(text))}
    assert fast == slow == expected
    allowed = {r.vocab: r.tokens for r in run_bench(specs, [str(corpus)],
                                                    allowed_special={"<|endoftext|>"}).rows}
    assert allowed["gpt2"] == len(gpt2.encode(text, allowed_special={"<|endoftext|>"}, disallowed_special=()))
    assert allowed["tiktoken:cl100k_base"] == len(cl100k.encode(text, allowed_special={"<|endoftext|>"},
                                                                          disallowed_special=()))


def test_cli_allow_special(tmp_path: Path):
    from click.testing import CliRunner

    from tokenkit.cli import main

    vocab = trained("hf")
    vocab.save(tmp_path / "v")
    text = "hi<eos>"
    runner = CliRunner()
    plain = json.loads(runner.invoke(main, ["encode", str(tmp_path / "v"), "--text", text]).output)
    allowed = json.loads(runner.invoke(main, ["encode", str(tmp_path / "v"), "--text", text,
                                              "--allow-special", "<eos>"]).output)
    eos = vocab.specials["<eos>"]
    assert eos not in plain["ids"] and allowed["ids"][-1] == eos
    report = runner.invoke(main, ["report", str(tmp_path / "v"), "--text", text, "--json"])
    report_allowed = runner.invoke(main, ["report", str(tmp_path / "v"), "--text", text, "--json",
                                          "--allow-special", "all"])
    assert json.loads(report.output)["n_tokens"] == len(plain["ids"])
    assert json.loads(report_allowed.output)["n_tokens"] == len(allowed["ids"])
    bad = runner.invoke(main, ["encode", str(tmp_path / "v"), "--text", text, "--allow-special", "<x>"])
    assert bad.exit_code == 1 and "'<x>' is not a special token" in bad.output
