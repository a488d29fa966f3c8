"""Training options: what each backend keeps, what it counts, and what it records."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import corpus_text
from tests.tokenkit.helpers import MIXED_TEXT
from tokenkit import load
from tokenkit.errors import TokenkitError
from tokenkit.training import (TrainOptions, default_output_name, split_at_pretoken_boundaries,
                               train_from_texts)


def test_special_tokens_are_counted_inside_the_vocab_size() -> None:
    specials = ["<|endoftext|>", "<bos>", "<start_of_turn>", "<end_of_turn>", "<eos>"]
    v = train_from_texts([MIXED_TEXT], 500, special_tokens=specials).vocabulary
    assert v.vocab_size == 500
    assert v.specials == {t: i for i, t in enumerate(specials)}
    ids = v.encode("<bos>hi<eos>", allowed_special="all")
    assert ids[0] == 1 and ids[-1] == 4
    assert not set(v.encode("<bos>hi<eos>")) & set(v.specials.values())


def test_sentencepiece_special_tokens_counted_and_matched() -> None:
    v = train_from_texts([MIXED_TEXT], 600, backend="sentencepiece",
                         special_tokens=["<start_of_turn>", "<end_of_turn>"]).vocabulary
    assert v.vocab_size == 600
    sot = v.token_to_id("<start_of_turn>")
    assert sot is not None and v.encode("<start_of_turn>user", allowed_special="all")[0] == sot
    assert sot not in v.encode("<start_of_turn>user")
    assert v.decode(v.encode("<start_of_turn>user")) == "<start_of_turn>user"
    assert "<start_of_turn>" in v.specials


def test_sentencepiece_trains_on_lines_longer_than_its_default_limit() -> None:
    """sentencepiece skips lines over 4192 bytes by default; tokenkit raises the limit and says so."""
    long_line = " ".join(["zyxwvut"] * 1500)  # ~12 KB, the only place 'zyxwvut' occurs
    result = train_from_texts([MIXED_TEXT + "\n" + long_line + "\n"], 700, backend="sentencepiece")
    assert any("max_sentence_length raised" in n for n in result.summary["notes"])
    assert result.vocabulary.token_to_id("▁zyxwvut") is not None or \
        result.vocabulary.token_to_id("zyxwvut") is not None


def test_sentencepiece_identity_keeps_whitespace_and_compatibility_characters() -> None:
    v = train_from_texts([MIXED_TEXT], 600, backend="sentencepiece").vocabulary
    for text in ["ｱｲｳ ＡＢＣ", "a  b\t\tc\n\nd", "①②", "ﬁ ligature", "\u3000全角スペース"]:
        assert v.decode(v.encode(text)) == text


def test_sentencepiece_nfkc_is_an_option_and_is_lossy() -> None:
    v = train_from_texts([MIXED_TEXT], 600, backend="sentencepiece", normalization="nfkc").vocabulary
    assert v.decode(v.encode("ＡＢＣ")) == "ABC"


def test_wagahai_at_5000_reproduces_the_textbook() -> None:
    """Observed alphabet: 10 tokens, 130 bits, ratio 3.69, exactly as the textbook reports."""
    from tokenkit.metrics import bits_report

    text = corpus_text("wagahai")
    sentence = "吾輩わがはいは猫である。名前はまだ無い。"
    observed = bits_report(train_from_texts([text], 5000, alphabet="observed").vocabulary, sentence)
    assert (observed.n_tokens, observed.bpe_bits, round(observed.ratio, 2)) == (10, 130, 3.69)
    lossless = bits_report(train_from_texts([text], 5000).vocabulary, sentence)
    assert lossless.n_tokens >= observed.n_tokens  # 256 byte slots leave fewer merges


def test_save_load_roundtrip(tmp_path) -> None:
    for backend in ("hf", "sentencepiece"):
        v = train_from_texts([MIXED_TEXT], 500, backend=backend, special_tokens=["<eos>"]).vocabulary
        out = v.save(tmp_path / backend)
        w = load(str(out))
        assert type(w) is type(v) and w.vocab_size == v.vocab_size and w.specials == v.specials
        sample = MIXED_TEXT[:500] + " <eos> ▁x 🥺"
        assert w.encode(sample) == v.encode(sample)
        assert w.metadata["options"]["backend"] == backend


def test_save_refuses_existing_output(tmp_path) -> None:
    v = train_from_texts([MIXED_TEXT], 300).vocabulary
    v.save(tmp_path / "v")
    with pytest.raises(TokenkitError, match="already exists"):
        v.save(tmp_path / "v")
    v.save(tmp_path / "v", force=True)


@pytest.mark.parametrize("options,message", [
    (dict(backend="nope"), "--backend"),
    (dict(alphabet="nope"), "--alphabet"),
    (dict(backend="sentencepiece", alphabet="observed"), "--alphabet observed"),
    (dict(special_tokens=("<a>", "<a>")), "distinct"),
    (dict(character_coverage=1.5), "--character-coverage"),
])
def test_bad_options(options, message) -> None:
    with pytest.raises(TokenkitError, match=message):
        train_from_texts([MIXED_TEXT], 500, **options)


def test_default_output_names() -> None:
    assert default_output_name(["wagahai"], TrainOptions(5000)) == "wagahai-5000"
    assert default_output_name(["data/x.txt"], TrainOptions(800, alphabet="observed")) == "x-observed-800"
    assert default_output_name(["-"], TrainOptions(800, backend="sentencepiece", model_type="unigram")) == \
        "stdin-sp-unigram-800"


# -- long lines reach HF's trainer in pieces that pre-tokenize the same ----------------------
_PIECES_ALPHABET = st.sampled_from(list("ab Zé1٣ \t\u3000\xa0'.,!?-。、「」吾輩は猫ネコ\u0301😀\n")
                                   + ["'s", "'re", " '", "  ", "a1", "1a"])


def _pretokens(text: str) -> list[str]:
    from tokenizers import pre_tokenizers

    pre = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    return [word for word, _ in pre.pre_tokenize_str(text)]


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(_PIECES_ALPHABET, min_size=1, max_size=60), target=st.integers(1, 12))
def test_long_line_pieces_pre_tokenize_like_the_line(parts: list[str], target: int) -> None:
    """HF's own pre-tokenizer is the oracle: the pieces' words, in order, are the line's."""
    line = "".join(parts)
    pieces = split_at_pretoken_boundaries(line, target)
    assert "".join(pieces) == line
    assert [w for piece in pieces for w in _pretokens(piece)] == _pretokens(line)


def test_long_line_is_cut_and_every_cut_is_safe() -> None:
    line = ("吾輩は猫である。名前はまだ無い。" * 50) + ("It's a cat, 42 times! " * 50) + "a" * 5000
    pieces = split_at_pretoken_boundaries(line, 64)
    assert len(pieces) > 20  # both scripts give cuts; the run of 'a' stays whole
    assert pieces[-1].endswith("a" * 5000)
    assert [w for piece in pieces for w in _pretokens(piece)] == _pretokens(line)


def test_a_line_longer_than_hf_takes_whole_trains_the_same_merges(monkeypatch) -> None:
    """The same vocabulary whether HF gets the long line whole or in pieces."""
    import tokenkit.training as training

    text = corpus_text("tinyshakespeare")[:300_000].replace("\n", " ") + "\n"
    assert len(text) > training.HF_MAX_ITEM_CHARS
    cut = train_from_texts([text], 1000, engine="reference").vocabulary
    monkeypatch.setattr(training, "HF_MAX_ITEM_CHARS", 10 ** 9)
    whole = train_from_texts([text], 1000, engine="reference").vocabulary
    assert cut.tokenizer.to_str() == whole.tokenizer.to_str()
