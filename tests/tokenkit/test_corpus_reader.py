"""tokenkit.corpusreader: every format and compression streams the same documents back, bad
records are one line naming file and record, memory stays bounded, and ``tokenkit train`` /
``bench`` / ``report --file`` read these corpora."""

from __future__ import annotations

import gzip
import json
import random
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenkit import corpusreader
from tokenkit.cli import main
from tokenkit.corpusreader import (
    Corpus,
    detect_format,
    expand_corpus,
    open_corpus,
    read_corpus_text,
)
from tokenkit.errors import TokenkitError
from tokenkit.training import TrainOptions, train_corpus, train_from_texts

from tests.disk import snapshot
from tests.tokenkit.helpers import MIXED_TEXT

DOCS = ["First document.\nIt has two lines.\n", "吾輩は猫である。名前はまだ無い。", "emoji 🥺 and é\r\n",
        "  spaces   and\ttabs  ", "last one, no newline"]
COMPRESSIONS = {"": lambda b: b, ".gz": gzip.compress, ".zst": lambda b: zstandard.ZstdCompressor().compress(b)}
# documents as Unicode text: no lone surrogates (JSON could carry them, UTF-8 cannot)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


def jsonl_bytes(docs: list[str], field: str = "text", **extra: object) -> bytes:
    return "".join(json.dumps({field: d, **extra}, ensure_ascii=False) + "\n" for d in docs).encode()


def write_jsonl(path: Path, docs: list[str], field: str = "text") -> Path:
    suffix = path.name[path.name.index(".jsonl") + len(".jsonl"):]
    path.write_bytes(COMPRESSIONS[suffix](jsonl_bytes(docs, field)))
    return path


def write_parquet(path: Path, docs: list[str], field: str = "text", **kwargs: object) -> Path:
    pq.write_table(pa.table({"id": pa.array(range(len(docs)), pa.int64()),
                             field: pa.array(docs, pa.string())}), path, **kwargs)
    return path


def texts(corpus: Corpus) -> list[str]:
    return ["".join(pieces) for _, _, pieces in corpus.documents()]


# -- formats x compressions ---------------------------------------------------------------------
@pytest.mark.parametrize("suffix", ["", ".gz", ".zst"])
def test_jsonl_round_trip_each_compression(tmp_path: Path, suffix: str) -> None:
    path = write_jsonl(tmp_path / f"docs.jsonl{suffix}", DOCS)
    corpus = open_corpus([str(path)])
    assert texts(corpus) == DOCS
    assert [p.record for p in corpus.pieces()] == [1, 2, 3, 4, 5]  # 1-based line numbers
    [stats] = corpus.describe()
    assert stats["documents"] == 5 and stats["bytes"] == path.stat().st_size
    assert stats["text_bytes"] == sum(len(d.encode()) for d in DOCS)
    assert corpus.bytes_read == corpus.total_bytes == path.stat().st_size


@pytest.mark.parametrize("codec", ["none", "snappy", "gzip", "zstd"])
def test_parquet_round_trip_each_codec(tmp_path: Path, codec: str) -> None:
    path = write_parquet(tmp_path / "docs.parquet", DOCS * 700, compression=codec, row_group_size=1000)
    corpus = open_corpus([str(path)])
    assert texts(corpus) == DOCS * 700
    assert pq.ParquetFile(path).num_row_groups == 4  # the row groups are walked one by one
    pieces = list(corpus.pieces())
    assert [p.record for p in pieces] == list(range(1, 3501))  # 1-based rows across row groups
    assert corpus.bytes_read == path.stat().st_size
    assert corpus.describe()[0]["characters"] == sum(map(len, DOCS)) * 700


@pytest.mark.parametrize("suffix", ["", ".gz", ".zst"])
def test_text_file_is_one_document_each_compression(tmp_path: Path, suffix: str) -> None:
    text = MIXED_TEXT * 50
    path = tmp_path / f"book.txt{suffix}"
    path.write_bytes(COMPRESSIONS[suffix](text.encode()))
    corpus = open_corpus([str(path)])
    assert texts(corpus) == [text]
    assert read_corpus_text(str(path)).text == text
    [stats] = corpus.describe()
    assert stats["lines"] == text.count("\n") + (not text.endswith("\n"))


