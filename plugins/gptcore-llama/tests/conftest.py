"""Fixtures for the gptcore-llama tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from llama_hf_helpers import make_hf_llama


@pytest.fixture(scope="session")
def hf_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    path = tmp_path_factory.mktemp("hf-llama")
    make_hf_llama(path)
    return path
