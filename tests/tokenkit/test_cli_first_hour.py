"""The first hour with tokenkit's command line: numbers before text, outputs never silently
overwritten, tables that fit 80 columns, and errors that say what to do."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import needs_gpt2
from tests.tokenkit.helpers import MIXED_TEXT
from tokenkit.cli import main
from tokenkit.cli.console import PREVIEW_CHARS


def run(*args: str, ok: bool = True, env: dict[str, str] | None = None):
    result = CliRunner().invoke(main, [str(a) for a in args], env=env)
    assert (result.exit_code == 0) == ok, result.output
    return result


@pytest.fixture(scope="module")
def vocabs(corpus: Path, tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("vocabs")
    run("train", "--vocab", "400", corpus, "-o", root / "bytes", "-q")
    run("train", "--vocab", "400", "--alphabet", "observed", corpus, "-o", root / "observed", "-q")
    return root / "bytes", root / "observed"


# -- report / oov: numbers first, the text only on request -------------------------------------
def test_report_file_previews_text_and_tokens(vocabs, corpus):
    assert len(MIXED_TEXT) > 10 * PREVIEW_CHARS
    plain = run("report", vocabs[0], "--file", corpus).output
    assert len(plain) < 2000, "the whole text was printed"
    assert f"({len(MIXED_TEXT):,} characters; --show-text prints all)" in plain
    assert "more tokens; --show-text prints all)" in plain
    assert f"UTF-8 bytes        {len(MIXED_TEXT.encode())}" in plain
    full = run("report", vocabs[0], "--file", corpus, "--show-text").output
    assert MIXED_TEXT in full and "--show-text" not in full


def test_report_json_leaves_out_the_long_parts_unless_asked(vocabs, corpus):
    small = json.loads(run("report", vocabs[0], "--file", corpus, "--json").output)
    full = json.loads(run("report", vocabs[0], "--file", corpus, "--json", "--show-text").output)
    assert small["truncated"] is True and "text" not in small and "ids" not in small
    assert small["text_preview"] == MIXED_TEXT[:PREVIEW_CHARS]
    assert full["text"] == MIXED_TEXT and len(full["ids"]) == full["n_tokens"] == small["n_tokens"]
    assert small["tokens_preview"][:-1] == full["tokens"][:len(small["tokens_preview"]) - 1]
    numbers = ("utf8_bits", "bpe_bits", "ratio", "bytes_per_token", "chars_per_token")
    assert {k: small[k] for k in numbers} == {k: full[k] for k in numbers}
    # a short --text is shown whole, as before
    short = json.loads(run("report", vocabs[0], "--text", "吾輩は猫", "--json").output)
    assert short["text"] == "吾輩は猫" and "truncated" not in short


def test_oov_file_prints_numbers_first_and_text_once(vocabs, corpus):
    lossless = run("oov", vocabs[0], "--file", corpus).output
    assert lossless.index("round trip: identical; lossless") < lossless.index("original:")
    assert "decoded:  identical to the original" in lossless and len(lossless) < 4000
    lossy_text = MIXED_TEXT + "\nQ🥺 at the very end"
    lossy_file = corpus.with_name("lossy.txt")
    lossy_file.write_text(lossy_text, encoding="utf-8")
    lossy = run("oov", vocabs[1], "--file", lossy_file).output
    assert lossy.index("characters lost") < lossy.index("first difference at character")
    at = len(MIXED_TEXT) + 1  # "Q" was never seen: the first character that is dropped
    assert f"first difference at character {at:,}" in lossy
    [original] = [line for line in lossy.splitlines() if line.startswith("original:")]
    [decoded] = [line for line in lossy.splitlines() if line.startswith("decoded:")]
    assert original.endswith("↵Q🥺 at the very end") and "Q" not in decoded
    assert len(lossy) < 4000, "the whole text was printed"
    full = run("oov", vocabs[1], "--file", lossy_file, "--show-text").output
    assert lossy_text in full
    data = json.loads(run("oov", vocabs[1], "--file", lossy_file, "--json").output)
    assert data["truncated"] is True and data["lossless"] is False and len(data["text"]) < 300


# -- offline without corpora: the error says what to do ----------------------------------------
def test_offline_demo_says_where_corpora_go(tmp_path, monkeypatch):
    import urllib.request

    from tokenkit import corpora

    def offline(*args, **kwargs):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setattr(corpora, "search_roots", lambda: [tmp_path / "empty"])
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("TOKENKIT_CORPORA", str(tmp_path / "mine"))
    result = run("demo", "--workdir", tmp_path / "demo", ok=False)
    [line] = [line for line in result.output.splitlines() if line.strip()]
    assert "cannot download corpus emoji-test" in line and "name resolution" in line
    assert f"$TOKENKIT_CORPORA ({tmp_path / 'mine'})" in line and "emoji-test.txt" in line
    assert str(corpora.PROJECT_ROOT.parent / "shared" / "corpora") in line
    assert str(tmp_path / "xdg" / "tokenkit" / "corpora") in line
    assert "`tokenkit corpora fetch emoji-test`" in line


# -- bench and sweep never overwrite silently -------------------------------------------------
def test_bench_refuses_existing_outputs_without_force(vocabs, corpus, tmp_path):
    outputs = {"--csv": tmp_path / "b.csv", "--json": tmp_path / "b.json", "--plot": tmp_path / "b.png"}
    args = ["bench", vocabs[0], "--corpus", corpus, "--no-progress",
            *(x for opt, path in outputs.items() for x in (opt, path))]
    for existing in [*outputs.values(), tmp_path / "b-compression.png"]:
        existing.write_bytes(b"keep me")
        result = run(*args, ok=False)
        assert result.output.strip() == f"Error: output {existing} already exists (use --force to overwrite)"
        assert [(p, p.read_bytes()) for p in tmp_path.iterdir()] == [(existing, b"keep me")]
        existing.unlink()
    run(*args)
    assert len(list(tmp_path.iterdir())) == 4
    run(*args, "--force")
    assert (tmp_path / "b.json").read_bytes().startswith(b"{")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # atomic: no temp files


def test_sweep_refuses_existing_outputs_without_force(corpus, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the defaults are sweep.csv and sweep.png in the current folder
    args = ["sweep", corpus, "--vocab", "300", "--no-progress"]
    run(*args)
    csv_before = (tmp_path / "sweep.csv").read_bytes()
    (tmp_path / "sweep.png").write_bytes(b"keep me")
    result = run(*args, ok=False)
    assert result.output.strip() == "Error: output sweep.csv already exists (use --force to overwrite)"
    (tmp_path / "sweep.csv").unlink()
    result = run(*args, ok=False)
    assert result.output.strip() == "Error: output sweep.png already exists (use --force to overwrite)"
    assert (tmp_path / "sweep.png").read_bytes() == b"keep me" and not (tmp_path / "sweep.csv").exists()
    run(*args, "--force")
    assert len((tmp_path / "sweep.csv").read_bytes().splitlines()) == len(csv_before.splitlines()) == 2
    assert (tmp_path / "sweep.png").read_bytes()[:4] == b"\x89PNG"


# -- tables readable in 80 columns --------------------------------------------------------------
def render80(*tables) -> str:
    from rich.console import Console

    console = Console(width=80, record=True, file=open("/dev/null", "w"))
    for table in tables:
        console.print(table)
    return console.export_text()


@needs_gpt2
def test_bench_and_sweep_tables_fit_80_columns_without_cutting_numbers(vocabs, corpus):
    from tokenkit.bench import run_bench
    from tokenkit.cli.compare import bench_tables, sweep_table
    from tokenkit.sweep import run_sweep

    result = run_bench([str(vocabs[0]), str(vocabs[1]), "gpt2"], [str(corpus)])
    text = render80(*bench_tables(result))
    assert max(map(len, text.splitlines())) <= 80 and "…" not in text
    for row in result.rows:  # every number is there, whole
        for number in (f"{row.tokens:,}", f"{row.utf8_bits:,}", f"{row.bpe_bits:,}",
                       f"{row.compression_ratio:.3f}", f"{row.exact_lines:,}/{row.lines:,}"):
            assert re.search(rf"(?<![\d,.]){re.escape(number)}(?![\d,])", text), number
    sweep = run_sweep(str(corpus), [300, 400])
    text = render80(sweep_table(sweep))
    assert max(map(len, text.splitlines())) <= 80 and "…" not in text
    for row in sweep.rows:
        assert f"{row.tokens:,}" in text and f"{row.compression_ratio:.3f}" in text


def test_oov_table_fits_80_columns(vocabs):
    text = run("oov", vocabs[1], "--text", "論文を書くのは辛い El Psy Congroo 🥺 Ünïcödé 카페",
               env={"COLUMNS": "80"}).output
    table = [line for line in text.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and max(len(line) for line in table) <= 80 and "…" not in text