def test_every_format_gives_the_plain_texts_documents(tmp_path: Path) -> None:
    """The same documents in every container read back identically (and train identically)."""
    docs = [MIXED_TEXT[i:i + 97] for i in range(0, len(MIXED_TEXT), 97)] * 3
    paths = [write_jsonl(tmp_path / f"d.jsonl{s}", docs) for s in COMPRESSIONS]
    paths.append(write_parquet(tmp_path / "d.parquet", docs))
    streams = [texts(open_corpus([str(p)])) for p in paths]
    assert all(s == docs for s in streams)
    options = TrainOptions(vocab_size=300)
    reference = train_from_texts(docs, 300).vocabulary
    for p in paths:
        vocab = train_corpus(open_corpus([str(p)]), options).vocabulary
        assert vocab.encode(MIXED_TEXT) == reference.encode(MIXED_TEXT), p.name


def test_directories_recursive_sorted_hidden_skipped(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    (root / "b" / "deep").mkdir(parents=True)
    (root / "a.txt").write_text("a-text", encoding="utf-8")
    write_jsonl(root / "b" / "deep" / "z.jsonl.zst", ["z1", "z2"])
    write_parquet(root / "b" / "c.parquet", ["c1"])
    (root / "b" / ".hidden.txt").write_text("never", encoding="utf-8")
    (root / ".git").mkdir()
    (root / ".git" / "x.txt").write_text("never", encoding="utf-8")
    corpus = open_corpus([str(root)])
    assert [Path(s.name).relative_to(root).as_posix() for s in corpus.sources] == \
        ["a.txt", "b/c.parquet", "b/deep/z.jsonl.zst"]
    assert [s.kind for s in corpus.sources] == ["text", "parquet", "jsonl.zst"]
    assert texts(corpus) == ["a-text", "c1", "z1", "z2"]
    assert texts(corpus) == ["a-text", "c1", "z1", "z2"]  # a second pass reads it again


def test_detect_format() -> None:
    assert detect_format("X.JSONL.GZ") == ("jsonl", "gzip")
    assert detect_format("x.ndjson.zst") == ("jsonl", "zstd")
    assert detect_format("notes.md") == ("text", None)
    with pytest.raises(TokenkitError, match="Parquet compresses internally"):
        detect_format("rows.parquet.zst")


def test_text_field_chooses_the_key_and_column(tmp_path: Path) -> None:
    j = write_jsonl(tmp_path / "d.jsonl", DOCS, field="body")
    p = write_parquet(tmp_path / "d.parquet", DOCS, field="body")
    for path in (j, p):
        assert texts(open_corpus([str(path)], text_field="body")) == DOCS
        with pytest.raises(TokenkitError, match=r"'text'.*--text-field"):
            texts(open_corpus([str(path)]))


# -- properties ---------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(TEXT, max_size=12), kind=st.sampled_from(["jsonl", "jsonl.gz", "jsonl.zst", "parquet"]))
def test_documents_come_back_exactly(tmp_path: Path, docs: list[str], kind: str) -> None:
    path = tmp_path / f"docs.{kind}"
    if kind == "parquet":
        write_parquet(path, docs)
    else:
        write_jsonl(path, docs)
    corpus = open_corpus([str(path)])
    assert texts(corpus) == docs
    bound = corpus.max_text_bytes()
    assert bound is not None and bound >= sum(len(d.encode()) for d in docs)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.sampled_from("ab \n\r😀é吾"), max_size=300), block=st.integers(1, 9),
       compressed=st.booleans())
def test_text_pieces_rejoin_and_end_at_line_breaks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   text: str, block: int, compressed: bool) -> None:
    """Tiny blocks cut multi-byte characters and lines everywhere: the pieces still rejoin to
    the text, each but the last ends at a line break, and each line stays whole."""
    monkeypatch.setattr(corpusreader, "BLOCK_BYTES", block)
    path = tmp_path / ("t.txt.gz" if compressed else "t.txt")
    path.write_bytes(gzip.compress(text.encode()) if compressed else text.encode())
    pieces = list(open_corpus([str(path)]).pieces())
    assert "".join(p.text for p in pieces) == text
    assert [p.end for p in pieces] == [False] * (len(pieces) - 1) + [True] * bool(pieces)
    assert all(p.text.endswith("\n") for p in pieces[:-1])
    assert [line for p in pieces for line in p.text.splitlines()] == text.splitlines()


