"""What every tokenkit command shares: the rich consoles, the rich progress bar, the option
defaults read from the library, and reading ``--text``/``--file`` input.

rich is the one console and the one progress library (``rich.progress``); both are imported
on first use, so ``tokenkit train -q`` does not pay for them.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from tokenkit.errors import TokenkitError
from tokenkit.textio import read_text_source
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


def dump_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))
