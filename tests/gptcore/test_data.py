"""Token shards: ids equal a direct encode, manifests tell the truth, stale shards are refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokenkit
from gptcore.data.shards import TokenShards
from gptcore.data.encoding import dtype_for, eot_id
from gptcore.data.preparation import encode_sources, prepare, split_documents
from gptcore.data.manifest import read_manifest
from gptcore.data.fingerprint import vocabulary_sha256
from gptcore.platform.registry import GptcoreError
from tests.conftest import corpus_path
from tests.gptcore.helpers import train_vocab

EOT = "<|endoftext|>"


@pytest.fixture(scope="module")
def gpt2() -> tokenkit.Vocabulary:
    corpus_path("gpt2")
    return tokenkit.load("gpt2")


@pytest.fixture(scope="module")
def cl100k() -> tokenkit.Vocabulary:
    try:
        return tokenkit.load("tiktoken:cl100k_base")
    except tokenkit.TokenkitError as e:
        pytest.skip(f"cl100k_base not available offline: {e}")


@pytest.fixture(scope="module")
def small_hf(tmp_path_factory: pytest.TempPathFactory) -> tokenkit.Vocabulary:
    """A byte-level BPE trained here with an end-of-text special (tokenkit's fast path applies)."""
    directory = train_vocab(tmp_path_factory.mktemp("small"), specials=[EOT, "<pad>"])
    vocab = tokenkit.load(str(directory))
    assert vocab.fast_encoding() is not None
    return vocab


def ordinary(vocab: tokenkit.Vocabulary, text: str) -> list[int]:
    """The reference: tiktoken's own encode_ordinary of the vocabulary's tiktoken form."""
    enc = vocab.encoding if hasattr(vocab, "encoding") else vocab.fast_encoding()
    return enc.encode_ordinary(text)


def split_ids(data: Path, split: str) -> list[int]:
    shards = TokenShards(data)
    return shards.read(split, 0, shards.tokens(split)).tolist()


def segments(ids: list[int], eot: int) -> list[list[int]]:
    out: list[list[int]] = [[]]
    for i in ids:
        if i == eot:
            out.append([])
        else:
            out[-1].append(i)
    return out


def write_docs(directory: Path, docs: list[str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for i, doc in enumerate(docs):
        (directory / f"doc{i:03d}.txt").write_text(doc, encoding="utf-8")
    return directory


def listing(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


# Text that stresses pre-tokenizer boundaries: newline runs, spaces before newlines, CRLF,
# Unicode whitespace, CJK, emoji, contractions and the literal special-token string.
PIECES = ["\n", "\n\n", " \n", "\r\n", "  ", "\t", "a", "word", "Ab", " the", "'s", "'ll", "1", "42",
          ".", "!?", "-", "吾輩", "猫", "😀", "👍🏽", "\u00a0", "\u2028", "\u3000", "\x1c", "\x85",
          EOT, "<|endoftext", "|>", "é"]
texts = st.lists(st.sampled_from(PIECES), min_size=1, max_size=60).map("".join)


# ------------------------------------------------------------------------------------------
# ids equal a direct encode
# ------------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, chunk=st.integers(1, 40), fraction=st.floats(0.05, 0.95))
def test_single_document_equals_direct_encode_of_each_part(tmp_path_factory, gpt2, cl100k, small_hf,
                                                           text, chunk, fraction):
    """Tiny chunks force a cut at every safe newline; ids must still equal whole-part encodes."""
    base = tmp_path_factory.mktemp("one")
    (base / "doc.txt").write_text(text, encoding="utf-8")
    cut = int((1 - fraction) * len(text))
    for k, vocab in enumerate((gpt2, cl100k, small_hf)):
        out = base / f"data{k}"
        try:
            prepare(vocab, [str(base / "doc.txt")], out, val_fraction=fraction, chunk_chars=chunk)
        except GptcoreError as e:  # a part without text is refused; nothing else may be
            assert "would be empty" in str(e) and (not text[:cut] or not text[cut:])
            assert not out.exists()
            continue
        assert split_ids(out, "train") == ordinary(vocab, text[:cut])
        assert split_ids(out, "val") == ordinary(vocab, text[cut:])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(texts, min_size=2, max_size=8), chunk=st.integers(1, 30))
def test_documents_are_direct_encodes_separated_by_eot_id(tmp_path_factory, gpt2, docs, chunk):
    base = tmp_path_factory.mktemp("many")
    docs = [f"{i}:{d}" for i, d in enumerate(docs)]  # distinct, so each segment names its document
    out = base / "data"
    m = prepare(gpt2, [str(write_docs(base / "src", docs))], out, chunk_chars=chunk)
    eot = gpt2.specials[EOT]
    train, val = (segments(split_ids(out, s), eot) for s in ("train", "val"))
    assert len(train) + len(val) == len(docs)
    assert (m.splits["train"].documents, m.splits["val"].documents) == (len(train), len(val))
    ti = vi = 0
    for doc in docs:  # each split keeps source order; each document is exactly its ordinary encode
        expected = ordinary(gpt2, doc)
        if ti < len(train) and train[ti] == expected:
            ti += 1
        else:
            assert vi < len(val) and val[vi] == expected
            vi += 1
    assert m.splits["val"].bytes == sum(len(d.encode()) for d in docs) - m.splits["train"].bytes


@pytest.mark.parametrize("name", ["the-verdict", "wagahai", "tinyshakespeare", "taylorswift",
                                  "emoji-test", "multilingual"])
def test_real_corpora_equal_direct_encode(tmp_path, gpt2, name):
    path = corpus_path(name)
    text = path.read_text(encoding="utf-8")
    out = tmp_path / "data"
    m = prepare(gpt2, [str(path)], out, chunk_chars=2048)
    cut = int(0.9 * len(text))  # the textbook's split
    assert split_ids(out, "train") == gpt2.encode(text[:cut])
    assert split_ids(out, "val") == gpt2.encode(text[cut:])
    assert m.splits["train"].bytes + m.splits["val"].bytes == path.stat().st_size
    assert m.encoder.endswith("(line chunks)")


def test_real_corpora_as_documents_with_trained_vocab(tmp_path, small_hf):
    paths = [corpus_path(n) for n in ("the-verdict", "taylorswift", "wagahai")]
    src = write_docs(tmp_path / "src", [p.read_text(encoding="utf-8") for p in paths])
    prepare(small_hf, [str(src)], tmp_path / "data", val_fraction=0.3, chunk_chars=4096)
    eot = small_hf.specials[EOT]
    got = segments(split_ids(tmp_path / "data", "train"), eot) + \
        segments(split_ids(tmp_path / "data", "val"), eot)
    expected = [small_hf.encode(p.read_text(encoding="utf-8")) for p in paths]
    assert sorted(got) == sorted(expected)


def test_sentencepiece_encodes_whole_documents(tmp_path):
    from tests.tokenkit.helpers import MIXED_TEXT, mixed_vocab

    vocab = mixed_vocab("sentencepiece")
    text = MIXED_TEXT[:5000]
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    m = prepare(vocab, [str(tmp_path / "t.txt")], tmp_path / "data", chunk_chars=16)
    cut = int(0.9 * len(text))
    assert m.encoder.endswith("(whole documents)")
    assert split_ids(tmp_path / "data", "train") == vocab.encode(text[:cut])
    assert split_ids(tmp_path / "data", "val") == vocab.encode(text[cut:])


def test_corpus_names_resolve_like_tokenkit(tmp_path, gpt2):
    m = prepare(gpt2, ["the-verdict"], tmp_path / "data")
    assert m.sources[0].name == "the-verdict"
    assert m.sources[0].sha256 == hashlib.sha256(corpus_path("the-verdict").read_bytes()).hexdigest()


def test_encode_sources_in_memory_matches_shards(tmp_path, gpt2):
    src = write_docs(tmp_path / "src", ["one doc\nwith lines", "two " + EOT + " quoted"])
    ids, n_bytes = encode_sources(gpt2, [str(src)])
    eot = gpt2.specials[EOT]
    assert ids.tolist() == ordinary(gpt2, "one doc\nwith lines") + [eot] + ordinary(gpt2, "two " + EOT + " quoted")
    assert n_bytes == len("one doc\nwith lines".encode()) + len(("two " + EOT + " quoted").encode())


# ------------------------------------------------------------------------------------------
# special tokens: boundaries by id, never read from text
# ------------------------------------------------------------------------------------------
def test_literal_special_string_in_text_gets_ordinary_ids(tmp_path, gpt2):
    quoted = f"GPT-2 ends documents with {EOT} between them.\nSee {EOT}."
    src = write_docs(tmp_path / "src", [quoted, "plain text\n", "more plain text\n"])
    prepare(gpt2, [str(src)], tmp_path / "data", val_fraction=0.3)
    eot = gpt2.specials[EOT]
    ids = split_ids(tmp_path / "data", "train") + split_ids(tmp_path / "data", "val")
    assert ids.count(eot) == 1  # 3 documents, 2 splits: one separator, no id read from text
    assert ordinary(gpt2, quoted) == gpt2.encode(quoted)  # tokenkit's encode is ordinary by default
    assert ordinary(gpt2, quoted) != gpt2.encode(quoted, allowed_special="all")
    all_segments = segments(split_ids(tmp_path / "data", "train"), eot) + \
        segments(split_ids(tmp_path / "data", "val"), eot)
    assert ordinary(gpt2, quoted) in all_segments


def test_hf_own_encoder_keeps_special_strings_as_text(tmp_path):
    directory = train_vocab(tmp_path / "v", specials=["<eos>"])
    vocab = tokenkit.load(str(directory))
    vocab.use_fast = False  # HF tokenizers' own encode, with special splitting off
    eos = vocab.specials["<eos>"]
    src = write_docs(tmp_path / "src", ["fine text", "a <eos> inside", "more"])
    m = prepare(vocab, [str(src)], tmp_path / "data", val_fraction=0.3)
    assert m.tokenizer.eot_id == eos
    train, val = split_ids(tmp_path / "data", "train"), split_ids(tmp_path / "data", "val")
    assert train.count(eos) + val.count(eos) == 1  # 3 documents, 2 splits: one separator
    assert vocab.encode("a <eos> inside") in segments(train, eos) + segments(val, eos)
    assert eos not in vocab.encode("a <eos> inside")


def test_eot_choice(tmp_path, gpt2):
    src = write_docs(tmp_path / "src", ["a b", "c d", "e f", "g h"])
    assert eot_id(gpt2) == gpt2.specials[EOT]
    m = prepare(gpt2, [str(src)], tmp_path / "none", eot=None, val_fraction=0.25)
    assert m.tokenizer.eot_id is None and gpt2.specials[EOT] not in split_ids(tmp_path / "none", "train")
    with pytest.raises(GptcoreError, match="not a special token"):
        prepare(gpt2, [str(src)], tmp_path / "bad", eot="<nope>")


# ------------------------------------------------------------------------------------------
# dtype and manifest
# ------------------------------------------------------------------------------------------
def test_dtype_follows_vocabulary_size(tmp_path, gpt2, cl100k):
    assert (dtype_for(65536), dtype_for(65537)) == ("uint16", "uint32")
    (tmp_path / "t.txt").write_text("hello world\n" * 50, encoding="utf-8")
    for vocab, dtype, itemsize in ((gpt2, "uint16", 2), (cl100k, "uint32", 4)):
        out = tmp_path / dtype
        m = prepare(vocab, [str(tmp_path / "t.txt")], out)
        assert m.dtype == dtype
        for split in m.splits.values():
            assert (out / split.shards[0].file).stat().st_size == split.tokens * itemsize
        assert split_ids(out, "train") == ordinary(vocab, ("hello world\n" * 50)[:540])
    with pytest.raises(GptcoreError, match="100277 ids; they do not fit uint16"):
        prepare(cl100k, [str(tmp_path / "t.txt")], tmp_path / "forced", dtype="uint16")
    assert not (tmp_path / "forced").exists()


def test_manifest_contents(tmp_path, gpt2, small_hf):
    docs = [f"document {i}\nline two of {i}\n" for i in range(10)]
    src = write_docs(tmp_path / "src", docs)
    out = tmp_path / "data"
    m = prepare(str(corpus_path("gpt2")), [str(src)], out, shard_tokens=7, seed=3)
    stored = json.loads((out / "manifest.json").read_text())
    assert stored["format"] == "gptcore-token-shards" and stored["format_version"] == 1
    assert read_manifest(out) == m and not m.reused
    assert m.tokenizer.sha256 == vocabulary_sha256(tokenkit.load(str(corpus_path("gpt2"))))
    assert m.tokenizer.spec == str(corpus_path("gpt2")) and m.tokenizer.vocab_size == 50257
    assert m.tokenizer.eot_id == 50256 and m.dtype == "uint16" and m.seed == 3
    assert m.split_by == "document" and (m.splits["train"].documents, m.splits["val"].documents) == (9, 1)
    for info, doc, path in zip(m.sources, docs, sorted(src.iterdir())):
        assert (info.sha256, info.bytes, info.format) == (hashlib.sha256(doc.encode()).hexdigest(),
                                                           len(doc.encode()), "text")
        assert info.path == str(path)
    assert m.splits["train"].bytes + m.splits["val"].bytes == sum(len(d.encode()) for d in docs)
    for name, split in m.splits.items():
        assert sum(s.tokens for s in split.shards) == split.tokens
        assert all(s.tokens <= 7 for s in split.shards) and len(split.shards) == -(-split.tokens // 7)
        assert sorted(p.name for p in out.glob(f"{name}-*.bin")) == [s.file for s in split.shards]
        ids = split_ids(out, name)
        # byte-level BPE: the text bytes of a split are the bytes its non-separator ids decode to
        assert sum(len(gpt2.token_bytes(i)) for i in ids if i != 50256) == split.bytes
        assert ids.count(50256) == split.documents - 1


def test_jsonl_records_are_documents(tmp_path, gpt2):
    rows = [{"text": f"record {i} {EOT if i == 2 else ''}"} for i in range(6)]
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    m = prepare(gpt2, [str(path)], tmp_path / "data", val_fraction=0.34)
    assert m.sources[0].format == "jsonl" and m.sources[0].documents == 6
    assert (m.splits["train"].documents, m.splits["val"].documents) == (4, 2)
    got = segments(split_ids(tmp_path / "data", "train"), 50256) + segments(split_ids(tmp_path / "data", "val"), 50256)
    assert sorted(got) == sorted(ordinary(gpt2, r["text"]) for r in rows)


def test_vocabulary_fingerprint_is_content_not_path(tmp_path):
    a = train_vocab(tmp_path / "a")
    b = train_vocab(tmp_path / "elsewhere" / "b")
    c = train_vocab(tmp_path / "c", vocab_size=290)
    ha, hb, hc = (vocabulary_sha256(tokenkit.load(str(p))) for p in (a, b, c))
    assert ha == hb != hc


# ------------------------------------------------------------------------------------------
# stale shards, reuse, force, atomicity
# ------------------------------------------------------------------------------------------
def test_reuse_and_refusal_of_stale_shards(tmp_path, small_hf):
    src = write_docs(tmp_path / "src", [f"text number {i}\n" * 20 for i in range(5)])
    out = tmp_path / "data"
    first = prepare(small_hf, [str(src)], out)
    before = (out / "manifest.json").read_bytes()
    again = prepare(small_hf, [str(src)], out)
    assert again.reused and again == first

    other = tokenkit.load(str(train_vocab(tmp_path / "other", vocab_size=300,
                                          specials=["<|endoftext|>", "<x>"])))
    with pytest.raises(GptcoreError, match=r"holds shards of another tokenizer .*use --force"):
        prepare(other, [str(src)], out)
    with pytest.raises(GptcoreError, match="another val_fraction"):
        prepare(small_hf, [str(src)], out, val_fraction=0.2)
    (src / "doc002.txt").write_text("changed text\n", encoding="utf-8")
    with pytest.raises(GptcoreError, match=r"other sources \(.*doc002\.txt changed\)"):
        prepare(small_hf, [str(src)], out)
    assert (out / "manifest.json").read_bytes() == before
    assert listing(tmp_path) == ["data", "other", "src"]

    rebuilt = prepare(small_hf, [str(src)], out, force=True)
    assert not rebuilt.reused
    assert rebuilt.sources[2].sha256 == hashlib.sha256(b"changed text\n").hexdigest()
    assert listing(tmp_path) == ["data", "other", "src"]


def test_unreadable_manifest_is_refused_unless_forced(tmp_path, gpt2):
    (tmp_path / "t.txt").write_text("some text here\n" * 3, encoding="utf-8")
    prepare(gpt2, [str(tmp_path / "t.txt")], tmp_path / "d")
    manifest = tmp_path / "d" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"format_version": 1', '"format_version": 99'))
    with pytest.raises(GptcoreError, match="unsupported format_version 99.*use --force"):
        prepare(gpt2, [str(tmp_path / "t.txt")], tmp_path / "d")
    assert prepare(gpt2, [str(tmp_path / "t.txt")], tmp_path / "d", force=True).format_version == 1


def test_existing_non_shard_directory_is_refused(tmp_path, gpt2):
    (tmp_path / "t.txt").write_text("some text here\n", encoding="utf-8")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    for force in (False, True):  # force rebuilds shards of ours, never a directory of other files
        with pytest.raises(GptcoreError, match="holds files gptcore did not write: keep.txt"):
            prepare(gpt2, [str(tmp_path / "t.txt")], tmp_path / "out", force=force)
        assert listing(tmp_path / "out") == ["keep.txt"]


def test_reader_refuses_truncated_shard_and_other_vocabulary(tmp_path, gpt2, small_hf):
    (tmp_path / "t.txt").write_text("some text here\n" * 30, encoding="utf-8")
    prepare(gpt2, [str(tmp_path / "t.txt")], tmp_path / "data")
    TokenShards(tmp_path / "data").check_vocabulary(gpt2)
    with pytest.raises(GptcoreError, match="was encoded with vocabulary"):
        TokenShards(tmp_path / "data").check_vocabulary(small_hf)
    shard = tmp_path / "data" / "train-00000.bin"
    shard.write_bytes(shard.read_bytes()[:-2])
    with pytest.raises(GptcoreError, match=r"train-00000\.bin should hold"):
        TokenShards(tmp_path / "data")


# ------------------------------------------------------------------------------------------
# validation split
# ------------------------------------------------------------------------------------------
def held_out(data: Path, gpt2, docs: list[str]) -> set[str]:
    val = segments(split_ids(data, "val"), 50256)
    return {d for d in docs if ordinary(gpt2, d) in val}


def test_val_split_by_document_is_deterministic_and_order_free(tmp_path, gpt2):
    docs = [f"doc {i} body\n" for i in range(20)]
    forward = write_docs(tmp_path / "f", docs)
    backward = write_docs(tmp_path / "b", docs[::-1])
    m = prepare(gpt2, [str(forward)], tmp_path / "d1")
    prepare(gpt2, [str(backward)], tmp_path / "d2")
    prepare(gpt2, [str(forward)], tmp_path / "d3", seed=1)
    assert m.splits["val"].documents == 2 and m.splits["train"].documents == 18
    assert held_out(tmp_path / "d1", gpt2, docs) == held_out(tmp_path / "d2", gpt2, docs)
    assert held_out(tmp_path / "d1", gpt2, docs) != held_out(tmp_path / "d3", gpt2, docs)


def test_duplicate_documents_land_on_the_same_side(tmp_path, gpt2):
    docs = ["same text\n"] * 3 + [f"unique {i}\n" for i in range(7)]
    m = prepare(gpt2, [str(write_docs(tmp_path / "s", docs))], tmp_path / "d", val_fraction=0.1)
    assert m.splits["val"].documents in (1, 3)
    assert m.splits["val"].documents == 3 or "same text\n" not in held_out(tmp_path / "d", gpt2, docs)


def test_single_document_tail_is_the_textbook_split(tmp_path, gpt2):
    text = corpus_path("the-verdict").read_text(encoding="utf-8")
    m = prepare(gpt2, ["the-verdict"], tmp_path / "d")
    assert m.split_by == "tail"
    cut = int(0.9 * len(text))  # the book's train_ratio 0.90 of the characters, each part encoded alone
    assert m.splits["train"].tokens == len(gpt2.encode(text[:cut]))
    assert m.splits["val"].tokens == len(gpt2.encode(text[cut:]))
    assert m.splits["train"].bytes == len(text[:cut].encode())


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(texts, min_size=1, max_size=8, unique=True), fraction=st.floats(0.05, 0.95),
       seed=st.integers(0, 3))
def test_split_documents_is_the_split_prepare_encodes(tmp_path_factory, gpt2, docs, fraction, seed):
    base = tmp_path_factory.mktemp("split")
    src = write_docs(base / "src", docs)
    parts = list(split_documents([str(src)], val_fraction=fraction, seed=seed))
    try:
        m = prepare(gpt2, [str(src)], base / "d", val_fraction=fraction, seed=seed, eot=None)
    except GptcoreError as e:  # an empty split (one tiny document): the helper agrees
        empty = str(e).split()[1]
        assert not "".join(t for s, _, t in parts if s == empty)
        return
    for split in ("train", "val"):
        text = "".join(t for s, _, t in parts if s == split)
        assert m.splits[split].bytes == len(text.encode("utf-8", errors="surrogatepass"))
        if len(docs) > 1:  # whole documents: the shards hold exactly these texts' ids
            assert split_ids(base / "d", split) == [i for s, _, t in parts if s == split
                                                    for i in ordinary(gpt2, t)]
    if len(docs) == 1:
        assert "".join(t for _, _, t in parts) == docs[0]


# ------------------------------------------------------------------------------------------
# reader: determinism, epochs, rank slices
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shards(tmp_path_factory, gpt2) -> TokenShards:
    base = tmp_path_factory.mktemp("reader")
    prepare(gpt2, ["the-verdict"], base / "data", shard_tokens=1000)  # windows span shard files
    return TokenShards(base / "data")


def test_read_across_shards(shards, gpt2):
    text = corpus_path("the-verdict").read_text(encoding="utf-8")
    ids = gpt2.encode(text[:int(0.9 * len(text))])
    assert len(shards.manifest.splits["train"].shards) == 5
    assert shards.read("train", 990, 30).tolist() == ids[990:1020]
    with pytest.raises(GptcoreError, match="outside split train"):
        shards.read("train", len(ids) - 2, 5)


@pytest.mark.parametrize("order", ["sequential", "random"])
def test_batches_are_deterministic_and_rank_slices_partition_the_global_batch(shards, order):
    kw = dict(context_length=16, seed=7, order=order)
    for step in (0, 5, 40):
        whole_x, whole_y = shards.batch_at("train", step, batch_size=6, **kw)
        again = TokenShards(shards.path).batch_at("train", step, batch_size=6, **kw)
        assert whole_x.equal(again[0]) and whole_y.equal(again[1])
        parts = [shards.batch_at("train", step, batch_size=2, rank=r, world_size=3, **kw) for r in range(3)]
        starts = [shards.window_starts("train", step, batch_size=2, rank=r, world_size=3, **kw) for r in range(3)]
        assert len({int(s) for part in starts for s in part}) == 6  # ranks disjoint
        assert torch_cat([p[0] for p in parts]).equal(whole_x)  # union = single-process batch
        assert torch_cat([p[1] for p in parts]).equal(whole_y)
        assert whole_y[:, :-1].equal(whole_x[:, 1:]) and whole_x.dtype == whole_x.new_tensor(0).dtype
    a = shards.batch_at("train", 1, batch_size=6, **kw)[0]
    b = shards.batch_at("train", 2, batch_size=6, **kw)[0]
    assert not a.equal(b)


def torch_cat(tensors):
    import torch

    return torch.cat(tensors)


def test_sequential_epoch_visits_every_window_once(shards):
    plan = shards.plan("train", batch_size=4, context_length=64)
    n = shards.tokens("train")
    assert plan.windows == (n - 65) // 64 + 1 and plan.steps_per_epoch == plan.windows // 4
    assert plan.tokens_per_step == 256 and plan.tokens_per_epoch == plan.steps_per_epoch * 256
    assert plan.steps(epochs=10) == 10 * plan.steps_per_epoch and plan.steps(tokens=257) == 2
    seen = [int(s) for step in range(plan.steps_per_epoch)
            for s in shards.window_starts("train", step, batch_size=4, context_length=64, seed=1)]
    assert len(seen) == len(set(seen)) == plan.steps_per_epoch * 4
    assert all(s % 64 == 0 and s + 65 <= n for s in seen)
    next_epoch = shards.window_starts("train", plan.steps_per_epoch, batch_size=4, context_length=64, seed=1)
    assert plan.epoch(plan.steps_per_epoch) == 1 and set(next_epoch.tolist()) <= set(range(0, n, 64))


def test_random_windows_stay_inside_the_split(shards):
    n = shards.tokens("val")
    starts = np.concatenate([shards.window_starts("val", s, batch_size=4, context_length=100,
                                                  order="random") for s in range(50)])
    assert starts.min() >= 0 and starts.max() + 101 <= n and len(set(starts.tolist())) > 20


# ------------------------------------------------------------------------------------------
# bad input: one line, nothing written
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1, float("nan")])
def test_val_fraction_outside_zero_one(tmp_path, gpt2, fraction):
    (tmp_path / "t.txt").write_text("text\n", encoding="utf-8")
    with pytest.raises(GptcoreError, match="val_fraction must be between 0 and 1"):
        prepare(gpt2, [str(tmp_path / "t.txt")], tmp_path / "d", val_fraction=fraction)
    assert listing(tmp_path) == ["t.txt"]


def test_corpus_too_short_for_one_sequence(tmp_path, gpt2):
    with pytest.raises(GptcoreError, match=r"the val split of .* has 534 tokens; one sequence of "
                                           r"context 1024 needs 1025"):
        prepare(gpt2, ["the-verdict"], tmp_path / "d", context_length=1024)
    assert listing(tmp_path) == []
    prepare(gpt2, ["the-verdict"], tmp_path / "ok")  # without context_length: the reader says it
    with pytest.raises(GptcoreError, match="has 534 tokens; one sequence of context 1024 needs 1025"):
        TokenShards(tmp_path / "ok").plan("val", batch_size=1, context_length=1024)


@pytest.mark.parametrize("content, message", [
    (b"", "would be empty"),
    (b"fine\n\xff\xfe bad", r"is not valid UTF-8: byte 0xff at byte offset 5"),
    (b"abc\x00def", "looks binary: NUL byte at byte offset 3"),
    ("a" * 10 + "é", None),  # a 2-byte character cut by the 1 MiB read is not an error
])
def test_bad_text_files(tmp_path, gpt2, content, message):
    path = tmp_path / "t.txt"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    if message is None:
        prepare(gpt2, [str(path)], tmp_path / "d")
        return
    with pytest.raises(GptcoreError, match=message):
        prepare(gpt2, [str(path)], tmp_path / "d")
    assert listing(tmp_path) == ["t.txt"]


def test_utf8_offsets_across_read_blocks(tmp_path, gpt2, monkeypatch):
    import gptcore.data as data

    monkeypatch.setattr(data, "BLOCK_BYTES", 3)
    text = "ab吾輩は猫\nである😀.\n" * 5
    path = tmp_path / "t.txt"
    path.write_text(text, encoding="utf-8")
    prepare(gpt2, [str(path)], tmp_path / "d", chunk_chars=2)
    cut = int(0.9 * len(text))
    assert split_ids(tmp_path / "d", "train") == gpt2.encode(text[:cut])
    raw = text.encode()[:40] + b"\xe5\x90" + text.encode()[40:]
    with pytest.raises(UnicodeDecodeError) as reference:
        raw.decode("utf-8")
    path.write_bytes(raw)
    with pytest.raises(GptcoreError, match=f"byte 0x{raw[reference.value.start]:02x} at byte offset "
                                           f"{reference.value.start}$"):
        prepare(gpt2, [str(path)], tmp_path / "e")


@pytest.mark.parametrize("line, message", [
    ("not json", "line 2 is not JSON"),
    ('{"txt": "x"}', r"line 2 has no 'text' field \(fields: txt\)"),
    ('["text"]', r"line 2: expected a JSON object"),
    ('{"text": "\\ud800"}', r"line 2: field 'text' holds a lone surrogate U\+D800"),
])
def test_bad_jsonl(tmp_path, gpt2, line, message):
    path = tmp_path / "c.jsonl"
    path.write_text('{"text": "ok"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(GptcoreError, match=message):
        prepare(gpt2, [str(path)], tmp_path / "d")
    assert listing(tmp_path) == ["c.jsonl"]


def test_missing_source_and_stdin(tmp_path, gpt2):
    with pytest.raises(tokenkit.TokenkitError, match="nope.txt not found"):
        prepare(gpt2, [str(tmp_path / "nope.txt")], tmp_path / "d")
    with pytest.raises(GptcoreError, match="stdin"):
        prepare(gpt2, ["-"], tmp_path / "d")
    with pytest.raises(GptcoreError, match="no data sources"):
        prepare(gpt2, [], tmp_path / "d")
    assert listing(tmp_path) == []


def test_reader_bad_arguments(shards):
    for kwargs, message in [(dict(batch_size=0), "must be positive"),
                            (dict(rank=3, world_size=3), "rank 3 is outside world size 3"),
                            (dict(order="zigzag"), "order must be"),
                            (dict(batch_size=400), "fewer than one global batch of 400")]:
        args = dict(batch_size=2, context_length=16) | kwargs
        with pytest.raises(GptcoreError, match=message):
            shards.batch_at("train", 0, **args)
    with pytest.raises(GptcoreError, match="step must be >= 0"):
        shards.batch_at("train", -1, batch_size=2, context_length=16)
    with pytest.raises(GptcoreError, match="no split 'test'"):
        shards.tokens("test")


def _write_formats(directory: Path, docs: list[str], field: str = "text") -> dict[str, Path]:
    """The same documents as .jsonl, .jsonl.gz, .jsonl.zst and .parquet (one per record)."""
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq
    import zstandard

    lines = "".join(json.dumps({field: d, "id": i}) + "\n" for i, d in enumerate(docs)).encode("utf-8")
    out = {"jsonl": directory / "c.jsonl", "jsonl.gz": directory / "c.jsonl.gz",
           "jsonl.zst": directory / "c.jsonl.zst", "parquet": directory / "c.parquet"}
    out["jsonl"].write_bytes(lines)
    out["jsonl.gz"].write_bytes(gzip.compress(lines))
    out["jsonl.zst"].write_bytes(zstandard.ZstdCompressor().compress(lines))
    pq.write_table(pa.table({field: docs, "id": list(range(len(docs)))}), out["parquet"], row_group_size=2)
    return out


def test_every_record_format_gives_the_same_shards(tmp_path, gpt2):
    docs = [f"document {i}: " + "the cat sat on the mat. " * (i + 1) + "吾輩は猫である 🥺" for i in range(9)]
    formats = _write_formats(tmp_path, docs, field="body")
    shards = {}
    for kind, path in formats.items():
        m = prepare(gpt2, [str(path)], tmp_path / f"out-{kind}", text_field="body")
        assert m.sources[0].format == kind and m.sources[0].documents == 9
        assert m.sources[0].text_field == "body"
        shards[kind] = (split_ids(tmp_path / f"out-{kind}", "train"), split_ids(tmp_path / f"out-{kind}", "val"))
    assert len(set(map(str, shards.values()))) == 1  # identical ids whatever the container
    train, val = shards["jsonl"]
    eot = gpt2.specials[EOT]
    assert sorted(map(tuple, segments(train, eot) + segments(val, eot))) == \
        sorted(tuple(ordinary(gpt2, d)) for d in docs)
    with pytest.raises(GptcoreError, match=r"c.parquet has no column 'text' \(columns: body, id\)"):
        prepare(gpt2, [str(formats["parquet"])], tmp_path / "wrong-field")
    assert not (tmp_path / "wrong-field").exists()


def test_a_compressed_text_file_is_one_document(tmp_path, gpt2):
    import gzip

    text = "One long document.\nIts second line.\n" * 200
    (tmp_path / "book.txt").write_text(text, encoding="utf-8")
    (tmp_path / "book.txt.gz").write_bytes(gzip.compress(text.encode("utf-8")))
    plain = prepare(gpt2, [str(tmp_path / "book.txt")], tmp_path / "plain")
    packed = prepare(gpt2, [str(tmp_path / "book.txt.gz")], tmp_path / "packed")
    assert packed.sources[0].format == "text.gz" and packed.split_by == "tail"
    assert split_ids(tmp_path / "packed", "train") == split_ids(tmp_path / "plain", "train")
    assert split_ids(tmp_path / "packed", "val") == split_ids(tmp_path / "plain", "val")
    assert plain.splits == packed.splits