def test_a_giant_line_is_cut_before_a_space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(corpusreader, "BLOCK_BYTES", 64)
    monkeypatch.setattr(corpusreader, "MAX_PIECE_CHARS", 200)
    line = " ".join(f"word{i}" for i in range(400))
    (tmp_path / "long.txt").write_text(line, encoding="utf-8")
    pieces = [p.text for p in open_corpus([str(tmp_path / "long.txt")]).pieces()]
    assert "".join(pieces) == line and len(pieces) > 5
    assert all(p.startswith(" ") for p in pieces[1:]) and max(map(len, pieces)) < 400


# -- bad records: one line naming the file and the record --------------------------------------
BAD_JSONL: list[tuple[str, bytes, str]] = [
    ("not-json", b'{"text": "ok"}\n{"text": oops}\n', "line 2 is not JSON"),
    ("truncated", b'{"text": "ok"}\n\n{"text": "a', "line 3 is not JSON"),
    ("not-object", b'["a"]\n', "line 1: expected a JSON object"),
    ("missing", b'{"text": "ok"}\n{"body": "x"}\n', "line 2 has no 'text' field (fields: body)"),
    ("number", b'{"text": 5}\n', "line 1: field 'text' is int, not a string"),
    ("null", b'{"text": null}\n', "line 1: field 'text' is null"),
    ("bad-utf8", b'{"text": "ok"}\n{"text": "\xff"}\n', "line 2 is not valid UTF-8: byte 0xff"),
    ("surrogate", b'{"text": "ok"}\n{"text": "a\\ud800b"}\n', "line 2: field 'text' holds a lone surrogate U+D800"),
    ("low-surrogate", b'{"text": "\\udc00"}\n', "line 1: field 'text' holds a lone surrogate U+DC00"),
    ("huge-int", b'{"text": "x", "n": ' + b"9" * 5000 + b"}\n", "line 1 is not usable JSON"),
    ("deep", b'{"text": "x", "n": ' + b"[" * 100000 + b"]" * 100000 + b"}\n", "line 1 is not usable JSON"),
]


@pytest.mark.parametrize("suffix", ["", ".gz", ".zst"])
@pytest.mark.parametrize("case,data,needle", BAD_JSONL, ids=[c[0] for c in BAD_JSONL])
def test_bad_jsonl_record_is_one_line(tmp_path: Path, suffix: str, case: str, data: bytes,
                                      needle: str) -> None:
    path = tmp_path / f"{case}.jsonl{suffix}"
    path.write_bytes(COMPRESSIONS[suffix](data))
    with pytest.raises(TokenkitError) as e:
        list(open_corpus([str(path)]).pieces())
    message = str(e.value)
    assert "\n" not in message and message.startswith(str(path)) and needle in message, message


def test_jsonl_byte_order_mark_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"text": "a"}\r\n\r\n{"text": "b"}\r\n')
    pieces = list(open_corpus([str(path)]).pieces())
    assert [(p.text, p.record) for p in pieces] == [("a", 1), ("b", 3)]


def test_replace_mode_keeps_going(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"text": "a\\ud800b"}\n{"text": "\xffz"}\n')
    assert texts(open_corpus([str(path)], errors="replace")) == ["a\ufffdb", "\ufffdz"]


def test_bad_parquet_values_name_their_row(tmp_path: Path) -> None:
    nulls = tmp_path / "nulls.parquet"
    pq.write_table(pa.table({"text": ["a", "b", None]}), nulls, row_group_size=2)
    with pytest.raises(TokenkitError, match=r"nulls.parquet row 3: column is null"):
        list(open_corpus([str(nulls)]).pieces())
    binary = tmp_path / "binary.parquet"
    pq.write_table(pa.table({"text": pa.array([b"ok", b"fine", b"\xc3("], pa.binary())}), binary)
    with pytest.raises(TokenkitError, match=r"binary.parquet row 3 is not valid UTF-8: byte 0xc3"):
        list(open_corpus([str(binary)]).pieces())
    assert texts(open_corpus([str(binary)], errors="replace"))[:2] == ["ok", "fine"]
    numbers = tmp_path / "numbers.parquet"
    pq.write_table(pa.table({"text": [1, 2]}), numbers)
    with pytest.raises(TokenkitError, match=r"numbers.parquet column 'text' holds int64, not text"):
        list(open_corpus([str(numbers)]).pieces())
    fake = tmp_path / "fake.parquet"
    fake.write_bytes(b"PAR1 not really")
    with pytest.raises(TokenkitError, match=r"fake.parquet is not a readable Parquet file"):
        list(open_corpus([str(fake)]).pieces())


