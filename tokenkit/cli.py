"""``tokenkit`` command line: a thin click layer over the library (the only place that prints)."""

from __future__ import annotations

import functools
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import click
from tokenkit.errors import TokenkitError


class _LazyConsole:
    """A rich Console made on first use, so `tokenkit train` does not pay rich's import."""

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._console: Any = None

    def print(self, *args: Any, **kwargs: Any) -> None:
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False, soft_wrap=True, **self._kwargs)
        self._console.print(*args, **kwargs)


out = _LazyConsole()
err = _LazyConsole(stderr=True)


def friendly_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn TokenkitError (and a few OS errors) into a one-line ``Error: ...`` and exit 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TokenkitError as e:
            raise click.ClickException(str(e)) from e
        except KeyboardInterrupt:
            raise click.ClickException("interrupted; nothing was written") from None

    return wrapper


def load_vocab(spec: str):
    from tokenkit.load import load_vocabulary

    return load_vocabulary(spec)


def read_input(text: str | None, file: str | None, errors: str = "strict") -> str:
    if (text is None) == (file is None):
        raise TokenkitError("give exactly one of --text or --file")
    if text is not None:
        return text
    from tokenkit.textio import read_text_source

    return read_text_source(file, errors=errors).text


def dump_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group()
@click.version_option(package_name="tokenkit-gptcore", prog_name="tokenkit")
def main() -> None:
    """Train, load and measure BPE vocabularies."""


# -- train ---------------------------------------------------------------------------------
def check_output(path: Path, force: bool) -> None:
    """Fail before training, not after, when the output cannot be written."""
    if path.exists() and not force:
        raise TokenkitError(f"output {path} already exists (use --force to overwrite)")
    probe = path.parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise TokenkitError(f"cannot write output {path}: {probe} is not a directory")
    try:
        with tempfile.TemporaryDirectory(dir=probe):
            pass
    except OSError as e:
        raise TokenkitError(f"cannot write output {path}: {e.strerror or e}") from e


@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--vocab", "vocab_size", type=int, required=True, help="Vocabulary size, specials included.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output directory.")
@click.option("--backend", type=click.Choice(["hf", "sentencepiece"]), default="hf", show_default=True)
@click.option("--alphabet", type=click.Choice(["bytes", "observed"]), default="bytes", show_default=True,
              help="hf: all 256 bytes (lossless) or only the bytes seen in the corpus (the textbook's).")
@click.option("--model-type", type=click.Choice(["bpe", "unigram"]), default="bpe", show_default=True,
              help="sentencepiece model type.")
@click.option("--byte-fallback/--no-byte-fallback", default=True, show_default=True,
              help="sentencepiece: encode unknown characters as byte pieces.")
@click.option("--character-coverage", type=float, default=0.9995, show_default=True)
@click.option("--normalization", default="identity", show_default=True,
              help="sentencepiece normalisation rule (identity keeps the text exactly).")
@click.option("--special-tokens", "special_tokens", multiple=True,
              help="Special tokens (repeat or comma-separate), counted inside --vocab.")
@click.option("--min-frequency", type=int, default=0, show_default=True, help="hf: minimum pair count.")
@click.option("--errors", type=click.Choice(["strict", "replace"]), default="strict", show_default=True,
              help="Invalid UTF-8: fail (strict) or replace bad bytes with U+FFFD.")
