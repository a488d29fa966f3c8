"""Shared fixtures: where the real corpora are, and a skip when one is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenkit.corpora import find_corpus


def corpus_path(name: str) -> Path:
    """Local path of a corpus, or skip the test with the reason (never downloads in tests)."""
    found = find_corpus(name)
    if found is None:
        pytest.skip(f"corpus {name!r} is not available locally (set TOKENKIT_CORPORA or "
                    f"run `tokenkit corpora fetch {name}`)")
    return found


def corpus_text(name: str, max_chars: int | None = None) -> str:
    text = corpus_path(name).read_text(encoding="utf-8")
    return text if max_chars is None else text[:max_chars]


#: Marks a test that loads the ``gpt2`` vocabulary (built offline from the corpus's GPT-2 files).
needs_gpt2 = pytest.mark.skipif(find_corpus("gpt2") is None,
                                reason="GPT-2 files (corpus 'gpt2': encoder.json + vocab.bpe) absent")
