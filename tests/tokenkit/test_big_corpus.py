"""bench/make_big_corpus.py: deterministic, readable by the corpus reader in every format it
writes, and its vocabulary keeps growing where repeating the shipped corpora would not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tokenkit.corpora import find_corpus
from tokenkit.corpusreader import open_corpus

pytestmark = pytest.mark.skipif(
    any(find_corpus(n) is None for n in ("tinyshakespeare", "taylorswift", "the-verdict", "wagahai",
                                         "multilingual")),
    reason="the shipped corpora (../shared/corpora) are not here")


def test_big_corpus_is_deterministic_readable_and_growing(tmp_path: Path) -> None:
    from bench.make_big_corpus import build, parse_size

    size = parse_size("1MB")
    a = build(size, tmp_path / "a", seed=7, formats=("txt", "jsonl.zst", "parquet"), quiet=True)
    b = build(parse_size("200KB"), tmp_path / "b", seed=7, formats=("txt",), quiet=True)
    c = build(parse_size("200KB"), tmp_path / "c", seed=8, formats=("txt",), quiet=True)
    txt = Path(a["files"]["txt"]).read_bytes()
    shorter = Path(b["files"]["txt"]).read_bytes()
    assert txt.startswith(shorter) and len(shorter) >= 200_000  # the seed decides the stream
    assert shorter[:100_000] != Path(c["files"]["txt"]).read_bytes()[:100_000]
    assert len(txt) == a["size"] >= size

    docs = txt.decode("utf-8").split("\n\n")
    for fmt in ("jsonl.zst", "parquet"):
        corpus = open_corpus([a["files"][fmt]])
        assert ["".join(p) for _, _, p in corpus.documents()] == docs, fmt

    # distinct words keep growing, with a Heaps exponent in the range real text shows
    distinct = [p["distinct"] for p in a["growth"]]
    assert distinct == sorted(distinct) and distinct[-1] > 1.3 * distinct[len(distinct) // 2]
    assert 0.35 < a["heaps_beta"] < 0.8
    saved = json.loads((tmp_path / "a" / "big-1MB-growth.json").read_text(encoding="utf-8"))
    assert saved["growth"] == a["growth"]
    assert (tmp_path / "a" / "big-1MB-growth.png").read_bytes()[:4] == b"\x89PNG"
