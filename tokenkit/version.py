"""The installed distribution's version, looked up on demand (importlib.metadata costs ~40 ms)."""

from __future__ import annotations

DISTRIBUTION = "tokenkit-gptcore"


def package_version() -> str:
    """``tokenkit-gptcore``'s version, or ``0.0.0+unknown`` in a source tree never installed."""
    from importlib.metadata import PackageNotFoundError, version  # heavy: ~40 ms at start-up

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0.0.0+unknown"
