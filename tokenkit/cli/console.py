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

from tokenkit.errors import TokenkitError
from tokenkit.textio import read_text_source


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

    ``bytes_`` shows sizes and speed (reading a corpus) instead of ``done/total`` steps.
    """
    from rich.progress import (  # heavy: rich.progress costs ~35 ms to import
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TransferSpeedColumn,
    )

    counts = (DownloadColumn(), TransferSpeedColumn()) if bytes_ else (MofNCompleteColumn(),)
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


def read_input(text: str | None, file: str | None) -> str:
    """The ``--text`` string or the ``--file`` (path or corpus name) contents: exactly one."""
    if (text is None) == (file is None):
        raise TokenkitError("give exactly one of --text or --file")
    if text is not None:
        return text
    return read_text_source(file).text


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


def refuse_existing(paths: Iterable[Path | None], force: bool) -> None:
    """Fail before the work, not after, when an output exists and ``--force`` was not given."""
    if force:
        return
    for path in paths:
        if path is not None and (path.exists() or path.is_symlink()):
            raise TokenkitError(f"output {path} already exists (use --force to overwrite)")


def dump_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))