@click.option("--force", is_flag=True, help="Overwrite an existing output directory.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@friendly_errors
def train(sources: tuple[str, ...], vocab_size: int, output: Path | None, backend: str, alphabet: str,
          model_type: str, byte_fallback: bool, character_coverage: float, normalization: str,
          special_tokens: tuple[str, ...], min_frequency: int, errors: str, force: bool,
          quiet: bool) -> None:
    """Train a vocabulary of --vocab tokens on FILES, DIRECTORIES, corpus names or - (stdin)."""
    from tqdm import tqdm

    from tokenkit.textio import expand_sources, read_paths
    from tokenkit.train import TrainOptions, default_output_name, train_documents

    specials = tuple(t for group in special_tokens for t in group.split(",") if t)
    options = TrainOptions(vocab_size=vocab_size, backend=backend, alphabet=alphabet,
                           model_type=model_type, special_tokens=specials,
                           min_frequency=min_frequency, byte_fallback=byte_fallback,
                           character_coverage=character_coverage, normalization=normalization)
    options.validate()
    output = output or Path(default_output_name(sources, options))
    check_output(output, force)

    pairs = expand_sources(sources)
    total = sum(p.stat().st_size for _, p in pairs if p is not None)
    show = not quiet and sys.stderr.isatty()
    with tqdm(total=total or None, unit="B", unit_scale=True, desc="reading", disable=not show,
              file=sys.stderr) as bar:
        docs = read_paths(pairs, errors=errors, on_bytes=bar.update)
    if show and backend == "sentencepiece":
        click.echo("training sentencepiece…", err=True)
    result = train_documents(docs, options, progress=show)
    result.vocabulary.save(output, force=force)

    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    s = result.summary
    merges = "n/a" if s.get("merges") is None else str(s["merges"])
    click.echo(f"trained {backend} vocabulary: {s['vocab_size']} tokens (asked {s['requested_vocab_size']}), "
              f"{merges} merges, on {s['corpus_bytes']:,} bytes / {s['corpus_characters']:,} characters / "
              f"{s['corpus_lines']:,} lines in {s['training_seconds']:.2f} s -> {output}")
    for note in s.get("notes", []):
        click.echo(f"note: {note}")


# -- report / oov / encode / decode ------------------------------------------------------------
@main.command()
@click.argument("vocab")
@click.option("--text", help="Text to measure.")
@click.option("--file", "file", help="File or corpus name to measure.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly_errors
def report(vocab: str, text: str | None, file: str | None, as_json: bool) -> None:
    """UTF-8 bits against BPE bits for a text, in the textbook's format."""
    from tokenkit.metrics import bits_report
    from tokenkit.report import display_token, format_bits_report, token_boundaries

    v = load_vocab(vocab)
    body = read_input(text, file)
    rep = bits_report(v, body)
    if as_json:
        dump_json({**rep.to_dict(), "vocabulary": vocab,
                   "tokens": [display_token(v, i) for i in rep.ids]})
        return
    out.print(format_bits_report(rep, token_boundaries(v, rep.ids), name=vocab), markup=False)


@main.command()
@click.argument("vocab")
@click.option("--text", help="Text whose characters to check.")
@click.option("--file", "file", help="File or corpus name whose characters to check.")
@click.option("--emoji", "emoji", is_flag=True, help="Check the whole Unicode emoji list (emoji-test corpus).")
@click.option("--strict", is_flag=True, help="Exit non-zero when anything is lost.")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def oov(vocab: str, text: str | None, file: str | None, emoji: bool, strict: bool, as_json: bool) -> None:
    """Which characters VOCAB cannot encode or give back."""
    from tokenkit.oov import emoji_report, oov_report, parse_emoji_test
    from tokenkit.report import format_emoji_report, lost_lines, oov_table

    v = load_vocab(vocab)
    if emoji:
        if text is not None or file is not None:
            raise TokenkitError("--emoji measures the emoji list; do not combine it with --text/--file")
        from tokenkit.corpora import resolve_corpus

        erep = emoji_report(v, parse_emoji_test(resolve_corpus("emoji-test")))
        if as_json:
            dump_json(erep.to_dict())
        else:
            out.print(format_emoji_report(erep), markup=False)
        lost = erep.lost
    else:
        rep = oov_report(v, read_input(text, file))
        if as_json:
            dump_json(rep.to_dict())
        else:
            out.print(f"original: {rep.text}", markup=False)
            out.print(f"decoded:  {rep.decoded}", markup=False)
            out.print(oov_table(rep))
            for line in lost_lines(rep):
                out.print(f"lost {line}", markup=False)
            verdict = "lossless" if rep.lossless else f"{len(rep.lost)} characters lost"
            out.print(f"round trip: {'identical' if rep.decoded == rep.text else 'DIFFERENT'}; {verdict}")
        lost = len(rep.lost) + (rep.decoded != rep.text)
    if strict and lost:
        raise click.ClickException(f"{lost} lost (--strict)")


@main.command()
@click.argument("vocab")
@click.option("--text", help="Text to encode.")
@click.option("--file", "file", help="File or corpus name to encode.")
@friendly_errors
def encode(vocab: str, text: str | None, file: str | None) -> None:
    """Token ids and token strings as JSON."""
    from tokenkit.report import display_token

    v = load_vocab(vocab)
    ids = v.encode(read_input(text, file))
    dump_json({"ids": ids, "tokens": [display_token(v, i) for i in ids]})


@main.command()
@click.argument("vocab")
@click.argument("ids", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print {\"text\": ...} instead of the raw text.")
@friendly_errors
def decode(vocab: str, ids: tuple[str, ...], as_json: bool) -> None:
    """Text for IDS (numbers, or - to read a JSON list or {"ids": [...]} from stdin)."""
    v = load_vocab(vocab)
    values: list[Any]
    if ids == ("-",):
        raw = sys.stdin.read()
        try:
            data = json.loads(raw)
            values = data["ids"] if isinstance(data, dict) else data
        except (json.JSONDecodeError, KeyError, TypeError):
            values = raw.replace(",", " ").split()
    else:
        values = [x for group in ids for x in group.replace(",", " ").split()]
    parsed = []
    for x in values:
        try:
            parsed.append(int(x))
        except (TypeError, ValueError):
            raise TokenkitError(f"token id {x!r} is not an integer") from None
    bad = [i for i in parsed if not 0 <= i < v.vocab_size]
    if bad:
        raise TokenkitError(f"token id {bad[0]} is outside the vocabulary (size {v.vocab_size})")
    text = v.decode(parsed)
    if as_json:
        dump_json({"text": text})
    else:
        click.echo(text, nl=False)


# -- corpora ---------------------------------------------------------------------------------
@main.group()
def corpora() -> None:
    """The corpus manifest: list, locate and fetch corpora."""


@corpora.command("list")
@friendly_errors
def corpora_list() -> None:
    from rich.table import Table

    from tokenkit.corpora import find_corpus, known_corpora

    table = Table()
    for col in ("name", "bytes", "licence", "local path", "description"):
        table.add_column(col)
    for name, c in known_corpora().items():
        found = find_corpus(name)
        table.add_row(name, f"{sum(f.bytes for f in c.files):,}", c.licence,
                      str(found) if found else "(not fetched)", c.description)
    out.print(table)


@corpora.command("path")
@click.argument("name")
@friendly_errors
def corpora_path(name: str) -> None:
    """Print the local path of corpus NAME (fetching it if needed)."""
    from tokenkit.corpora import resolve_corpus

    click.echo(str(resolve_corpus(name)))


@corpora.command("fetch")
@click.argument("name")
@click.option("--to", "root", type=click.Path(path_type=Path), help="Folder (default: the user cache).")
@friendly_errors
def corpora_fetch(name: str, root: Path | None) -> None:
    """Download corpus NAME from its source and verify its sha256."""
    from tokenkit.corpora import fetch_corpus

    click.echo(str(fetch_corpus(name, root)))


# -- demo --------------------------------------------------------------------------------------
@main.command()
@click.option("--workdir", type=click.Path(path_type=Path), default=Path("demo-out"), show_default=True)
@friendly_errors
def demo(workdir: Path) -> None:
    """The seed story: vocab 5000 on 吾輩は猫である, bits and OOV, lossless vs observed alphabet."""
    from tokenkit.demo import run_demo

    for block in run_demo(workdir):
        out.print(block, markup=False) if isinstance(block, str) else out.print(block)


from tokenkit.compare_cli import bench_command, export_command, sweep_command  # noqa: E402

main.add_command(bench_command)
main.add_command(sweep_command)
main.add_command(export_command)
from tokenkit.cli_serve import serve as serve_command  # noqa: E402

main.add_command(serve_command)

if __name__ == "__main__":  # pragma: no cover
    main()
