"""bench: the grid's numbers, agreement with `tokenkit report`, files, plots and errors."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tokenkit.helpers import MIXED_TEXT
from tokenkit import metrics
from tokenkit.bench import article_1, group_units, run_bench, split_units
from tokenkit.cli import main
from tokenkit.corpora import find_corpus
from tokenkit.errors import TokenkitError
from tokenkit.backends.tiktoken import GPT2_PATTERN
from tokenkit.training import train_from_texts


@pytest.fixture(scope="module")
def vocab_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    hf = root / "mixed-hf"
    train_from_texts([MIXED_TEXT], 500).vocabulary.save(hf)
    sp = root / "mixed-sp"
    train_from_texts([MIXED_TEXT], 600, backend="sentencepiece").vocabulary.save(sp)
    text = root / "mixed.txt"
    text.write_text(MIXED_TEXT, encoding="utf-8")
    return hf, sp, text


def test_bench_numbers_equal_tokenkit_report(vocab_dirs):
    hf, sp, text = vocab_dirs
    result = run_bench([str(hf), str(sp)], [str(text)])
    assert result.vocabs == ["mixed-hf", "mixed-sp"]
    for vdir in (hf, sp):
        out = CliRunner().invoke(main, ["report", str(vdir), "--file", str(text), "--json"])
        assert out.exit_code == 0, out.output
        rep = json.loads(out.output)
        row = result.row(vdir.name, str(text))
        assert (row.tokens, row.utf8_bits, row.bpe_bits, row.bits_per_token, row.vocab_size) == (
            rep["n_tokens"], rep["utf8_bits"], rep["bpe_bits"], rep["bits_per_token"],
            rep["vocab_size"])
        assert row.compression_ratio == pytest.approx(rep["ratio"])
        assert row.bytes_per_token == pytest.approx(rep["bytes_per_token"])
        assert row.chars_per_token == pytest.approx(rep["chars_per_token"])
    shown = result._repr_html_()  # a notebook cell: the table, then the bench plots inlined
    assert shown.count("<tr>") == 1 + len(result.rows) and "mixed-sp" in shown
    assert shown.count("data:image/png;base64,") == 2  # bits and compression (no parity here)


def test_bench_row_metrics_follow_their_definitions(vocab_dirs):
    hf, _, text = vocab_dirs
    from tokenkit.specs import load_vocabulary

    row = run_bench([str(hf)], [str(text)]).rows[0]
    vocab = load_vocabulary(str(hf))
    ids = vocab.encode(MIXED_TEXT)
    counts = metrics.unigram_counts(ids)
    assert row.fast_path and row.batch_counts_match
    assert row.entropy_bits_per_token == pytest.approx(metrics.shannon_entropy(counts))
    assert row.entropy_compression_ratio == pytest.approx(
        8 * row.utf8_bytes / (len(ids) * row.entropy_bits_per_token))
    assert row.renyi_efficiency == pytest.approx(metrics.renyi_efficiency(counts, 2.5, vocab.vocab_size))
    assert row.fertility == pytest.approx(len(ids) / len(MIXED_TEXT.split()))
    assert row.round_trip_fidelity == 1.0 and row.lost_characters == 0
    assert row.lines == len(MIXED_TEXT.splitlines())
    assert row.encode_mb_s > 0 and row.encode_batch_mb_s > 0


def test_lossy_vocabulary_reports_lost_characters(tmp_path):
    observed = tmp_path / "observed"
    train_from_texts(["plain ascii text only\n" * 50], 300, alphabet="observed").vocabulary.save(observed)
    text = tmp_path / "t.txt"
    text.write_text("plain text\nnaïve café\n", encoding="utf-8")
    row = run_bench([str(observed)], [str(text)]).rows[0]
    assert row.exact_lines == 1 and row.lines == 2
    assert row.lost_characters >= 2 and set("ïé") <= set(row.lost_examples)


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from(list("ab \n\t.é吾1'")), max_size=80))
def test_batched_chunks_never_change_token_counts(text):
    import tiktoken

    enc = _gpt2_like()
    whole = enc.encode_ordinary(text)
    units = split_units(text)
    assert "".join(units) == text
    assert sum(len(enc.encode_ordinary(u)) for u in units) == len(whole)
    assert "".join(group_units(units, 3)) == text
    assert isinstance(enc, tiktoken.Encoding)


def _gpt2_like():
    import tiktoken

    from tokenkit.convert import tiktoken_form
    from tests.tokenkit.helpers import mixed_vocab

    return tiktoken.Encoding("x", pat_str=GPT2_PATTERN,
                             mergeable_ranks=tiktoken_form(mixed_vocab())._mergeable_ranks,
                             special_tokens={})


def test_article_1_adds_english_reference():
    texts = article_1([("de", "a"), ("de", "b"), ("de", "c"), ("ja", "x")])
    assert texts["de"] == "a\nb" and texts["ja"] == "x"
    assert texts["en"].startswith("All human beings are born free")


@pytest.mark.skipif(find_corpus("multilingual") is None, reason="corpus multilingual absent")
def test_bench_command_files_plots_and_parity(vocab_dirs, tmp_path):
    hf, _, _ = vocab_dirs
    runner = CliRunner()
    res = runner.invoke(main, ["bench", str(hf), "tiktoken:cl100k_base", "--corpus", "multilingual",
                                        "--csv", str(tmp_path / "b.csv"), "--json",
                                        str(tmp_path / "b.json"), "--plot", str(tmp_path / "b.png"),
                                        "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "tokenkit bench" in res.output and "parity" in res.output
    rows = list(csv.DictReader((tmp_path / "b.csv").open(encoding="utf-8")))
    assert len(rows) == 2 and float(rows[1]["parity_ja"]) > 1.0
    assert float(rows[0]["parity_en"]) == 1.0
    data = json.loads((tmp_path / "b.json").read_text(encoding="utf-8"))
    assert data["parity"]["tiktoken:cl100k_base"]["en"] == 1.0
    tsv = find_corpus("multilingual").read_text(encoding="utf-8").splitlines()
    languages = {line.split("\t")[0] for line in tsv if line}
    assert set(data["parity"]["mixed-hf"]) == languages | {"en"}
    for name in ("b.png", "b-compression.png", "b-parity.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_errors_are_one_line(vocab_dirs, tmp_path):
    hf, _, _ = vocab_dirs
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    with pytest.raises(TokenkitError, match="is empty"):
        run_bench([str(hf)], [str(empty)])
    runner = CliRunner()
    for args, message in [
        ([str(hf), "--corpus", str(empty)], f"Error: corpus {empty} is empty"),
        (["tiktoken:nope", "--corpus", str(empty)], f"Error: corpus {empty} is empty"),
        ([str(hf), "--corpus", "no-such-file.txt"], "Error: file no-such-file.txt not found"),
    ]:
        res = runner.invoke(main, ["bench", *args, "--no-progress"])
        assert res.exit_code != 0
        lines = res.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(message), res.output
    text = tmp_path / "t.txt"
    text.write_text("hello\n", encoding="utf-8")
    res = runner.invoke(main, ["bench", "tiktoken:nope", "--corpus", str(text), "--no-progress"])
    assert res.exit_code != 0
    assert res.output.strip().splitlines() == [res.output.strip()]
    assert "unknown tiktoken encoding 'nope'" in res.output


def test_round_trip_is_the_same_when_implied_or_checked_line_by_line(vocab_dirs, tmp_path, monkeypatch):
    """The per-line pass is skipped only where the whole text's bytes imply it (byte_complete):
    every column of every row equals the line-by-line answer, a lossy vocabulary included."""
    import tokenkit.bench as bench

    lossy = tmp_path / "observed"
    train_from_texts(["plain lowercase text only\n" * 20], 300,
                     alphabet="observed").vocabulary.save(lossy)
    corpus = tmp_path / "c.txt"
    corpus.write_text(MIXED_TEXT + "\nCapitals and 🥺 the lossy one drops\n", encoding="utf-8")
    specs = [str(vocab_dirs[0]), str(vocab_dirs[1]), str(lossy)]
    fast = run_bench(specs, [str(corpus)])
    monkeypatch.setattr(bench, "byte_complete", lambda vocab: None)
    slow = run_bench(specs, [str(corpus)])
    timing = {"encode_seconds", "encode_mb_s", "encode_batch_seconds", "encode_batch_mb_s"}
    strip = [{k: v for k, v in vars(r).items() if k not in timing} for r in fast.rows]
    assert strip == [{k: v for k, v in vars(r).items() if k not in timing} for r in slow.rows]
    assert any(r.lost_characters for r in slow.rows)  # the lossy one really was checked


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60).filter(lambda t: t.isprintable() or "\n" in t))
def test_a_byte_complete_vocabulary_gives_back_every_line(text):
    """The premise of skipping the per-line pass: any text, line by line, comes back exactly."""
    from tokenkit.bench import byte_complete

    vocab = _trained_byte_level()
    assert byte_complete(vocab) is not None
    for line in text.splitlines(keepends=True):
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            continue  # a lone surrogate is refused, not encoded
        assert vocab.decode(vocab.encode(line)) == line


_BYTE_LEVEL: list = []


def _trained_byte_level():
    if not _BYTE_LEVEL:
        _BYTE_LEVEL.append(train_from_texts([MIXED_TEXT], 400).vocabulary)
    return _BYTE_LEVEL[0]
