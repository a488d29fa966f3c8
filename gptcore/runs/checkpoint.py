"""Safe, atomic checkpoints: safetensors for tensors, JSON for everything else.

A checkpoint is a directory::

    checkpoint.json        architecture, config, step, RNG states, vocabulary reference,
                           optimizer hyper-parameters, tied-parameter aliases
    model.safetensors      model state (each shared tensor stored once)
    optimizer.safetensors  optimizer state tensors (optional)

It is written into a hidden sibling directory and swapped into place by
:func:`tokenkit.atomic.atomic_directory`, so a crash leaves either the previous checkpoint or
the new one, never a half-written one; :func:`load_checkpoint` reads the complete copy of a
swap a writer left half-done without touching it (:func:`tokenkit.atomic.readable`; only a
writer finishes the swap). ``checkpoint.json`` records each file's size and sha256, checked
at load, so a file copied in from another step is refused.  Nothing is unpickled on load.
Names never carry ``torch.compile``'s ``_orig_mod.`` prefix.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from tokenkit.atomic import atomic_directory, readable

from gptcore.errors import GptcoreError, one_line
from gptcore.platform.registry import architecture_for, build, get_architecture
from gptcore.platform.weights import assign, read_json, read_tensors, skip_init

FORMAT = "gptcore-checkpoint"
VERSION = 1
META = "checkpoint.json"
MODEL_FILE = "model.safetensors"
OPTIM_FILE = "optimizer.safetensors"
COMPILE_PREFIX = "_orig_mod."


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module behind ``torch.compile`` (whose names start with ``_orig_mod.``)."""
    return getattr(model, "_orig_mod", model)


def _strip(name: str) -> str:
    return name.replace(COMPILE_PREFIX, "")


