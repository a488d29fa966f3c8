"""What every tokenkit command shares: the rich consoles, the rich progress bar, the option
defaults read from the library, and reading ``--text``/``--file`` input.

rich is the one console and the one progress library (``rich.progress``); both are imported
on first use, so ``tokenkit train -q`` does not pay for them.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from tokenkit.atomic import protected
from tokenkit.errors import TokenkitError
from tokenkit.corpusreader import DEFAULT_TEXT_FIELD, read_corpus_text
from tokenkit.ownership import check_replaceable, describe_output
from tokenkit.textio import check_unicode
from tokenkit.vocabulary import AllowedSpecial

#: ``--allow-special``: the one opt-in to reading special tokens out of text.
ALLOW_SPECIAL = click.option(
    "--allow-special", "allow_special", multiple=True, metavar="TOKEN|all",
    help="Read this special token in the text as its special id (repeatable; 'all' for every "
         "one). By default special-token strings in text are ordinary text.")


def allowed_special(values: tuple[str, ...]) -> AllowedSpecial:
    """The ``--allow-special`` values as :meth:`Vocabulary.encode`'s ``allowed_special``."""
    return "all" if "all" in values else frozenset(values)


class LazyConsole:
    """A ``rich.console.Console`` made on first use (rich costs ~25 ms to import)."""

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._console: Any = None

    @property
    def console(self) -> Any:
        if self._console is None:
            from rich.console import Console  # heavy: rich loads only when something prints

            self._console = Console(**self._kwargs)
        return self._console

    def print(self, *args: Any, **kwargs: Any) -> None:
        self.console.print(*args, **kwargs)


#: Reports and tables on stdout; text is never wrapped.
out = LazyConsole(highlight=False, soft_wrap=True)
#: Progress and notes on stderr.
err = LazyConsole(stderr=True)


def print_tables(*renderables: object) -> None:
    """Wide tables (bench, sweep): 200 columns when piped, the terminal's width otherwise."""
    from rich.console import Console  # heavy: rich loads only when something prints

    console = Console(width=200) if not sys.stdout.isatty() else Console()
    for r in renderables:
        console.print(r)


@contextmanager
def progress_bar(disable: bool = False, *, bytes_: bool = False,
                 description: str = "starting") -> Iterator[Callable[..., None]]:
    """A transient rich progress bar on stderr, driven by ``update(done, total, label=None)``.

    ``bytes_`` shows sizes, speed and the time left (reading a corpus) instead of
    ``done/total`` steps.
    """
    from rich.progress import (  # heavy: rich.progress costs ~35 ms to import
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    counts = (DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn()) if bytes_ else \
        (MofNCompleteColumn(),)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), *counts,
                        TimeElapsedColumn(), console=err.console, transient=True,
                        disable=disable)
    task = progress.add_task(description, total=None)

    def update(done: int, total: int | None, label: str | None = None) -> None:
        progress.update(task, completed=done, total=total or None,
                        **({"description": label} if label is not None else {}))

    with progress:
        yield update


def default(owner: Any, name: str) -> Any:
    """The library's default for ``name``: a dataclass field or a function parameter.

    Options take their defaults from here, so each default is written once, in the library.
    """
    if dataclasses.is_dataclass(owner):
        for f in dataclasses.fields(owner):
            if f.name == name:
                if f.default is dataclasses.MISSING:
                    raise TypeError(f"{owner.__name__}.{name} has no default")
                return f.default
        raise TypeError(f"{owner.__name__} has no field {name!r}")
    keyword_defaults = getattr(owner, "__kwdefaults__", None) or {}
    if name in keyword_defaults:  # keyword-only parameters: no need to import inspect (~4 ms)
        return keyword_defaults[name]
    import inspect

    value = inspect.signature(owner).parameters[name].default
    if value is inspect.Parameter.empty:
        raise TypeError(f"{owner.__name__}({name}) has no default")
    return value


#: ``--text-field``: where JSONL and Parquet inputs keep their text.
TEXT_FIELD = click.option(
    "--text-field", "text_field", default=DEFAULT_TEXT_FIELD, show_default=True, metavar="NAME",
    help="JSONL key / Parquet column holding the text (for .jsonl, .parquet and their .gz/.zst).")


def read_input(text: str | None, file: str | None, text_field: str = DEFAULT_TEXT_FIELD) -> str:
    """The ``--text`` string or the ``--file`` (path or corpus name; a JSONL or Parquet file's
    records joined by newlines) contents: exactly one."""
    if (text is None) == (file is None):
        raise TokenkitError("give exactly one of --text or --file")
    if text is not None:
        return check_unicode(text, "--text")
    return read_corpus_text(check_unicode(file, "--file"), text_field=text_field).text


