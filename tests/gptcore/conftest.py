"""Shared fixtures for the gptcore tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gptcore.helpers import CORPORA, save_hf_gpt2, train_vocab


@pytest.fixture(scope="session")
def vocab_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_vocab(tmp_path_factory.mktemp("vocab"))


@pytest.fixture(scope="session")
def vocab(vocab_dir: Path):
    from gptcore.data.vocab import load_vocabulary

    return load_vocabulary(vocab_dir)


@pytest.fixture(scope="session")
def hf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_hf_gpt2(tmp_path_factory.mktemp("hf") / "gpt2")


@pytest.fixture(scope="session")
def verdict_path() -> Path:
    path = CORPORA / "the-verdict.txt"
    if not path.is_file():
        pytest.skip(f"corpus not available: {path} (see shared/corpora/SOURCES.md)")
    return path

