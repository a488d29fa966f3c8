"""Safe weight-file reading and checked state-dict assignment, for gptcore's loaders and plugins'.

Public on purpose: a plugin's loader (e.g. gptcore-llama's) reads tensors and config files
and copies them into its model with the same safety rules and one-line errors as GPT-2's
(plugins import them from :mod:`gptcore.plugin`).  ``one_line`` is tokenkit's, re-exported.
"""

from __future__ import annotations

import json
import pickle
import struct
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from gptcore.errors import GptcoreError, one_line

PICKLE_SUFFIXES = (".bin", ".pth", ".pt", ".ckpt")
MAX_JSON_FILE = 64 * 1024 * 1024
"""A config or shard index is kB; a JSON file beyond this is refused before it is read."""
SAFETENSORS_MAX_HEADER = 100 * 1024 * 1024
"""The safetensors library's own cap on the JSON header (``MAX_HEADER_SIZE``)."""
_INIT_FUNCTIONS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_",
                   "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
                   "kaiming_normal_", "orthogonal_", "sparse_")


@contextmanager
def skip_init() -> Iterator[None]:
    """Build a model without random initialisation, because its weights are about to be loaded.

    Initialising GPT-2 124M costs about 1.4 s on a 2-core CPU, three times what reading its
    checkpoint does.  Inside the block the ``torch.nn.init`` functions (used by ``nn.Linear``,
    ``nn.Embedding``, ``nn.LayerNorm`` and by models' own ``_init_weights``) do nothing, as in
    transformers' ``from_pretrained``; buffers computed with ordinary tensor ops (e.g. RoPE
    frequencies) are still computed.  Parameters are left uninitialised, so use it only when
    :func:`assign` follows, which fails on any missing tensor.  Not thread-safe.
    """
    saved = {name: getattr(torch.nn.init, name) for name in _INIT_FUNCTIONS}

    def keep(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        return tensor

    for name in saved:
        setattr(torch.nn.init, name, keep)
    try:
        yield
    finally:
        for name, fn in saved.items():
            setattr(torch.nn.init, name, fn)


def check_safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of a ``.safetensors`` file, its length bounded and checked against the
    file's size before it is read, and every tensor's byte range inside the data section.

    The safetensors library checks the same; doing it here first costs one small read and
    gives every malformed file the same one-line error naming it.
    """
    def bad(why: str) -> GptcoreError:
        return GptcoreError(f"cannot read safetensors file {path}: {why}")

    try:
        with path.open("rb") as f:
            file_size = f.seek(0, 2)
            if file_size < 8:
                raise bad(f"{file_size} bytes, shorter than the 8-byte header length")
            f.seek(0)
            (length,) = struct.unpack("<Q", f.read(8))
            if length > SAFETENSORS_MAX_HEADER or 8 + length > file_size:
                raise bad(f"header length {length} is beyond the file's {file_size} bytes "
                          f"(or the {SAFETENSORS_MAX_HEADER}-byte limit): truncated or not safetensors")
            raw = f.read(length)
    except OSError as exc:
        raise bad(exc.strerror or str(exc)) from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad(f"header is not JSON: {one_line(exc)}") from None
    if not isinstance(header, dict):
        raise bad(f"header must be a JSON object, not {type(header).__name__}")
    data_size = file_size - 8 - length
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(type(o) is int for o in offsets) and 0 <= offsets[0] <= offsets[1] <= data_size):
            raise bad(f"tensor {name!r:.80} claims bytes {offsets!r:.60} of a {data_size}-byte "
                      "data section")
    return header


def read_tensors(path: Path, what: str = "weights file") -> dict[str, torch.Tensor]:
    """Read a ``.safetensors`` file, or a pickle-based file with ``weights_only=True``.

    Pickle files are never fully unpickled: ``weights_only=True`` only rebuilds tensors and
    plain containers, so a malicious file fails instead of running code.
    """
    if not path.is_file():
        raise GptcoreError(f"{what} not found: {path}")
    if path.suffix == ".safetensors":
        check_safetensors_header(path)
        try:
            return load_file(str(path), device="cpu")
        except (SafetensorError, OSError, ValueError) as exc:
            raise GptcoreError(f"cannot read safetensors file {path}: {one_line(exc)}") from None
    if path.suffix in PICKLE_SUFFIXES:
        try:
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
            raise GptcoreError(f"cannot read {path} safely (weights_only=True): {one_line(exc)}") from None
        if isinstance(obj, Mapping) and "model_state_dict" in obj:
            obj = obj["model_state_dict"]
        if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
            raise GptcoreError(f"{path} does not hold a flat name -> tensor state dict")
        return dict(obj)
    raise GptcoreError(f"unsupported weights file type {path.suffix!r}: {path}")


def read_json(path: Path, what: str = "config file") -> Any:
    """A JSON file, or a one-line error naming it."""
    if not path.is_file():
        raise GptcoreError(f"{what} not found: {path}")
    size = path.stat().st_size
    if size > MAX_JSON_FILE:
        raise GptcoreError(f"{what} {path} is {size} bytes, more than the {MAX_JSON_FILE} a JSON "
                           "config may hold")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:  # bad JSON, bad UTF-8, unreadable
        raise GptcoreError(f"invalid JSON in {path}: {one_line(exc)}") from None
    if not isinstance(data, dict):
        raise GptcoreError(f"{what} {path} must be a JSON object, not {type(data).__name__}")
    return data


def assign(model: nn.Module, tensors: Mapping[str, torch.Tensor], source: Path,
           origin: Mapping[str, str] | None = None,
           files: Mapping[str, Path] | None = None) -> None:
    """Copy ``tensors`` (model names) into ``model``, checking every name and shape.

    ``origin`` maps model names back to the names in the file, so errors name the tensor as
    the user sees it; ``files`` maps those file names to the shard they came from (default:
    ``source``).  Tied parameters only need to be given once.
    """
    origin = origin or {}
    files = files or {}
    params = dict(model.named_parameters(remove_duplicate=False))
    unique = dict(model.named_parameters())
    aliases = {n for n in params if n not in unique}
    for name, tensor in tensors.items():
        if name not in params:
            raise GptcoreError(f"unexpected tensor {origin.get(name, name)} in {source}")
        want = tuple(params[name].shape)
        if tuple(tensor.shape) != want:
            raise GptcoreError(
                f"shape mismatch for tensor {origin.get(name, name)} in "
                f"{files.get(origin.get(name, name), source)}: "
                f"file has {tuple(tensor.shape)}, model {name} expects {want}")
    missing = [n for n in unique if n not in tensors
               and not any(a in tensors and params[a] is unique[n] for a in aliases)]
    if missing:
        raise GptcoreError(f"missing tensor {origin.get(missing[0], missing[0])} in {source}"
                           + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    for name, tensor in tensors.items():
        check_values(tensor, params[name], origin.get(name, name),
                     files.get(origin.get(name, name), source))
    with torch.no_grad():
        for name, tensor in tensors.items():
            params[name].copy_(tensor.to(params[name].dtype))


def check_values(tensor: torch.Tensor, param: torch.Tensor, name: str, source: Path) -> None:
    """Refuse weights that would load as nonsense: integer (quantized) tensors cast silently
    into float parameters, and NaN/inf values that only show up later as a sampling crash."""
    if param.is_floating_point() and not tensor.is_floating_point():
        raise GptcoreError(f"tensor {name} in {source} is {str(tensor.dtype).removeprefix('torch.')}, "
                           f"the model expects {str(param.dtype).removeprefix('torch.')}: quantized "
                           "or integer weights are not supported (dequantize them first)")
    if tensor.is_floating_point() and tensor.numel() and not bool(torch.isfinite(tensor).all()):
        bad = int((~torch.isfinite(tensor)).sum())
        raise GptcoreError(f"tensor {name} in {source} holds {bad} NaN/inf values")


__all__ = ["PICKLE_SUFFIXES", "assign", "check_safetensors_header", "one_line", "read_json", "read_tensors", "skip_init"]
