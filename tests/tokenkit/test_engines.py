"""Exactness gates for the fast engines (tokenkit.engines): same ids as the reference library,
same merges as HF's trainer (or, for rustbpe, held-out compression within 0.1%)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokenkit
from tests.conftest import needs_gpt2
from tokenkit import engines
from tokenkit.backends.gpt2 import gpt2_encoding
from tokenkit.backends.tiktoken import TiktokenVocabulary, load_tiktoken_dir
from tokenkit.errors import TokenkitError
from tokenkit.exporters import export
from tokenkit.fastpath import apply_fast_path
from tokenkit.training import train_from_texts

CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"
TEXT_FILES = ("the-verdict.txt", "wagahai.txt", "tinyshakespeare.txt", "taylorswift.txt",
              "emoji-test.txt", "multilingual.tsv")
needs_gigatoken = pytest.mark.skipif(not engines.installed("gigatoken"),
                                     reason="gigatoken is not installed")
needs_rustbpe = pytest.mark.skipif(not engines.installed("rustbpe"), reason="rustbpe is not installed")
SPECIALS = ["<|endoftext|>", "<pad>"]


def corpus_text(name: str) -> str:
    path = CORPORA / name
    if not path.is_file():
        pytest.skip(f"corpus {path} is absent (see ../shared/corpora/SOURCES.md)")
    return path.read_text(encoding="utf-8")


def gpt2_pair() -> tuple[TiktokenVocabulary, TiktokenVocabulary]:
    if not (CORPORA / "gpt2" / "vocab.bpe").is_file():
        pytest.skip("corpus gpt2 (encoder.json + vocab.bpe) is absent")
    enc = gpt2_encoding(CORPORA / "gpt2")
    ref = apply_fast_path(TiktokenVocabulary(enc), "reference")
    fast = apply_fast_path(TiktokenVocabulary(enc), "gigatoken")
    return ref, fast


@pytest.fixture(scope="module")
def trained():
    """A vocabulary with specials, trained by the reference, encoded by each engine."""
    text = corpus_text("taylorswift.txt")
    return train_from_texts([text], 1500, special_tokens=SPECIALS, engine="reference").vocabulary


# -- encoding ---------------------------------------------------------------------------------
@needs_gigatoken
@pytest.mark.parametrize("name", TEXT_FILES)
def test_gigatoken_gives_tiktokens_gpt2_ids_on_every_corpus(name):
    text = corpus_text(name)
    ref, fast = gpt2_pair()
    assert fast.encode_engine == "gigatoken" and ref.encode_engine == "tiktoken"
    assert fast.encode(text) == ref.encode(text)
    lines = text.splitlines(keepends=True)
    assert fast.encode_batch(lines) == ref.encode_batch(lines)


@needs_gigatoken
@pytest.mark.parametrize("name", TEXT_FILES)
def test_gigatoken_gives_a_trained_vocabularys_ids_on_every_corpus(trained, name):
    """Specials come first in a trained vocabulary (ranks not dense from 0): ids map back."""
    text = corpus_text(name)
    ref = apply_fast_path(trained, "reference")
    expected, expected_lines = ref.encode(text), ref.encode_batch(text.splitlines())
    assert ref.encode_engine == "tiktoken"
    fast = apply_fast_path(trained, "gigatoken")
    assert fast.encode_engine == "gigatoken"
    assert fast.encode(text) == expected == fast.tokenizer.encode(text, add_special_tokens=False).ids
    assert fast.encode_batch(text.splitlines()) == expected_lines


MIXED = st.lists(st.one_of(
    st.text(max_size=20),
    st.sampled_from(["😀", "👍🏽", "👨‍👩‍👧", "吾輩は猫である", "한국어", "e\u0301", "a\u0308\u0323", "  ",
                     "\t\t", "\n\n\n", "\r\n", " \u00a0 ", "<|endoftext|>", "<pad>", "'s", "'LL",
                     "\ud800", "\udfff", "x" * 50, "123 456", "\u200b", "\u2028"]),
), max_size=12).map("".join)


@needs_gigatoken
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=MIXED)
def test_gigatoken_matches_the_reference_on_generated_text(trained, text):
    """Emoji, CJK, combining marks, whitespace runs, special strings as text, lone surrogates
    (refused alike, one TokenkitError naming the position): every path gives the reference's
    answer."""
    ref = TiktokenVocabulary(trained.fast_encoding())  # tiktoken itself, no engine
    fast = apply_fast_path(trained, "gigatoken")
    assert fast.encode_engine == "gigatoken"

    def answer(call):
        try:
            return "ids", call()
        except TokenkitError as e:
            return "refused", str(e)

    assert answer(lambda: fast.encode(text)) == answer(lambda: ref.encode(text))
    assert answer(lambda: fast.encode(text, allowed_special="all")) == \
        answer(lambda: ref.encode(text, allowed_special="all"))
    assert answer(lambda: fast.encode_batch([text, "", text])) == \
        answer(lambda: ref.encode_batch([text, "", text]))
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in text):  # HF's tokenizers refuses surrogates
        assert fast.encode(text) == trained.tokenizer.encode(text, add_special_tokens=False).ids
    else:
        assert answer(lambda: fast.encode(text))[0] == "refused"


@needs_gigatoken
def test_worst_cases_give_the_same_ids():
    ref, fast = gpt2_pair()
    for text in ("a" * 200_000, "😀" * 50_000, " " * 100_000 + "x", "ab" * 100_000):
        assert fast.encode(text) == ref.encode(text)


def test_reference_engine_and_unknown_engine(trained):
    assert apply_fast_path(trained, "reference").encode_engine == "tiktoken"
    auto = "gigatoken" if engines.installed("gigatoken") else "tiktoken"
    assert apply_fast_path(trained, "auto").encode_engine == auto  # auto replaces our own choice
    with pytest.raises(TokenkitError, match="--engine must be one of auto, reference"):
        tokenkit.load("gpt2", engine="fastest")


def test_auto_falls_back_when_the_engine_is_not_installed(trained, monkeypatch):
    from tokenkit.backends.hf import HFVocabulary

    monkeypatch.setattr(engines, "installed", lambda name: False)
    fresh = HFVocabulary(trained.tokenizer, {"name": "fresh"})
    assert apply_fast_path(fresh, "auto").encode_engine == "tiktoken"
    choice = engines.choose_train_engine("gigatoken", backend="hf", alphabet="bytes",
                                         min_frequency=0)
    assert choice == engines.EngineChoice("reference", "gigatoken is not installed")


# -- training ---------------------------------------------------------------------------------
def hf_json(vocab) -> dict:
    return json.loads(vocab.tokenizer.to_str())


@needs_gigatoken
@pytest.mark.parametrize("name,size", [("the-verdict.txt", 600), ("taylorswift.txt", 2000),
                                       ("multilingual.tsv", 3000), ("emoji-test.txt", 1200),
                                       ("wagahai.txt", 1500), ("tinyshakespeare.txt", 1500)])
def test_gigatoken_trains_hfs_tokenizer_json_exactly(name, size):
    text = corpus_text(name)
    ref = train_from_texts([text], size, engine="reference")
    fast = train_from_texts([text], size, engine="gigatoken")
    assert (ref.summary["engine"], fast.summary["engine"]) == ("reference", "gigatoken")
    assert hf_json(fast.vocabulary) == hf_json(ref.vocabulary)


@needs_gigatoken
def test_gigatoken_with_specials_and_a_tiny_corpus():
    for texts, size, specials in ((["hello hello world"], 300, SPECIALS), (["ab" * 3], 10_000, [])):
        ref = train_from_texts(texts, size, engine="reference", special_tokens=specials)
        fast = train_from_texts(texts, size, engine="gigatoken", special_tokens=specials)
        assert hf_json(fast.vocabulary) == hf_json(ref.vocabulary)
        assert fast.summary["vocab_size"] == ref.summary["vocab_size"]


def test_merges_out_of_order_or_repeated_are_refused():
    """gigatoken goes on merging zero-count pairs, repeats included (``ababab``: ab+ab twice);
    the trimmed tail must leave a sequence HF's file can hold, else HF trains."""
    engines.check_merge_order([(b"a", b"b"), (b"ab", b"ab")])
    with pytest.raises(engines.EngineMismatch, match="merge 0 .* no earlier merge made"):
        engines.check_merge_order([(b"ab", b"ab")])
    with pytest.raises(engines.EngineMismatch, match="merge 2 .* repeats"):
        engines.check_merge_order([(b"a", b"b"), (b"ab", b"ab"), (b"ab", b"ab")])