@pytest.mark.parametrize("suffix,damage", [(".gz", lambda b: b[: len(b) // 2]),
                                           (".gz", lambda b: b"\x1f\x8b" + b"\x00" * 30),
                                           (".zst", lambda b: b[: len(b) // 2]),
                                           (".zst", lambda b: b[:8] + b"\xff" * 40)])
def test_damaged_compressed_files_are_one_line(tmp_path: Path, suffix: str,
                                               damage: Callable[[bytes], bytes]) -> None:
    good = COMPRESSIONS[suffix](jsonl_bytes(DOCS * 200))
    path = tmp_path / f"broken.jsonl{suffix}"
    path.write_bytes(damage(good))
    with pytest.raises(TokenkitError) as e:
        list(open_corpus([str(path)]).pieces())
    assert "\n" not in str(e.value) and str(path) in str(e.value)


def test_bad_text_field_option() -> None:
    for bad in ("", "\ud800"):
        with pytest.raises(TokenkitError, match="--text-field"):
            Corpus([], text_field=bad)


# -- streaming: progress and bounded memory -----------------------------------------------------
def _big_jsonl_gz(path: Path, n_bytes: int) -> int:
    """A ~``n_bytes`` (uncompressed) JSONL corpus of varied words; returns its text bytes."""
    rng = random.Random(0)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
             for _ in range(5000)]
    total = 0
    with gzip.open(path, "wb", compresslevel=1) as f:
        while total < n_bytes:
            line = json.dumps({"text": " ".join(rng.choices(words, k=150)), "id": total}).encode() + b"\n"
            f.write(line)
            total += len(line)
    return total


def test_reading_is_streamed_not_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl.gz"
    raw = _big_jsonl_gz(path, 24 << 20)
    seen: list[tuple[int, int | None]] = []
    corpus = open_corpus([str(path)], on_progress=lambda done, total: seen.append((done, total)))
    tracemalloc.start()
    try:
        n_chars = sum(len(t) for t in corpus.texts())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n_chars > 20 << 20
    assert peak < raw / 5, f"peak {peak:,} bytes while reading {raw:,}: not streamed"
    size = path.stat().st_size
    dones = [d for d, _ in seen]
    assert len(seen) > 5 and dones == sorted(dones) and seen[-1] == (size, size)
    assert all(t == size for _, t in seen)  # the ETA is against compressed bytes on disk


def test_training_holds_no_corpus_in_python(tmp_path: Path) -> None:
    """``train_corpus`` streams: Python-side memory stays below the corpus (the trainer's own
    counts live in Rust, outside tracemalloc); listing the texts first would hold all 8 MB."""
    path = tmp_path / "train.jsonl.gz"
    raw = _big_jsonl_gz(path, 8 << 20)
    small = write_jsonl(tmp_path / "warm.jsonl.gz", DOCS)
    train_corpus(open_corpus([str(small)]), TrainOptions(vocab_size=300))  # imports done first
    tracemalloc.start()
    try:
        result = train_corpus(open_corpus([str(path)]), TrainOptions(vocab_size=300))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.summary["corpus_bytes"] > 6 << 20
    assert peak < raw / 2, f"peak {peak:,} bytes while training on {raw:,}"


def test_training_consumes_an_iterator_once(tmp_path: Path) -> None:
    """A generator is trained on without being listed first: it is consumed exactly once, and
    gives the vocabulary the same texts as a list give."""
    docs = [MIXED_TEXT[i:i + 120] for i in range(0, len(MIXED_TEXT), 120)]
    pulled = []

    def stream():
        for d in docs:
            pulled.append(d)
            yield d

    from_stream = train_from_texts(stream(), 320)
    assert pulled == docs
    from_list = train_from_texts(docs, 320)
    assert from_stream.vocabulary.encode(MIXED_TEXT) == from_list.vocabulary.encode(MIXED_TEXT)
    assert from_stream.summary["corpus_bytes"] == sum(len(d.encode()) for d in docs)


# -- command line -------------------------------------------------------------------------------
def run(*args: str, **kwargs: object):
    return CliRunner().invoke(main, list(args), **kwargs)


def test_cli_train_on_jsonl_zst_and_parquet(tmp_path: Path) -> None:
    docs = [MIXED_TEXT[i:i + 80] for i in range(0, len(MIXED_TEXT), 80)]
    j = write_jsonl(tmp_path / "d.jsonl.zst", docs, field="body")
    p = write_parquet(tmp_path / "d.parquet", docs, field="body")
    ids = []
    for src, out in ((j, "vj"), (p, "vp")):
        r = run("train", "--vocab", "300", str(src), "--text-field", "body", "-o", str(tmp_path / out))
        assert r.exit_code == 0, r.output
        assert f"{sum(len(d.encode()) for d in docs):,} bytes" in r.output
        meta = json.loads((tmp_path / out / "tokenkit.json").read_text(encoding="utf-8"))
        [source] = meta["corpus"]
        assert source["documents"] == len(docs) and source["bytes"] == src.stat().st_size
        enc = json.loads(run("encode", str(tmp_path / out), "--text", MIXED_TEXT).output)
        ids.append(enc["ids"])
    assert ids[0] == ids[1]
    r = run("report", str(tmp_path / "vj"), "--file", str(p), "--text-field", "body", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["utf8_bytes"] == len("\n".join(docs).encode())
    r = run("bench", str(tmp_path / "vj"), "--corpus", str(j), "--text-field", "body", "--no-progress")
    assert r.exit_code == 0 and "d.jsonl.zst" in r.output


BAD_CLI = [
    ("surrogate", "d.jsonl", b'{"text": "fine"}\n{"text": "x\\udfffy"}\n', "line 2: field 'text' holds a lone surrogate"),
    ("bad-json-zst", "d.jsonl.zst", zstandard.ZstdCompressor().compress(b'{"text": "a"}\n{"text"\n'),
     "line 2 is not JSON"),
    ("missing-field", "d.jsonl.gz", gzip.compress(b'{"body": "a"}\n'), "line 1 has no 'text' field"),
    ("no-column", "d.parquet", None, "has no column 'text'"),
    ("gz-parquet", "d.parquet.gz", b"x", "Parquet compresses internally"),
    ("truncated-gz", "d.txt.gz", gzip.compress(MIXED_TEXT.encode() * 20)[:200], "is not valid gzip data"),
]


@pytest.mark.parametrize("command", ["train", "report", "bench"])
@pytest.mark.parametrize("case,name,data,needle", BAD_CLI, ids=[c[0] for c in BAD_CLI])
def test_cli_bad_corpus_is_one_line_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       command: str, case: str, name: str,
                                                       data: bytes | None, needle: str) -> None:
    vocab = tmp_path / "vocab"
    train_from_texts([MIXED_TEXT], 300).vocabulary.save(vocab)
    work = tmp_path / "work"
    work.mkdir()
    if data is None:
        write_parquet(work / name, ["a", "b"], field="body")
    else:
        (work / name).write_bytes(data)
    monkeypatch.chdir(work)
    argv = {"train": ["train", "--vocab", "300", name, "-o", "out"],
            "report": ["report", str(vocab), "--file", name],
            "bench": ["bench", str(vocab), "--corpus", name, "--no-progress", "--csv", "b.csv"]}[command]
    before = snapshot(work, vocab)  # (the output check's probe touches work's own mtime)
    result = run(*argv)
    assert result.exit_code not in (0, None), result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"Error: {name}") and needle in lines[0], lines
    assert snapshot(work, vocab) == before
    assert not (work / "out").exists()


def test_absurd_vocab_is_capped_even_from_stdin(tmp_path: Path) -> None:
    """stdin has no size to bound the vocabulary by: the trainer still must not allocate for
    a billion tokens (HF's trainer aborts the process)."""
    r = run("train", "--vocab", "1000000000", "-", "-o", str(tmp_path / "v"), input="hello world hello\n")
    assert r.exit_code == 0, r.output
    assert "more than this corpus can reach" in r.stderr
    # a compressed file's bound is its worst-case expansion (here ~3 GB of text): capped too
    path = write_jsonl(tmp_path / "small.jsonl.zst", ["hello world hello"] * 3)
    r = run("train", "--vocab", "1000000000", str(path), "-o", str(tmp_path / "z"))
    assert r.exit_code == 0 and "more than this corpus can reach" in r.stderr, r.output


def test_expand_corpus_sizes(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl.gz", DOCS)
    [source] = expand_corpus([str(path)])
    assert (source.format, source.compression, source.size) == ("jsonl", "gzip", path.stat().st_size)
