"""Reading Hugging Face model directories, once for every family (GPT-2, Llama, plugins).

A HF directory is ``config.json`` plus the weights in one of three layouts:
``model.safetensors``; a sharded ``model.safetensors.index.json`` (or
``pytorch_model.bin.index.json``) whose ``weight_map`` names each tensor's shard; or
``pytorch_model.bin``, read with ``weights_only=True`` (never unpickled).  A loader reads the
tensors with :func:`read_hf_weights`, maps the names onto its model and hands the returned
``source`` to :func:`gptcore.platform.weights.assign`, so a shape error names the tensor as the file
spells it and the shard it came from.

>>> import tempfile, json, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
>>> hf_model_type(d), detect_hf(d, "gpt2"), detect_hf(d, "llama")
('gpt2', True, False)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gptcore.errors import GptcoreError, one_line
from gptcore.platform.weights import read_json, read_tensors

CONFIG = "config.json"
SAFETENSORS = "model.safetensors"
PICKLED = "pytorch_model.bin"
INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")


def hf_model_type(path: Path) -> str | None:
    """``config.json``'s ``model_type`` in directory ``path``; None if there is none (never raises)."""
    cfg = Path(path) / CONFIG
    try:
        if not cfg.is_file():
            return None
        value = json.loads(cfg.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    model_type = value.get("model_type") if isinstance(value, dict) else None
    return model_type if isinstance(model_type, str) else None


def detect_hf(path: Path, *model_types: str) -> bool:
    """A loader's ``detect``: a directory whose ``config.json`` has one of ``model_types``."""
    return hf_model_type(path) in model_types


def read_hf_config(path: Path, model_type: str | None = None) -> dict[str, Any]:
    """``config.json`` of directory ``path`` as a dict (one-line errors naming the file).

    With ``model_type``, a config of another type is refused.
    """
    root = Path(path)
    if not root.exists():
        raise GptcoreError(f"model path not found: {root}")
    cfg_path = root / CONFIG
    hf = read_json(cfg_path)
    if not isinstance(hf, dict):
        raise GptcoreError(f"{cfg_path} does not hold a JSON object")
    if model_type is not None and hf.get("model_type") != model_type:
        raise GptcoreError(f"{cfg_path} is model_type {hf.get('model_type')!r}, not {model_type!r}")
    return hf


@dataclass(frozen=True)
class HFWeights:
    """Every tensor of a HF directory and the file each one came from."""

    tensors: dict[str, torch.Tensor]
    source: dict[str, Path]

    @property
    def files(self) -> list[Path]:
        """The weight files read, sorted."""
        return sorted(set(self.source.values()))


def weight_files(root: Path) -> list[Path]:
    """The files holding the weights of directory ``root``, in the order HF prefers them."""
    root = Path(root)
    if (root / SAFETENSORS).is_file():
        return [root / SAFETENSORS]
    for index in INDEXES:
        if (root / index).is_file():
            try:
                weight_map = json.loads((root / index).read_text(encoding="utf-8"))["weight_map"]
                names = sorted(set(weight_map.values()))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise GptcoreError(f"invalid shard index {root / index}: {one_line(exc)}") from None
            if not all(isinstance(n, str) and "/" not in n and n not in ("", ".", "..") for n in names):
                raise GptcoreError(f"invalid shard index {root / index}: shard names must be plain file names")
            return [root / name for name in names]
    if (root / PICKLED).is_file():
        return [root / PICKLED]
    raise GptcoreError(f"weights file not found: {root / SAFETENSORS} (or {', '.join(INDEXES)}, {PICKLED})")


def read_hf_weights(root: Path) -> HFWeights:
    """All tensors of a HF directory (any of the three layouts) with each tensor's file."""
    tensors: dict[str, torch.Tensor] = {}
    source: dict[str, Path] = {}
    for f in weight_files(root):
        for name, t in read_tensors(f).items():
            if name in tensors:
                raise GptcoreError(f"tensor {name} appears in both {source[name]} and {f}")
            tensors[name] = t
            source[name] = f
    return HFWeights(tensors, source)


__all__ = ["CONFIG", "HFWeights", "INDEXES", "PICKLED", "SAFETENSORS", "detect_hf", "hf_model_type",
           "read_hf_config", "read_hf_weights", "weight_files"]
