"""sweep: held-out split, one vocabulary per size measured on held-out text, CSV + PNG."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner

from tests.tokenkit.helpers import MIXED_TEXT
from tokenkit.cli import main
from tokenkit.errors import TokenkitError
from tokenkit.sweep import parse_sizes, run_sweep, split_heldout


def test_parse_sizes():
    assert parse_sizes("1000, 500,2k,500") == [500, 1000, 2000]
    for bad in ("", "abc", "0"):
        with pytest.raises(TokenkitError, match="--vocab"):
            parse_sizes(bad)


def test_split_heldout_is_the_disjoint_tail():
    text = "".join(f"line {i}\n" for i in range(100))
    train, held = split_heldout(text, 0.1)
    assert train + held == text
    assert held.splitlines() == [f"line {i}" for i in range(90, 100)]
    assert not set(train.splitlines()) & set(held.splitlines())
    for bad in (0.0, 1.0, -0.5):
        with pytest.raises(TokenkitError, match="--heldout"):
            split_heldout(text, bad)
    with pytest.raises(TokenkitError, match="fewer than 2 lines"):
        split_heldout("one line", 0.5)


def test_sweep_measures_only_heldout_text(tmp_path, monkeypatch):
    import tokenkit.training as train_mod

    seen: list[str] = []
    real = train_mod.train_from_texts

    def spy(texts, size, **kw):
        seen.extend(texts)
        return real(texts, size, **kw)

    monkeypatch.setattr(train_mod, "train_from_texts", spy)
    corpus = tmp_path / "c.txt"
    lines = [f"{line} {i}" for i, line in enumerate(MIXED_TEXT.splitlines())]
    corpus.write_text("\n".join(lines) + "\nHELDOUT-ONLY tail line\n", encoding="utf-8")
    result = run_sweep(str(corpus), [300, 600], heldout=0.05)
    assert all("HELDOUT-ONLY" not in t for t in seen) and len(seen) == 2
    assert [r.vocab_size for r in result.rows] == [300, 600]
    held = split_heldout(corpus.read_text(encoding="utf-8"), 0.05)[1]
    assert all(r.heldout_bytes == len(held.encode("utf-8")) for r in result.rows)
    small, big = result.rows
    assert big.tokens <= small.tokens  # more merges never lengthen the held-out encoding
    assert small.tokens_per_byte == pytest.approx(small.tokens / small.heldout_bytes)
    assert small.compression_ratio == pytest.approx(
        8 * small.heldout_bytes / (small.tokens * small.bits_per_token))
    shown = result._repr_html_()  # a notebook cell: the table, then the sweep plot inlined
    assert shown.count("<tr>") == 3 and shown.count("data:image/png;base64,") == 1


def test_sweep_command_writes_csv_and_png(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(MIXED_TEXT + "\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["sweep", str(corpus), "--vocab", "300,500", "--csv",
                                             str(tmp_path / "s.csv"), "--plot",
                                             str(tmp_path / "s.png"), "--no-progress"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader((tmp_path / "s.csv").open(encoding="utf-8")))
    assert [int(r["vocab_size"]) for r in rows] == [300, 500]
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    bad = CliRunner().invoke(main, ["sweep", str(corpus), "--vocab", "100", "--csv",
                                             str(tmp_path / "t.csv"), "--no-progress"])
    assert bad.exit_code != 0 and len(bad.output.strip().splitlines()) == 1
    assert "smaller than the 256-byte alphabet" in bad.output
