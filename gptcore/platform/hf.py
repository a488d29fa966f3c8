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
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn

from gptcore.errors import GptcoreError, one_line
from gptcore.platform.weights import assign, read_json, read_tensors

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


# --------------------------------------------------------------------------------------------
# Name maps: a family's parameter names <-> the file's, written once as a table
# --------------------------------------------------------------------------------------------


def layer_map(n_layers: int, ours: str, theirs: str, names: Mapping[str, str]) -> dict[str, str]:
    """``name_map`` entries for every layer: ``ours``/``theirs`` are prefixes with ``{i}``.

    >>> layer_map(2, "blocks.{i}", "model.layers.{i}", {"attn_norm.weight": "input_layernorm.weight"})
    ... # doctest: +NORMALIZE_WHITESPACE
    {'blocks.0.attn_norm.weight': 'model.layers.0.input_layernorm.weight',
     'blocks.1.attn_norm.weight': 'model.layers.1.input_layernorm.weight'}
    """
    return {f"{ours.format(i=i)}.{a}": f"{theirs.format(i=i)}.{b}"
            for i in range(n_layers) for a, b in names.items()}


def map_hf_tensors(weights: HFWeights, name_map: Mapping[str, str], *,
                   skip: Callable[[str], bool] | str | None = None, rename: Callable[[str], str] | None = None,
                   transposed: Collection[str] = ()) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The file's tensors under the model's names, and ``origin`` (model name -> file name).

    ``name_map`` is model name -> file name (after ``rename``, e.g. stripping a
    ``transformer.`` prefix).  ``skip`` (a predicate or a regular expression on the renamed
    name) drops derived buffers and tied heads some files store anyway; any other tensor the
    map does not know is a one-line error naming it and its file.  Names ending in one of
    ``transposed`` are transposed (HF GPT-2's ``Conv1D`` stores ``[in, out]``).  Hand both
    results to :func:`gptcore.platform.weights.assign` (``files=weights.source``), or use
    :func:`load_hf_state`, so missing and mis-shaped tensors are named as the file spells them.
    """
    if isinstance(skip, str):
        skip = re.compile(skip).fullmatch  # type: ignore[assignment]
    theirs_to_ours = {v: k for k, v in name_map.items()}
    tensors: dict[str, torch.Tensor] = {}
    origin = dict(name_map)  # missing tensors are named as the file would spell them
    for name, tensor in weights.tensors.items():
        bare = rename(name) if rename else name
        if skip is not None and skip(bare):  # type: ignore[operator]
            continue
        if bare not in theirs_to_ours:
            raise GptcoreError(f"unexpected tensor {name} in {weights.source[name]}")
        ours = theirs_to_ours[bare]
        tensors[ours] = tensor.t() if transposed and bare.endswith(tuple(transposed)) else tensor
        origin[ours] = name
    return tensors, origin


def load_hf_state(model: nn.Module, weights: HFWeights, name_map: Mapping[str, str], path: Path,
                  **options: Any) -> None:
    """:func:`map_hf_tensors` then :func:`gptcore.platform.weights.assign`: every parameter set from
    the file, or a one-line error naming the file's tensor (and its shard)."""
    tensors, origin = map_hf_tensors(weights, name_map, **options)
    files = weights.files
    assign(model, tensors, files[0] if len(files) == 1 else Path(path), origin, files=weights.source)


def hf_state(model: nn.Module, name_map: Mapping[str, str], *,
             transposed: Collection[str] = ()) -> dict[str, torch.Tensor]:
    """The exporter's side: file name -> float32 tensor, for every entry of ``name_map``."""
    state = model.state_dict()
    out = {}
    for ours, theirs in name_map.items():
        t = state[ours].detach().float()
        out[theirs] = (t.t() if transposed and theirs.endswith(tuple(transposed)) else t).contiguous().clone()
    return out


def write_hf(out_dir: Path, tensors: Mapping[str, torch.Tensor], config: Mapping[str, Any]) -> None:
    """``model.safetensors`` + ``config.json``: a directory ``from_pretrained`` reads."""
    out_dir = Path(out_dir)
    save_file(dict(tensors), str(out_dir / SAFETENSORS), metadata={"format": "pt"})
    (out_dir / CONFIG).write_text(json.dumps(dict(config), indent=2) + "\n", encoding="utf-8")


__all__ = ["CONFIG", "HFWeights", "INDEXES", "PICKLED", "SAFETENSORS", "detect_hf", "hf_model_type", "hf_state",
           "layer_map", "load_hf_state", "map_hf_tensors", "read_hf_config", "read_hf_weights", "weight_files",
           "write_hf"]