def test_an_engine_that_fails_a_check_leaves_the_training_to_hf(monkeypatch):
    def bad(lines, n_tokens):
        raise engines.EngineMismatch("merge 3 repeats an earlier merge")

    monkeypatch.setattr(engines, "installed", lambda name: True)
    monkeypatch.setattr("tokenkit.training.train_merges", lambda engine, lines, n: bad(lines, n))
    result = train_from_texts(["hello world " * 10], 300, engine="gigatoken")
    assert result.summary["engine"] == "reference"
    assert "gigatoken failed a check (merge 3 repeats" in result.summary["engine_note"]


@needs_gigatoken
def test_engine_training_prints_nothing(capfd):
    train_from_texts(["some text to train on " * 50], 300, engine="gigatoken")
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def compression(vocab, text: str) -> float:
    return len(text.encode("utf-8")) / len(vocab.encode(text))


@needs_rustbpe
@pytest.mark.parametrize("name,size", [("tinyshakespeare.txt", 3000), ("wagahai.txt", 3000)])
def test_rustbpe_held_out_compression_within_a_tenth_of_a_percent(name, size):
    """rustbpe breaks ties in byte order, HF in byte-character order: other merges, as good."""
    text = corpus_text(name)
    cut = text.index("\n", len(text) * 9 // 10)
    train, held_out = text[:cut], text[cut:]
    ref = train_from_texts([train], size, engine="reference").vocabulary
    fast = train_from_texts([train], size, engine="rustbpe").vocabulary
    assert fast.vocab_size == ref.vocab_size
    assert fast.fast_encoding() is not None  # a valid byte-level BPE, merge order = id order
    ratio = compression(fast, held_out) / compression(ref, held_out)
    assert abs(ratio - 1) <= 0.001, ratio


@pytest.mark.parametrize("options,reason", [({"alphabet": "observed"}, "--alphabet observed"),
                                            ({"min_frequency": 2}, "--min-frequency"),
                                            ({"backend": "sentencepiece"}, "sentencepiece")])
def test_options_an_engine_cannot_train_fall_back_to_the_reference(options, reason):
    result = train_from_texts(["hello world, hello there " * 20], 600, engine="gigatoken",
                              **options)
    assert result.summary["engine"] == "reference"
    assert reason in result.summary["engine_note"]
    assert result.vocabulary.metadata["training"]["engine"] == "reference"


@needs_gigatoken
def test_an_engines_vocabulary_loads_and_encodes_the_same_everywhere(tmp_path):
    """tokenizer.json in HF tokenizers, the tiktoken export, tokenkit.load with each engine."""
    from tokenizers import Tokenizer

    text = corpus_text("taylorswift.txt")
    vocab = train_from_texts([text], 1500, engine="gigatoken", special_tokens=SPECIALS).vocabulary
    vocab.save(tmp_path / "v")
    expected = vocab.encode(text)
    hf = Tokenizer.from_file(str(tmp_path / "v" / "tokenizer.json"))
    assert hf.encode(text, add_special_tokens=False).ids == expected
    export(vocab, tmp_path / "tt", "tiktoken")
    tt = load_tiktoken_dir(tmp_path / "tt")
    assert tt.encoding.encode_ordinary(text) == expected
    for engine in ("reference", "gigatoken", "auto"):
        assert tokenkit.load(str(tmp_path / "v"), engine=engine).encode(text) == expected
    assert json.loads((tmp_path / "v" / "tokenkit.json").read_text())["training"]["engine"] == \
        "gigatoken"


def test_auto_trains_large_vocabularies_on_small_corpora_with_hf():
    """gigatoken slows down as merges reach low, tied counts (docs/engines.md): auto leaves a
    large vocabulary to HF unless the corpus is big enough for the counts to stay high."""
    def choose(engine="auto", vocab=engines.AUTO_GIGATOKEN_MAX_VOCAB, text_bytes=None):
        return engines.choose_train_engine(engine, backend="hf", alphabet="bytes", min_frequency=0,
                                           vocab_size=vocab, text_bytes=text_bytes)

    fast = "gigatoken" if engines.installed("gigatoken") else "reference"
    large = engines.AUTO_GIGATOKEN_MAX_VOCAB + 1
    enough = engines.AUTO_GIGATOKEN_BYTES_PER_TOKEN * 32000
    assert choose().name == fast
    assert choose(vocab=large).name == "reference" and "HF is faster" in choose(vocab=large).reason
    assert choose(vocab=32000, text_bytes=enough - 1).name == "reference"
    assert "32.8 MB" in choose(vocab=32000, text_bytes=enough - 1).reason
    assert choose(vocab=32000, text_bytes=enough).name == fast
    assert choose("gigatoken", vocab=32000).name == fast


@given(st.lists(st.text(st.sampled_from(list("ab \n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029é")),
                        max_size=12), max_size=5))
def test_a_line_corpus_holds_the_lines_hfs_trainer_is_fed(texts):
    """gigatoken must see the lines HF's trainer sees: ``str.splitlines`` of each text."""
    expected = [line for t in texts for line in t.splitlines(keepends=True)]
    for part_bytes in (engines.SPOOL_PART_BYTES, 4):  # tiny spool files: lines longer than one
        with engines.LineCorpus.from_texts(texts, part_bytes=part_bytes) as corpus:
            assert list(corpus.lines()) == expected
            blocks = list(corpus.chunks(block_bytes=3))  # reading back in blocks: whole lines
            assert all(block.endswith(engines.LINE_SEPARATOR) for block in blocks)
            assert [line.decode() for block in blocks
                    for line in block.split(engines.LINE_SEPARATOR) if line] == expected


@needs_gigatoken
def test_gigatoken_matches_hf_across_every_line_break_and_text_boundary():
    texts = ["one\rtwo\r\nthree\x0bfour\x0cfive\x1csix\x85seven\u2028eight\u2029nine  ",
             "  ten\n\n  eleven\n", "no newline at the end", "  twelve"] * 3
    ref = train_from_texts(texts, 300, engine="reference")
    fast = train_from_texts(texts, 300, engine="gigatoken")
    assert fast.summary["engine"] == "gigatoken"
    assert hf_json(fast.vocabulary) == hf_json(ref.vocabulary)


@needs_gigatoken
def test_the_run_dry_check_sees_both_cases():
    """Few distinct pre-tokens: the corpus may run out of pairs (the tail is trimmed by an encode
    pass); many: it cannot, and the pass is skipped. Both paths give HF's merges (tests above)."""
    with engines.LineCorpus.from_texts(["ab" * 3]) as few:
        assert engines._may_have_run_dry(few, 10_000)
    with engines.LineCorpus.from_texts([corpus_text("tinyshakespeare.txt")]) as many:
        assert not engines._may_have_run_dry(many, 1500)


# -- the command line -------------------------------------------------------------------------
def test_train_says_which_engine_ran_and_records_it(tmp_path):
    from click.testing import CliRunner

    from tokenkit.cli import main

    corpus = tmp_path / "c.txt"
    corpus.write_text("hello world, hello there\n" * 50, encoding="utf-8")
    for engine in ("reference", "rustbpe"):
        out = tmp_path / engine
        result = CliRunner().invoke(main, ["train", "--vocab", "300", str(corpus), "-o", str(out),
                                           "--engine", engine], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        ran = engine if engine == "reference" or engines.installed(engine) else "reference"
        assert f"trained hf vocabulary ({ran} engine)" in result.output
        meta = json.loads((out / "tokenkit.json").read_text(encoding="utf-8"))
        assert meta["training"]["engine"] == ran
    observed = CliRunner().invoke(main, ["train", "--vocab", "300", str(corpus), "-o",
                                         str(tmp_path / "obs"), "--engine", "rustbpe",
                                         "--alphabet", "observed"], catch_exceptions=False)
    assert "note: --engine rustbpe did not run: --alphabet observed" in observed.output
    bad = CliRunner().invoke(main, ["train", "--vocab", "300", str(corpus), "--engine", "nope"])
    assert bad.exit_code != 0 and "nope" in bad.output


@needs_gigatoken
def test_gigatoken_encodes_the_same_from_many_threads():
    """Vocabulary.encode may be called from a thread pool (gptcore does)."""
    from concurrent.futures import ThreadPoolExecutor

    ref, fast = gpt2_pair()
    texts = [corpus_text("taylorswift.txt")[i * 5000:(i + 1) * 5000] for i in range(16)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(fast.encode, texts))
    assert got == [ref.encode(t) for t in texts]


@pytest.mark.parametrize("engine", ["reference", "gigatoken"])
def test_encode_to_numpy_through_each_engine(trained, engine):
    """The array path of each engine gives encode's ids (the reference's through tiktoken's own
    ``encode_to_numpy``), specials allowed or not."""
    if engine == "gigatoken" and not engines.installed("gigatoken"):
        pytest.skip("gigatoken is not installed")
    vocab = apply_fast_path(train_from_texts([corpus_text("taylorswift.txt")], 1500,
                                             special_tokens=SPECIALS, engine="reference").vocabulary,
                            engine)
    text = corpus_text("taylorswift.txt")[:20_000] + " <pad> <|endoftext|> 🥺"
    for allowed in (frozenset(), "all"):
        ids = vocab.encode_to_numpy(text, allowed_special=allowed)
        assert ids.dtype == "uint32"
        assert ids.tolist() == vocab.encode(text, allowed_special=allowed)
    assert vocab.encode_engine == engine.replace("reference", "tiktoken")


# -- the spool gigatoken trains from -----------------------------------------------------------
@needs_gigatoken
def test_spool_file_size_does_not_change_the_merges():
    """Lines never straddle two spool files, so any file size gives the same merges."""
    text = corpus_text("wagahai.txt")[:200_000]
    with engines.LineCorpus.from_texts([text]) as one, \
            engines.LineCorpus.from_texts([text], part_bytes=5_000) as many:
        assert len(one.parts) == 1 and len(many.parts) > 20
        assert engines.train_merges("gigatoken", one, 1200) == \
            engines.train_merges("gigatoken", many, 1200)


@needs_gigatoken
def test_the_spool_folder_goes_when_training_ends_or_fails(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = train_from_texts(["hello world, hello there\n" * 20], 300, engine="gigatoken")
    assert result.summary["engine"] == "gigatoken"
    assert list(tmp_path.iterdir()) == []

    def broken(*args, **kwargs):
        assert len(list(tmp_path.glob("tokenkit-spool-*/part-*"))) == 1  # it was there
        raise RuntimeError("engine crashed")

    monkeypatch.setattr(engines, "_gigatoken_merges", broken)
    with pytest.raises(RuntimeError, match="engine crashed"):
        train_from_texts(["hello world\n"], 300, engine="gigatoken")
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_spool_folder_is_one_line(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no" / "such"))
    with pytest.raises(TokenkitError, match="cannot make a spool folder .*no/such.*TMPDIR"):
        engines.LineCorpus.from_texts(["a\n"])


@needs_gigatoken
def test_a_stream_of_unknown_size_trains_with_gigatoken_up_to_8192():
    """The spool needs no size: a generator (stdin alike) trains with gigatoken, HF's merges;
    above 8192 ``auto`` cannot tell the corpus is big enough and HF trains."""
    text = corpus_text("tinyshakespeare.txt")[:100_000]
    lines = text.splitlines(keepends=True)
    fast = train_from_texts((line for line in lines), 600)
    assert fast.summary["engine"] == "gigatoken"
    assert hf_json(fast.vocabulary) == hf_json(train_from_texts([text], 600, engine="reference").vocabulary)
    big = train_from_texts((line for line in lines), 9000)
    assert big.summary["engine"] == "reference" and "HF is faster" in big.summary["engine_note"]


@needs_gigatoken
@needs_gpt2
def test_one_vocabulary_encodes_from_many_threads(monkeypatch):
    """gigatoken's tokenizer object refuses a second concurrent call ("Already borrowed", seen
    intermittently with two threads on make_big_corpus text, when it lets go of the GIL):
    tokenkit serialises its calls, so threads sharing a vocabulary (gptcore prepare, serve) all
    get tiktoken's ids. The stand-in below refuses overlapping calls the same way, every time."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    vocab = tokenkit.load("gpt2", engine="gigatoken")
    engine = vocab.fast_encoder()
    real, busy = engine._tok, threading.Event()

    class OneCallAtATime:
        def encode(self, text):
            if busy.is_set():
                raise RuntimeError("Already borrowed")
            busy.set()
            try:
                time.sleep(0.002)  # lets go of the GIL, as gigatoken sometimes does
                return real.encode(text)
            finally:
                busy.clear()

    monkeypatch.setattr(engine, "_tok", OneCallAtATime())
    text = corpus_text("wagahai.txt") + corpus_text("tinyshakespeare.txt")
    pieces = [text[i:i + 20_000] for i in range(0, len(text), 20_000)][:40]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(vocab.encode_to_numpy, pieces))
    assert [ids.tolist() for ids in got] == [vocab.encoding.encode_ordinary(p) for p in pieces]


@needs_gigatoken
@needs_gpt2
def test_a_fresh_gigatoken_object_bounds_its_cache_and_keeps_the_ids(monkeypatch):
    """gigatoken caches every pre-token it meets; tokenkit starts a fresh tokenizer object
    after GIGATOKEN_CACHE_CHARS characters. The ids do not change across the swap."""
    monkeypatch.setattr(engines, "GIGATOKEN_CACHE_CHARS", 5_000)
    vocab = tokenkit.load("gpt2", engine="gigatoken")
    engine = vocab.fast_encoder()
    text = corpus_text("wagahai.txt")[:60_000] + corpus_text("tinyshakespeare.txt")[:60_000]
    pieces = [text[i:i + 3_000] for i in range(0, len(text), 3_000)]
    builds, build = [], engine._build
    monkeypatch.setattr(engine, "_build", lambda: builds.append(1) or build())
    for piece in pieces:
        assert vocab.encode_to_numpy(piece).tolist() == vocab.encoding.encode_ordinary(piece)
    assert len(builds) == len(pieces) // 2  # 3,000 characters a piece: a fresh one every two
    assert vocab.encode_batch(pieces) == [vocab.encoding.encode_ordinary(p) for p in pieces]
