"""The one exception type tokenkit raises for bad input.

Library code raises :class:`TokenkitError` with a one-line message that names the file,
value or option at fault; the CLI turns it into ``Error: ...`` and a non-zero exit code.
"""

from __future__ import annotations


class TokenkitError(Exception):
    """Bad input or an impossible request, explained in one line."""


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (library errors can span many lines)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
