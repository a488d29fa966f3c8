"""The one error adapter of the gptcore command line.

* Known errors (:class:`~gptcore.errors.GptcoreError`, :class:`tokenkit.TokenkitError`) are bad
  input: one line ``Error: ...`` on stderr and exit code 1.  Click's own usage errors keep
  click's format (exit code 2).
* Anything else is a bug or an environment problem: one line naming the command and the
  exception, exit code 1, and the traceback only with ``gptcore --debug`` or
  ``GPTCORE_DEBUG=1``.
"""

from __future__ import annotations

import os
from typing import Any

import click

from tokenkit import TokenkitError
from tokenkit.cli.errors import one_line_usage

from gptcore.errors import GptcoreError, one_line

KNOWN_ERRORS = (GptcoreError, TokenkitError)
DEBUG_ENV = "GPTCORE_DEBUG"


def debug_requested(ctx: click.Context) -> bool:
    """``--debug`` on the group, or ``GPTCORE_DEBUG`` set to anything but ``""``/``0``."""
    return bool(ctx.params.get("debug")) or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def unexpected(command: str, exc: BaseException) -> click.ClickException:
    """The one-line message for an exception no command expected."""
    return click.ClickException(
        f"gptcore {command} failed: {type(exc).__name__}: {one_line(exc)} "
        f"(unexpected; run `gptcore --debug {command} ...` or set {DEBUG_ENV}=1 for the traceback)")


class GuardedGroup(click.Group):
    """A click group whose subcommands' exceptions pass through the adapter above."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # click's message and exit code 2, in one line
            raise one_line_usage(exc) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KNOWN_ERRORS as exc:
            raise click.ClickException(one_line(exc)) from None
        except Exception as exc:
            if debug_requested(ctx):
                raise
            raise unexpected(ctx.invoked_subcommand or ctx.info_name or "", exc) from None
