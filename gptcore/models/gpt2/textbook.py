"""Loader for the textbook's ``GPTModel`` state dict (*Build a Large Language Model (From Scratch)*).

Keys look like ``trf_blocks.0.att.W_query.weight``; files are ``.safetensors`` or ``.pth``
(read with ``weights_only=True``).  The config is inferred from tensor shapes; the head count
cannot be, so it defaults to ``emb_dim // 64`` (GPT-2's head size) and can be overridden.
The textbook keeps a separate ``out_head``; it is tied only if it equals the embedding.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from gptcore.errors import GptcoreError
from gptcore.models.gpt2.model import GPT2, GPT2Config
from gptcore.platform.interfaces import Loader, LoadResult
from gptcore.platform.weights import PICKLE_SUFFIXES, assign, read_tensors, skip_init

SUFFIXES = (".safetensors", *PICKLE_SUFFIXES)
_LAYER = re.compile(r"trf_blocks\.(\d+)\.")


def _infer_config(t: dict[str, torch.Tensor], path: Path, overrides: dict[str, Any]) -> GPT2Config:
    for key in ("tok_emb.weight", "pos_emb.weight", "final_norm.scale"):
        if key not in t:
            raise GptcoreError(f"missing tensor {key} in {path}")
    vocab, emb = t["tok_emb.weight"].shape
    n_layers = 1 + max((int(m.group(1)) for k in t if (m := _LAYER.match(k))), default=-1)
    head = t.get("out_head.weight")
    tied = head is None or (head.shape == t["tok_emb.weight"].shape and torch.equal(head, t["tok_emb.weight"]))
    values: dict[str, Any] = dict(
        vocab_size=vocab, context_length=t["pos_emb.weight"].shape[0], emb_dim=emb,
        n_layers=n_layers, n_heads=max(1, emb // 64), dropout=0.0,
        qkv_bias="trf_blocks.0.att.W_query.bias" in t, tie_weights=tied)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return GPT2Config(**values)
    except (TypeError, ValueError) as exc:
        raise GptcoreError(f"cannot build a GPT-2 config for {path}: {exc}") from None


def detect(path: Path) -> bool:
    """A single weights file whose names look like the textbook's ``GPTModel``."""
    if not (path.is_file() and path.suffix in SUFFIXES):
        return False
    if path.suffix == ".safetensors":
        try:
            with safe_open(str(path), "pt") as f:
                return any(k.startswith("trf_blocks.") for k in f.keys())
        except Exception:  # noqa: BLE001 - not our format
            return False
    # pickle-based: torch.save writes a zip archive (checked without unpickling); the loader
    # itself validates the names
    return zipfile.is_zipfile(path)


def load(path: Path, overrides: dict[str, Any]) -> LoadResult:
    """Map ``GPTModel`` tensors onto gptcore's :class:`GPT2` (Q/K/V are fused into one matrix)."""
    raw = {k.removeprefix("_orig_mod."): v for k, v in read_tensors(path).items()}
    cfg = _infer_config(raw, path, overrides)
    ours: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}

    def put(dst: str, src: str) -> None:
        if src not in raw:
            raise GptcoreError(f"missing tensor {src} in {path}")
        ours[dst], origin[dst] = raw.pop(src), src

    put("tok_emb.weight", "tok_emb.weight")
    put("pos_emb.weight", "pos_emb.weight")
    put("ln_f.weight", "final_norm.scale")
    put("ln_f.bias", "final_norm.shift")
    if cfg.tie_weights:
        raw.pop("out_head.weight", None)
    else:
        put("lm_head.weight", "out_head.weight")
    for i in range(cfg.n_layers):
        p, q = f"trf_blocks.{i}.", f"blocks.{i}."
        raw.pop(p + "att.mask", None)  # causal-mask buffer, not a weight
        parts = [p + f"att.W_{n}.weight" for n in ("query", "key", "value")]
        for name in parts:
            if name not in raw:
                raise GptcoreError(f"missing tensor {name} in {path}")
        shapes = {tuple(raw[n].shape) for n in parts}
        if len(shapes) != 1:
            raise GptcoreError(f"shape mismatch between {', '.join(parts)} in {path}: {sorted(shapes)}")
        ours[q + "attn.qkv.weight"] = torch.cat([raw.pop(n) for n in parts])
        origin[q + "attn.qkv.weight"] = parts[0]
        if cfg.qkv_bias:
            ours[q + "attn.qkv.bias"] = torch.cat([raw.pop(p + f"att.W_{n}.bias") for n in ("query", "key", "value")])
        for dst, src in (("attn.proj.weight", "att.out_proj.weight"), ("attn.proj.bias", "att.out_proj.bias"),
                         ("mlp.fc.weight", "ff.layers.0.weight"), ("mlp.fc.bias", "ff.layers.0.bias"),
                         ("mlp.proj.weight", "ff.layers.2.weight"), ("mlp.proj.bias", "ff.layers.2.bias"),
                         ("ln1.weight", "norm1.scale"), ("ln1.bias", "norm1.shift"),
                         ("ln2.weight", "norm2.scale"), ("ln2.bias", "norm2.shift")):
            put(q + dst, p + src)
    if raw:
        raise GptcoreError(f"unexpected tensor {sorted(raw)[0]} in {path}")
    with skip_init():
        model = GPT2(cfg)
    assign(model, ours, path, origin)
    return LoadResult(model.eval(), "gpt2", None, {"source": str(path)})


LOADER = Loader(name="textbook-gpt", detect=detect, load=load, architectures=("gpt2",),
                description="LLMs-from-scratch GPTModel state dict (.pth / .safetensors)")
