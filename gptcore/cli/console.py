"""The one console every gptcore command prints through (rich), and its progress bars.

Lines are printed as given (no markup, highlighting or wrapping: output is often piped and
parsed); model text is written untouched, since rich would expand its tabs and strip control
characters.  Progress bars go to stderr and only when it is a terminal.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

out = Console(soft_wrap=True, highlight=False, markup=False, emoji=False)
err = Console(stderr=True, soft_wrap=True, highlight=False, markup=False, emoji=False)


def echo(line: str = "") -> None:
    """Print one line of the command's output."""
    out.print(line)


def note(line: str) -> None:
    """A remark about the run (not its output) on stderr, so piped output stays clean."""
    err.print(line)


def write_text(text: str) -> None:
    """Write model text exactly as decoded, without a newline, and show it now (streaming)."""
    out.file.write(text)
    out.file.flush()


def progress() -> Progress:
    """A progress bar on stderr, shown only on a terminal (so piped output stays clean)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=True, disable=not err.is_terminal)
