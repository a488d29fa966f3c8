"""The one error adapter of the ``tokenkit`` command line.

* Known errors (:class:`~tokenkit.errors.TokenkitError`, corpus errors, which are
  TokenkitErrors too) become one line, ``Error: ...``, exit code 1. click's own usage errors
  keep click's message and exit code 2, shown in one line too (:class:`OneLineUsageError`:
  the message and where the help is, without the usage block).
* Ctrl-C becomes ``Error: interrupted; nothing was written`` (outputs are written atomically).
* Anything else is a bug, not bad input: one line naming the command and the exception, exit
  code 1, and how to see the traceback: ``tokenkit --debug COMMAND ...`` or
  ``TOKENKIT_DEBUG=1``. With either, every exception propagates with its traceback.
"""

from __future__ import annotations

import os
from typing import Any

import click

from tokenkit.errors import TokenkitError, one_line

DEBUG_ENV = "TOKENKIT_DEBUG"
_COMMAND_KEY = "tokenkit.command"
_DEBUG_KEY = "tokenkit.debug"


def debug_requested(ctx: click.Context) -> bool:
    """``--debug`` on the group, or ``TOKENKIT_DEBUG`` set to anything but 0/empty."""
    return bool(ctx.meta.get(_DEBUG_KEY)) or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def set_debug(ctx: click.Context, value: bool) -> None:
    ctx.meta[_DEBUG_KEY] = value


class OneLineUsageError(click.UsageError):
    """A click usage error shown as one line: ``Error: MESSAGE (see 'CMD --help')``."""

    def __init__(self, error: click.UsageError) -> None:
        super().__init__(error.format_message(), error.ctx)
        self.exit_code = error.exit_code

    def show(self, file: Any = None) -> None:
        where = f" (see '{self.ctx.command_path} --help')" if self.ctx is not None else ""
        first = (self.message.strip().splitlines() or [type(self).__name__])[0]
        click.echo(f"Error: {first}{where}", file=file, err=file is None)


def one_line_usage(error: click.UsageError) -> OneLineUsageError:
    """``error`` as a :class:`OneLineUsageError` (the same message and exit code)."""
    return error if isinstance(error, OneLineUsageError) else OneLineUsageError(error)


class ErrorAdaptingGroup(click.Group):
    """A click group whose outermost instance turns exceptions into one line (see module doc).

    Nested groups (``tokenkit corpora``) use the same class so the full command path is known.
    """

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name, cmd, rest = super().resolve_command(ctx, args)
        if cmd is not None:  # "tokenkit corpora path", whatever name the script was run by
            names = []
            at: click.Context | None = ctx
            while at is not None and at.parent is not None:
                names.append(at.info_name or "")
                at = at.parent
            ctx.meta[_COMMAND_KEY] = " ".join(["tokenkit", *reversed(names), cmd.name or ""])
        return name, cmd, rest

    def invoke(self, ctx: click.Context) -> Any:
        if ctx.parent is not None:  # only the outermost group adapts
            return super().invoke(ctx)
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            raise one_line_usage(e) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as e:
            if debug_requested(ctx):
                raise
            raise adapt(e, ctx.meta.get(_COMMAND_KEY, "tokenkit")) from e
        except KeyboardInterrupt:
            if debug_requested(ctx):
                raise
            raise click.ClickException("interrupted; nothing was written") from None
        except BaseException as e:  # a Rust panic in tokenizers/tiktoken (pyo3's PanicException)
            if debug_requested(ctx) or type(e).__name__ != "PanicException":
                raise
            raise adapt(RuntimeError(one_line(e)), ctx.meta.get(_COMMAND_KEY, "tokenkit")) from None


def adapt(exc: Exception, command: str) -> click.ClickException:
    """The one-line ``click.ClickException`` an exception becomes (exit code 1)."""
    detail = one_line(exc)
    if isinstance(exc, TokenkitError):
        return click.ClickException(detail)
    kind = type(exc).__name__
    what = kind if detail == kind else f"{kind}: {detail}"
    return click.ClickException(
        f"{command} failed unexpectedly ({what}); run `tokenkit --debug ...` or set "
        f"{DEBUG_ENV}=1 for the traceback")
