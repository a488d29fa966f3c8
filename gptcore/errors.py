"""The exceptions gptcore raises for bad input, and the one-line helper errors are built with.

Library code raises :class:`GptcoreError` with a one-line message that names the file, tensor
or value at fault; the CLI turns it into ``Error: ...`` and a non-zero exit code.
"""

from __future__ import annotations

from tokenkit.errors import one_line


class GptcoreError(Exception):
    """A user-facing error: its message is one line that names the file, tensor or value."""


class PluginError(GptcoreError):
    """A plugin is missing, broken, invalid, or its name is claimed twice."""


__all__ = ["GptcoreError", "PluginError", "one_line"]
