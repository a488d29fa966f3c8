"""Loader for OpenAI's original GPT-2 release directory, read without TensorFlow.

Layout (as ``download_model.py`` of openai/gpt-2 fetches it)::

    hparams.json                       n_vocab, n_ctx, n_embd, n_head, n_layer
    checkpoint                         model_checkpoint_path: "model.ckpt"
    model.ckpt.index                   TensorFlow tensor-bundle index
    model.ckpt.data-00000-of-00001     the weights
    encoder.json, vocab.bpe            the byte-level BPE (tokenkit opens the directory)

Variables are ``model/wte``, ``model/wpe``, ``model/h{i}/{ln_1,attn/c_attn,attn/c_proj,ln_2,
mlp/c_fc,mlp/c_proj}/{g|w,b}`` and ``model/ln_f/{g,b}``.  OpenAI's ``conv1d`` weights are
``[1, in, out]`` (HF's ``Conv1D`` layout with a leading 1); gptcore's ``nn.Linear`` wants
``[out, in]``.  The output head is tied to ``wte``, as in the original model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from gptcore.errors import GptcoreError
from gptcore.platform.interfaces import Loader, LoadResult
from gptcore.platform.registry import get_architecture
from gptcore.platform.tfbundle import TensorBundle, checkpoint_prefix
from gptcore.platform.weights import assign, read_json, skip_init

HPARAMS = "hparams.json"
VOCAB_FILES = ("encoder.json", "vocab.bpe")
_HPARAM_FIELDS = {"n_vocab": "vocab_size", "n_ctx": "context_length", "n_embd": "emb_dim",
                  "n_head": "n_heads", "n_layer": "n_layers"}
_BLOCK = (("ln_1/g", "ln1.weight"), ("ln_1/b", "ln1.bias"),
          ("attn/c_attn/w", "attn.qkv.weight"), ("attn/c_attn/b", "attn.qkv.bias"),
          ("attn/c_proj/w", "attn.proj.weight"), ("attn/c_proj/b", "attn.proj.bias"),
          ("ln_2/g", "ln2.weight"), ("ln_2/b", "ln2.bias"),
          ("mlp/c_fc/w", "mlp.fc.weight"), ("mlp/c_fc/b", "mlp.fc.bias"),
          ("mlp/c_proj/w", "mlp.proj.weight"), ("mlp/c_proj/b", "mlp.proj.bias"))
_BOOKKEEPING = ("_CHECKPOINTABLE_OBJECT_GRAPH",)  # written by tf.train.Checkpoint, holds no weight


def name_map(n_layers: int) -> dict[str, str]:
    """OpenAI variable name -> gptcore GPT-2 parameter name."""
    m = {"model/wte": "tok_emb.weight", "model/wpe": "pos_emb.weight",
         "model/ln_f/g": "ln_f.weight", "model/ln_f/b": "ln_f.bias"}
    for i in range(n_layers):
        for theirs, ours in _BLOCK:
            m[f"model/h{i}/{theirs}"] = f"blocks.{i}.{ours}"
    return m


def _is_conv_weight(name: str) -> bool:
    return name.startswith("model/h") and name.endswith("/w")


def _file_shape(name: str, param_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape OpenAI's file has for a parameter of ``param_shape``."""
    if _is_conv_weight(name):
        out_features, in_features = param_shape
        return (1, in_features, out_features)
    return param_shape


def read_hparams(path: Path) -> dict[str, int]:
    """``hparams.json`` as GPT-2 config fields; a missing or non-integer field is one line."""
    raw = read_json(path, "hparams file")
    if not isinstance(raw, dict):
        raise GptcoreError(f"{path} is not a JSON object")
    fields: dict[str, int] = {}
    for theirs, ours in _HPARAM_FIELDS.items():
        value = raw.get(theirs)
        if value is None:
            raise GptcoreError(f"{path} lacks field {theirs!r}")
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise GptcoreError(f"{path}: {theirs} must be a positive integer, got {value!r}")
        fields[ours] = value
    return fields


def detect(path: Path) -> bool:
    """A directory with OpenAI's ``hparams.json`` and a TensorFlow checkpoint."""
    if not (path.is_dir() and (path / HPARAMS).is_file()):
        return False
    if not ((path / "checkpoint").is_file() or any(path.glob("*.index"))):
        return False
    try:
        hparams = json.loads((path / HPARAMS).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(hparams, dict) and {"n_layer", "n_embd"} <= set(hparams)


def load(path: Path, overrides: dict[str, Any]) -> LoadResult:
    """Read the release into gptcore's ``gpt2`` architecture (tied head, biases, tanh GELU)."""
    if not path.is_dir():
        raise GptcoreError(f"OpenAI GPT-2 directory not found: {path}")
    hparams = read_hparams(path / HPARAMS)
    arch = get_architecture("gpt2")
    fields: dict[str, Any] = {**hparams, "dropout": 0.0, "qkv_bias": True, "bias": True,
                              "tie_weights": True, "layer_norm_eps": 1e-5, "gelu_approximate": "tanh"}
    fields.update({k: v for k, v in overrides.items() if v is not None})
    context = fields["context_length"]
    if isinstance(context, bool) or not isinstance(context, int) or not 0 < context <= hparams["context_length"]:
        raise GptcoreError(f"context_length {context} must be between 1 and n_ctx "
                           f"{hparams['context_length']} of {path / HPARAMS}")
    cfg = arch.make_config(None, **fields)
    with skip_init():
        model = arch.build(cfg)

    bundle = TensorBundle(checkpoint_prefix(path))
    mapping = name_map(cfg.n_layers)
    for name in bundle.entries:
        if name not in mapping and name not in _BOOKKEEPING:
            raise GptcoreError(f"unexpected tensor {name} in {bundle.index_path}")
    params = dict(model.named_parameters())
    for name, ours in mapping.items():  # shapes from the index, before reading any data
        if name not in bundle.entries:
            raise GptcoreError(f"missing tensor {name} in {bundle.index_path}")
        want = _file_shape(name, tuple(params[ours].shape))
        if name == "model/wpe":  # a shorter context keeps the first rows
            want = (hparams["context_length"], *want[1:])
        have = bundle.entries[name].shape
        if have != want:
            raise GptcoreError(f"shape mismatch for tensor {name} in {bundle.index_path}: "
                               f"file has {have}, model {ours} expects {want}")
    tensors: dict[str, torch.Tensor] = {}
    for name, ours in mapping.items():
        tensor = bundle.read(name)
        if _is_conv_weight(name):
            tensor = tensor[0].t()
        elif name == "model/wpe":
            tensor = tensor[:context]
        tensors[ours] = tensor
    files = {name: bundle.shard(bundle.entries[name].shard_id) for name in mapping}
    assign(model, tensors, bundle.index_path, {v: k for k, v in mapping.items()}, files)

    vocabulary = str(path.resolve()) if all((path / f).is_file() for f in VOCAB_FILES) else None
    return LoadResult(model.eval(), "gpt2", vocabulary,
                      {"source": str(bundle.index_path), "hparams": hparams})


LOADER = Loader(
    name="openai-gpt2", detect=detect, load=load, architectures=("gpt2",),
    description="OpenAI's original GPT-2 release (hparams.json + TensorFlow checkpoint), "
                "read without TensorFlow")
