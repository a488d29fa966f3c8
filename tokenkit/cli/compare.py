"""``tokenkit bench`` and ``tokenkit sweep``: compare vocabularies by compression and fidelity.

Each command parses options, calls library code that returns data, and only then prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from tokenkit import bench as bench_mod
from tokenkit import plots
from tokenkit import sweep as sweep_mod
from tokenkit.cli.console import (
    ALLOW_SPECIAL,
    TEXT_FIELD,
    allowed_special,
    check_output_file,
    default,
    print_tables,
    progress_bar,
    refuse_existing,
)
from tokenkit.engines import ENGINES
from tokenkit.training import BACKENDS

if TYPE_CHECKING:
    from rich.table import Table

    from tokenkit.results import BenchResult, SweepResult


def _fmt(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:,.{digits}f}"


def _table(title: str, columns: list[str], rows: list[list[str]], text_columns: int = 2,
           fold: tuple[int, ...] = ()) -> Table:
    """A compact table readable in 80 columns: numbers keep their full width (never cut or
    broken), names (the first ``text_columns`` columns, and those in ``fold``) fold instead.
    A header's lines are split at ``\\n``."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=0,
                  pad_edge=False)
    for i, col in enumerate(columns):
        if i < text_columns or i in fold:
            table.add_column(col, overflow="fold", justify="left" if i < text_columns else "right")
        else:
            widest = max([len(line) for line in col.split("\n")] + [len(r[i]) for r in rows])
            table.add_column(col, justify="right", no_wrap=True, min_width=widest)
    for row in rows:
        table.add_row(*row)
    return table


def bench_tables(result: BenchResult) -> list[Table]:
    """The grid as rich tables, each readable in 80 columns: compression, per-token statistics,
    round trip and speed, then parity (languages as rows, vocabularies as columns)."""
    rs = result.rows
    tables = [
        _table("tokenkit bench: compression",
               ["vocabulary", "corpus", "V", "tokens", "UTF-8 bits", "BPE bits", "ratio"],
               [[r.vocab, r.corpus, f"{r.vocab_size:,}", f"{r.tokens:,}", f"{r.utf8_bits:,}",
                 f"{r.bpe_bits:,}", _fmt(r.compression_ratio, 3)] for r in rs]),
        _table("per token: bytes, characters, entropy (H) and Rényi efficiency; fertility = "
               "tokens per word",
               ["vocabulary", "corpus", "bytes", "chars", "H bits", "H ratio", "Rényi\n2.5",
                "fertility"],
               [[r.vocab, r.corpus, _fmt(r.bytes_per_token), _fmt(r.chars_per_token),
                 _fmt(r.entropy_bits_per_token), _fmt(r.entropy_compression_ratio, 3),
                 _fmt(r.renyi_efficiency, 3), _fmt(r.fertility)] for r in rs]),
        _table("round trip and encode speed",
               ["vocabulary", "corpus", "exact lines", "lost chars", "MB/s", "MB/s\nbatch",
                "fast path"],
               [[r.vocab, r.corpus, f"{r.exact_lines:,}/{r.lines:,}",
                 f"{r.lost_characters:,}" + (f" ({r.lost_examples})" if r.lost_examples else ""),
                 _fmt(r.encode_mb_s, 1), _fmt(r.encode_batch_mb_s, 1),
                 r.encode_engine] for r in rs], fold=(3,)),
    ]
    if result.parity:
        langs = [lang for lang in next(iter(result.parity.values())) if lang != "en"]
        mean = {lang: sum(p[lang] for p in result.parity.values()) / len(result.parity)
                for lang in langs}
        rows = [["en (tokens)", *(str(result.parity_tokens[v]["en"]) for v in result.parity)]]
        rows += [[lang, *(_fmt(p[lang]) for p in result.parity.values())]
                 for lang in sorted(langs, key=lambda lang: -mean[lang])[:10]]
        tables.append(_table("parity: UDHR Article 1 tokens / English tokens (worst 10 by mean; "
                             "all in CSV/JSON)", ["language", *result.parity], rows, text_columns=1,
                             fold=tuple(range(1, len(result.parity) + 1))))
    return tables


def sweep_table(result: SweepResult) -> Table:
    return _table(f"sweep on {result.corpus} ({result.backend}; held-out "
                  f"{result.heldout_bytes:,} bytes, never trained on)",
                  ["vocab", "actual\nV", "tokens", "tokens\n/byte", "ratio", "bits\n/tok",
                   "H bits\n/tok", "H\nratio", "Rényi\n2.5", "train\ns"],
                  [[f"{r.vocab_size:,}", f"{r.actual_vocab_size:,}", f"{r.tokens:,}",
                    _fmt(r.tokens_per_byte, 3), _fmt(r.compression_ratio, 3), str(r.bits_per_token),
                    _fmt(r.entropy_bits_per_token), _fmt(r.entropy_compression_ratio, 3),
                    _fmt(r.renyi_efficiency, 3), _fmt(r.train_seconds)] for r in result.rows],
                  text_columns=0)


