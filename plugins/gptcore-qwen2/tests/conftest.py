"""Fixtures for the gptcore-qwen2 tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwen2_hf_helpers import make_hf_qwen2


@pytest.fixture(scope="session")
def hf_qwen2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    path = tmp_path_factory.mktemp("hf-qwen2")
    make_hf_qwen2(path)
    return path
