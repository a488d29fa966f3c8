"""Loader for gptcore's own checkpoints (any registered architecture)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gptcore.checkpoint import FORMAT, META, load_checkpoint
from gptcore.errors import GptcoreError
from gptcore.interfaces import LoadResult, Loader


def detect(path: Path) -> bool:
    """A directory whose ``checkpoint.json`` declares the gptcore checkpoint format."""
    meta = path / META
    if not meta.is_file():
        return False
    try:
        return json.loads(meta.read_text()).get("format") == FORMAT
    except (OSError, ValueError):
        return False


def load(path: Path, overrides: dict[str, Any]) -> LoadResult:
    """Load model weights (the optimizer state is returned in ``extra`` for resuming)."""
    if overrides:
        raise GptcoreError(f"config overrides {sorted(overrides)} do not apply to checkpoint {path}")
    ckpt = load_checkpoint(path)
    return LoadResult(ckpt.model, ckpt.architecture, ckpt.vocabulary,
                      {"step": ckpt.step, "checkpoint": ckpt})


LOADER = Loader(name="gptcore-checkpoint", detect=detect, load=load, architectures=(),
                description="gptcore checkpoint directory (checkpoint.json + safetensors)")