def _shown(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 120 else f"{text[:120]}… ({len(text)} characters)"


def _first_existing(path: Path, option: str) -> Path:
    """The nearest existing ancestor of ``path`` (itself included); one-line errors for names
    the system refuses (too long, NUL) and for a regular file where a directory must be."""
    probe = path
    while True:
        try:
            probe.lstat()
            break
        except FileNotFoundError:
            probe = probe.parent
        except (OSError, ValueError) as e:
            raise TokenkitError(f"cannot write output {_shown(path)} ({option}): "
                                f"{getattr(e, 'strerror', None) or e}") from None
    if probe != path and not probe.is_dir():
        raise TokenkitError(f"cannot write output {_shown(path)} ({option}): {probe} is not a directory")
    return probe


def check_output_file(path: Path | None, option: str) -> None:
    """Fail before any work when ``path`` (an output file) cannot be written."""
    if path is None:
        return
    _first_existing(path, option)
    if path.is_dir():
        raise TokenkitError(f"{option} {_shown(path)} is a directory")


def check_output_directory(path: Path, force: bool, inputs: tuple[str, ...] = (),
                           option: str = "--output") -> None:
    """Fail before any work when directory ``path`` cannot be (re)placed: it exists without
    ``force`` (the refusal says what it holds), it is the working directory, one of its
    ancestors or the home directory, it is or holds an input, it holds anything but a
    vocabulary tokenkit wrote (:func:`tokenkit.vocabulary.check_replaceable`), or its parent
    cannot hold it."""
    existing = _first_existing(path, option)
    resolved = path.resolve()
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents or not path.name or path.name in (".", ".."):
        raise TokenkitError(f"{option} {_shown(path)} is the working directory or above it: "
                            "name a new directory for the output")
    why = protected(path)
    if why is not None:
        raise TokenkitError(f"{option} {_shown(path)} is {why}, which is never replaced: name a "
                            "new directory for the output")
    for source in inputs:
        src = Path(source)
        try:
            if src.exists() and (src.resolve() == resolved or resolved in src.resolve().parents):
                raise TokenkitError(f"{option} {_shown(path)} would replace the input {source}")
        except (OSError, ValueError):
            continue
    if existing == path and path.is_dir() and not path.is_symlink():
        what, foreign = describe_output(path)
        if not force and not foreign:
            raise TokenkitError(f"output {_shown(path)} already exists and holds {what} (use "
                                "--force to replace it)")
        check_replaceable(path, option)
    if existing == path and not force:
        raise TokenkitError(f"output {_shown(path)} already exists (use --force to overwrite)")
    import tempfile

    probe = existing if existing != path else path.parent
    try:
        with tempfile.TemporaryDirectory(dir=probe):
            pass
    except OSError as e:
        raise TokenkitError(f"cannot write output {_shown(path)}: {e.strerror or e}") from e


#: How much of an input text a report shows unless ``--show-text`` asks for all of it.
PREVIEW_CHARS = 200
#: A long text's preview: its first characters on one line, and its first tokens.
PREVIEW_SHOWN = 60
PREVIEW_TOKENS = 32


def preview(text: str, limit: int = PREVIEW_CHARS, shown: int = PREVIEW_SHOWN) -> str:
    """``text`` itself up to ``limit`` characters; else its start on one line and its length.

    Reports put numbers first: a 2.4 MB novel passed with ``--file`` must not scroll them away.
    """
    if len(text) <= limit:
        return text
    start = text[:shown].replace("\n", "↵")
    return f"{start}… ({len(text):,} characters; --show-text prints all)"


def preview_tokens(tokens: list[str], total: int) -> list[str]:
    """``tokens`` (the first ones of ``total``), plus a marker saying how many more there are."""
    if len(tokens) >= total:
        return tokens
    return [*tokens, f"… ({total - len(tokens):,} more tokens; --show-text prints all)"]


def first_difference(a: str, b: str) -> int | None:
    """Index of the first character where ``a`` and ``b`` differ (None when equal)."""
    if a == b:
        return None
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def refuse_existing(paths: Iterable[Path | None], force: bool, inputs: Iterable[str] = ()) -> None:
    """Fail before the work, not after, when an output exists and ``--force`` was not given,
    or when an output is one of the command's inputs (a corpus, a vocabulary file): ``--force``
    never replaces an input."""
    paths = list(paths)
    sources = [Path(s) for s in inputs if s and Path(s).is_file()]
    for path in paths:
        if path is None or not path.is_file():
            continue
        for source in sources:
            try:
                same = path.samefile(source)
            except OSError:
                continue
            if same:
                raise TokenkitError(f"output {path} is the input {source}; --force never replaces "
                                    "an input: name another output file")
    if force:
        return
    for path in paths:
        if path is not None and (path.exists() or path.is_symlink()):
            raise TokenkitError(f"output {path} already exists (use --force to overwrite)")


def dump_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))
