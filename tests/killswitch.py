"""A kill at any instant of an atomic swap, for the crash tests' child processes.

A child script calls :func:`die_at_kth_replace` before it writes; the parent then checks that
the next load finishes or rolls back what the dead writer left.
"""

from __future__ import annotations

import os

from tokenkit import atomic


def die_at_kth_replace(k: int) -> None:
    """Make the ``k``-th ``os.replace`` of this process end it at once (exit code 9)."""
    real, calls = os.replace, [0]

    def dying_replace(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> None:
        calls[0] += 1
        if calls[0] == k:
            os._exit(9)
        real(a, b)

    atomic.os.replace = dying_replace  # type: ignore[assignment]  # atomic.os is the os module
