"""Loader for gptcore's own checkpoints (any registered architecture)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gptcore.checkpoint import FORMAT, META, load_checkpoint
from gptcore.errors import GptcoreError
from gptcore.interfaces import LoadResult, Loader
from gptcore.validation import check_checkpoint_meta
from gptcore.weights import read_json


def detect(path: Path) -> bool:
    """A directory whose ``checkpoint.json`` declares the gptcore checkpoint format, or is
    unreadable (a damaged checkpoint is reported by :func:`load`, naming the file, rather than
    as a format nobody recognises)."""
    meta = path / META
    if not meta.is_file():
        return False
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    return not isinstance(data, dict) or data.get("format") == FORMAT


def load(path: Path, overrides: dict[str, Any]) -> LoadResult:
    """Load model weights (the optimizer state is returned in ``extra`` for resuming)."""
    if overrides:
        raise GptcoreError(f"config overrides {sorted(overrides)} do not apply to checkpoint {path}")
    check_checkpoint_meta(read_json(path / META, "checkpoint metadata"), path / META)
    ckpt = load_checkpoint(path)
    return LoadResult(ckpt.model, ckpt.architecture, ckpt.vocabulary,
                      {"step": ckpt.step, "checkpoint": ckpt})


LOADER = Loader(name="gptcore-checkpoint", detect=detect, load=load, architectures=(),
                description="gptcore checkpoint directory (checkpoint.json + safetensors)")