@click.command("bench", short_help="Compare vocabularies on corpora: compression, fidelity, speed.")
@click.argument("vocabs", nargs=-1, required=True)
@click.option("--corpus", "corpora", multiple=True, required=True,
              help="Corpus name or file: text, .jsonl or .parquet, plain or .gz/.zst (repeatable).")
@TEXT_FIELD
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every number as CSV.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every number as JSON.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write PNGs: F.png (bits), F-compression.png, F-parity.png.")
@click.option("--fast/--no-fast", default=default(bench_mod.run_bench, "fast"), show_default=True,
              help="Encode through tiktoken's fast path where it gives identical ids "
                   "(--no-fast: each vocabulary's own library).")
@click.option("--engine", type=click.Choice(ENGINES), default=default(bench_mod.run_bench, "engine"),
              show_default=True, help="With --fast: what encodes a byte-level BPE (auto: gigatoken "
                                      "when installed; reference: tiktoken). Same ids either way.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@ALLOW_SPECIAL
def bench_command(vocabs: tuple[str, ...], corpora: tuple[str, ...], csv_path: Path | None,
                  json_path: Path | None, plot_path: Path | None, fast: bool, engine: str,
                  no_progress: bool, force: bool, allow_special: tuple[str, ...],
                  text_field: str) -> None:
    """Compare vocabularies VOCAB... (paths, tiktoken:NAME, gpt2, hf:gpt2) on corpora.

    Compression, entropy, fertility, round-trip fidelity, encode speed and (on the
    multilingual corpus) parity. Nothing is trained; see `tokenkit sweep` for that.

    \b
    Example:
      tokenkit bench wagahai-5000 gpt2 tiktoken:cl100k_base --corpus wagahai
    """
    for path, option in ((csv_path, "--csv"), (json_path, "--json"), (plot_path, "--plot")):
        check_output_file(path, option)
    if plot_path:
        plots.check_plot_path(plot_path)
    plot_paths = [plot_path, plots.sibling(plot_path, "compression")] if plot_path else []
    refuse_existing([csv_path, json_path, *plot_paths], force, (*vocabs, *corpora))
    with progress_bar(disable=no_progress) as advance:
        result = bench_mod.run_bench(list(vocabs), list(corpora), fast=fast, engine=engine,
                                     on_progress=advance,
                                     allowed_special=allowed_special(allow_special),
                                     text_field=text_field)
    if plot_path and result.parity:
        refuse_existing([plots.sibling(plot_path, "parity")], force, (*vocabs, *corpora))
    if csv_path:
        bench_mod.write_csv(result, csv_path)
    if json_path:
        bench_mod.write_json(result, json_path)
    written: list[Path] = []
    if plot_path:
        written = plots.bench_plots(result, plot_path)
    print_tables(*bench_tables(result))
    for p in [csv_path, json_path, *written]:
        if p:
            click.echo(f"wrote {p}")


@click.command("sweep")
@click.argument("corpus")
@click.option("--vocab", "sizes", default=",".join(map(str, sweep_mod.DEFAULT_SIZES)),
              show_default=True, help="Comma-separated vocabulary sizes.")
@click.option("--backend", default=default(sweep_mod.run_sweep, "backend"), show_default=True,
              type=click.Choice(BACKENDS))
@click.option("--heldout", default=default(sweep_mod.run_sweep, "heldout"), show_default=True,
              type=float, help="Fraction of lines (the tail) kept out of training and measured on.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("sweep.csv"), show_default=True)
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("sweep.png"), show_default=True)
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
def sweep_command(corpus: str, sizes: str, backend: str, heldout: float, csv_path: Path,
                  plot_path: Path, no_progress: bool, force: bool) -> None:
    """Train one vocabulary per size on CORPUS's training split; measure on held-out text.

    Compression only, in seconds per size: `gptcore vocab-sweep` is the slow sweep that
    pretrains a model per vocabulary.

    \b
    Example:
      tokenkit sweep wagahai --vocab 1000,5000,16000
    """
    vocab_sizes = sweep_mod.parse_sizes(sizes)
    if not 0 < heldout < 1:
        raise click.BadParameter(f"must be between 0 and 1, got {heldout}", param_hint="'--heldout'")
    check_output_file(csv_path, "--csv")
    check_output_file(plot_path, "--plot")
    plots.check_plot_path(plot_path)
    refuse_existing([csv_path, plot_path], force, (corpus,))
    with progress_bar(disable=no_progress) as advance:
        result = sweep_mod.run_sweep(corpus, vocab_sizes, backend=backend, heldout=heldout,
                                     on_progress=advance)
    sweep_mod.write_csv(result, csv_path)
    plots.sweep_plot(result, plot_path)
    print_tables(sweep_table(result))
    click.echo(f"wrote {csv_path}\nwrote {plot_path}")
