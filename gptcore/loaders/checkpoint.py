"""Loader for gptcore's own checkpoints (any registered architecture) and run directories.

A run directory (:mod:`gptcore.runs`) stands for its newest complete checkpoint. A checkpoint's
vocabulary reference may be relative to the checkpoint (runs write ``../../vocab``), so a moved
run still finds the vocabulary it carries.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tokenkit.atomic import readable

from gptcore.data.vocab import check_contained
from gptcore.errors import GptcoreError
from gptcore.platform.interfaces import Loader, LoadResult
from gptcore.platform.validation import check_checkpoint_meta
from gptcore.platform.weights import read_json
from gptcore.runs.checkpoint import FORMAT, META, load_checkpoint
from gptcore.runs.directory import is_run, resolve_model_path


def detect(path: Path) -> bool:
    """A run directory, or a directory whose ``checkpoint.json`` declares the checkpoint format
    or is unreadable (a damaged checkpoint is reported by :func:`load`, naming the file, rather
    than as a format nobody recognises)."""
    if is_run(path):
        return True
    meta = path / META
    if not meta.is_file():
        return False
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    return not isinstance(data, dict) or data.get("format") == FORMAT


def vocabulary_reference(checkpoint: Path, stored: str | None) -> str | None:
    """The stored vocabulary spec, with a path relative to the checkpoint made absolute."""
    if not stored or Path(stored).is_absolute():
        return stored
    candidate = checkpoint / stored
    if candidate.is_dir():
        check_contained(candidate)  # the run's own copy: no link out of it
    return str(candidate.resolve()) if candidate.exists() else stored


def load(path: Path, overrides: dict[str, Any]) -> LoadResult:
    """Load model weights (the optimizer state is returned in ``extra`` for resuming)."""
    if overrides:
        raise GptcoreError(f"config overrides {sorted(overrides)} do not apply to checkpoint {path}")
    path = readable(resolve_model_path(path))  # read-only, even while a writer swaps it in
    check_checkpoint_meta(read_json(path / META, "checkpoint metadata"), path / META)
    ckpt = load_checkpoint(path)
    sha = ckpt.extra.get("vocabulary_sha256")
    if sha:
        ckpt.model.vocabulary_sha256 = sha  # checked against any vocabulary given (gptcore.runs)
    return LoadResult(ckpt.model, ckpt.architecture, vocabulary_reference(path, ckpt.vocabulary),
                      {"step": ckpt.step, "checkpoint": ckpt})


LOADER = Loader(name="gptcore-checkpoint", detect=detect, load=load, architectures=(),
                description="gptcore checkpoint or run directory (checkpoint.json + safetensors)")
