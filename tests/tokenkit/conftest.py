"""Fixtures the tokenkit CLI tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tokenkit.helpers import MIXED_TEXT


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small mixed-script text file (English, Japanese, emoji) to train and measure on."""
    path = tmp_path_factory.mktemp("corpus") / "mixed.txt"
    path.write_text(MIXED_TEXT, encoding="utf-8")
    return path