def dedup_state(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Store each shared tensor once: ``(unique tensors, alias -> canonical name)``.

    safetensors refuses tensors that share memory (tied embeddings); identical views become
    aliases, other overlaps are copied so they can be written.
    """
    unique: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    by_view: dict[tuple[int, int, tuple[int, ...], tuple[int, ...]], str] = {}
    storages: set[int] = set()
    for name, tensor in state.items():
        name = _strip(name)
        t = tensor.detach()
        key = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), tuple(t.stride()))
        if t.numel() and key in by_view:
            aliases[name] = by_view[key]
            continue
        by_view[key] = name
        ptr = t.untyped_storage().data_ptr()
        if not t.is_contiguous():  # e.g. gptcore.generation.inference.decode_layout: one copy, row-major
            t = t.contiguous()
        elif ptr in storages:
            t = t.clone()
        storages.add(ptr)
        unique[name] = t
    return unique, aliases


def _tensor_b64(state: torch.Tensor) -> str:
    return base64.b64encode(state.numpy().tobytes()).decode()


def _b64_tensor(text: str) -> torch.Tensor:
    return torch.from_numpy(np.frombuffer(base64.b64decode(text, validate=True), dtype=np.uint8).copy())


def rng_state() -> dict[str, Any]:
    """torch (CPU, and the current CUDA device once CUDA is in use), python and numpy RNG states
    as JSON-ready data.

    One CUDA state is enough under DDP: every rank is seeded alike and draws dropout masks of the
    same shapes, so each rank's own device is in the state rank 0's device is in.
    """
    py_version, py_state, py_gauss = random.getstate()
    np_state = np.random.get_state()
    state = {
        "torch": _tensor_b64(torch.get_rng_state()),
        "python": [py_version, list(py_state), py_gauss],
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = _tensor_b64(torch.cuda.get_rng_state())
    return state


def _decode_rng(state: dict[str, Any]) -> tuple[torch.Tensor, tuple, tuple, torch.Tensor | None]:
    """The parts of a saved RNG state, each decoded and tried on a throwaway generator; a
    one-line error names the first unreadable part."""
    part = "torch"
    try:
        cpu = _b64_tensor(state["torch"])
        torch.Generator().set_state(cpu)
        part = "python"
        version, py_state, gauss = state["python"]
        py = (version, tuple(py_state), gauss)
        random.Random().setstate(py)
        part = "numpy"
        name, keys, pos, has_gauss, cached = state["numpy"]
        np_ = (name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached)
        np.random.RandomState().set_state(np_)
        part = "cuda"
        cuda = _b64_tensor(state["cuda"]) if "cuda" in state else None
        if cuda is not None and torch.cuda.is_available():
            expected = torch.cuda.get_rng_state().numel()
            if cuda.numel() != expected:
                raise ValueError(f"{cuda.numel()} bytes, this device's state has {expected}")
    except (KeyError, TypeError, ValueError, RuntimeError, OverflowError) as exc:  # binascii.Error is a ValueError
        raise GptcoreError(f'RNG state "{part}" is unreadable: {one_line(exc)}') from None
    return cpu, py, np_, cuda


def check_rng(state: dict[str, Any]) -> None:
    """Decode every part of a saved RNG state without applying it, so an unreadable one is
    refused when the checkpoint is read rather than once training has begun."""
    _decode_rng(state)


def restore_rng(state: dict[str, Any]) -> None:
    """Inverse of :func:`rng_state`. A ``cuda`` state is restored where CUDA is available: a
    checkpoint written on a GPU resumes on a CPU, with CPU dropout draws from then on."""
    cpu, py, np_, cuda = _decode_rng(state)
    torch.set_rng_state(cpu)
    random.setstate(py)
    np.random.set_state(np_)
    if cuda is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(cuda)


def _optimizer_parts(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, slots in sd["state"].items():
        for key, value in slots.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{idx}.{key}"] = value.detach().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    meta = {"class": type(optimizer).__name__, "param_groups": sd["param_groups"], "scalars": scalars}
    return tensors, meta


def _optimizer_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        idx, slot = key.split(".", 1)
        state.setdefault(int(idx), {})[slot] = value
    for idx, slots in meta.get("scalars", {}).items():
        state.setdefault(int(idx), {}).update(slots)
    # JSON turned tuples (e.g. AdamW's betas) into lists; "params" is the only real list.
    groups = [{k: (tuple(v) if isinstance(v, list) and k != "params" else v) for k, v in g.items()}
              for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


@dataclass
class Checkpoint:
    """A loaded checkpoint (the model is rebuilt from the registry and ready to use)."""

    model: nn.Module
    architecture: str
    step: int
    vocabulary: str | None
    rng: dict[str, Any] | None
    optimizer_state: dict[str, Any] | None
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def save_checkpoint(path: str | os.PathLike[str], model: nn.Module,
                    optimizer: torch.optim.Optimizer | None = None, *, step: int = 0,
                    vocabulary: str | None = None, extra: dict[str, Any] | None = None,
                    save_rng: bool = True, fsync: bool = False) -> Path:
    """Write ``model`` (and ``optimizer``) to directory ``path`` atomically; returns the path.

    ``fsync=True`` also flushes the files to disk before the rename (power-loss safety at the
    cost of waiting for the disk).
    """
    target = Path(path)
    plain = unwrap(model)
    arch = architecture_for(plain)
    tensors, aliases = dedup_state(plain.state_dict())
    meta: dict[str, Any] = {
        "format": FORMAT, "version": VERSION, "architecture": arch.name,
        "config": dataclasses.asdict(plain.config), "step": int(step), "vocabulary": vocabulary,
        "tied": aliases, "rng": rng_state() if save_rng else None, "extra": extra or {},
        "optimizer": None,
    }
    with atomic_directory(target, force=True) as tmp:
        save_file(tensors, str(tmp / MODEL_FILE), metadata={"format": "pt"})
        if optimizer is not None:
            opt_tensors, meta["optimizer"] = _optimizer_parts(optimizer)
            save_file(opt_tensors, str(tmp / OPTIM_FILE), metadata={"format": "pt"})
        meta["files"] = {f.name: file_record(f) for f in sorted(tmp.iterdir())}
        (tmp / META).write_text(json.dumps(meta) + "\n")
        if fsync:
            for f in tmp.iterdir():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
    return target


def file_record(path: Path) -> dict[str, Any]:
    """Size and sha256 of one checkpoint file, as ``checkpoint.json`` records them."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def verify_files(root: Path, meta: dict[str, Any], names: tuple[str, ...]) -> None:
    """Refuse a file whose size or sha256 differs from what ``checkpoint.json`` recorded (one
    copied in from another step, say). Checkpoints written before the record are read as is."""
    files = meta.get("files")
    if files is None:
        return
    if not isinstance(files, dict):
        raise GptcoreError(f"{root / META}: \"files\" must be an object")
    for name in names:
        record = files.get(name)
        path = root / name
        if record is None:
            continue
        if not isinstance(record, dict) or not isinstance(record.get("bytes"), int) \
                or not isinstance(record.get("sha256"), str):
            raise GptcoreError(f"{root / META}: the record of {name} is malformed")
        if path.is_symlink() or not path.is_file():
            raise GptcoreError(f"checkpoint file {path} is missing or not a plain file")
        size = path.stat().st_size
        if size != record["bytes"] or file_record(path)["sha256"] != record["sha256"]:
            raise GptcoreError(f"checkpoint file {path} is not the one {META} records "
                               f"({size} bytes, recorded {record['bytes']}; sha256 differs): "
                               "copied from another checkpoint?")


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The checkpoint's JSON, validated (one-line errors naming the file)."""
    meta_path = Path(path) / META
    meta = read_json(meta_path, "checkpoint metadata")
    if meta.get("format") != FORMAT:
        raise GptcoreError(f"{meta_path} is not a gptcore checkpoint")
    if meta.get("version") != VERSION:
        raise GptcoreError(f"{meta_path}: unsupported checkpoint version {meta.get('version')}")
    return meta


def load_checkpoint(path: str | os.PathLike[str], *, load_optimizer: bool = True) -> Checkpoint:
    """Rebuild the model from its registered architecture and load every tensor, checked."""
    root = readable(path)  # mid-swap (a live or killed writer): its complete copy, untouched
    meta = read_meta(root)
    verify_files(root, meta, (MODEL_FILE, OPTIM_FILE) if load_optimizer else (MODEL_FILE,))
    arch = get_architecture(meta["architecture"])
    try:
        config = arch.config_from_dict(meta["config"])
    except (TypeError, ValueError, GptcoreError) as exc:
        raise GptcoreError(f"invalid config in {root / META}: {exc}") from None
    with skip_init():  # every parameter is assigned below
        model = build(arch, config)
    tensors = read_tensors(root / MODEL_FILE, "checkpoint file")
    params = set(dict(model.named_parameters(remove_duplicate=False)))
    state = {k: v for k, v in tensors.items() if k in params}
    assign(model, state, root / MODEL_FILE)
    buffers = {k: v for k, v in tensors.items() if k not in params}
    persistent = [k for k in model.state_dict() if k not in params]
    missing = [k for k in persistent if k not in buffers]
    if missing:
        raise GptcoreError(f"missing tensor {missing[0]} in {root / MODEL_FILE}")
    if buffers:
        _, unexpected = model.load_state_dict(buffers, strict=False)
        if unexpected:
            raise GptcoreError(f"unexpected tensor {unexpected[0]} in {root / MODEL_FILE}")
    if meta.get("rng") is not None:
        try:
            check_rng(meta["rng"])
        except GptcoreError as exc:
            raise GptcoreError(f"{root / META}: {exc}") from None
    opt_state = None
    if load_optimizer and meta.get("optimizer") is not None:
        opt_state = _optimizer_state(read_tensors(root / OPTIM_FILE, "checkpoint file"), meta["optimizer"])
    return Checkpoint(model.eval(), arch.name, int(meta.get("step", 0)), meta.get("vocabulary"),
                      meta.get("rng"), opt_state, meta.get("extra", {}), root)
