"""Loader and exporter for Hugging Face GPT-2 directories (OpenAI's weights as on the hub).

Layout: ``config.json`` + ``model.safetensors`` (preferred), a sharded index, or
``pytorch_model.bin`` (read with ``weights_only=True``), all through :mod:`gptcore.platform.hf`.  Names may carry the ``transformer.`` prefix (``GPT2LMHeadModel``) or not
(``GPT2Model``, OpenAI's upload).  HF's ``Conv1D`` stores weights as ``[in, out]``; gptcore's
``nn.Linear`` wants ``[out, in]``, hence the transposes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gptcore.errors import GptcoreError
from gptcore.platform.hf import (
    CONFIG, PICKLED, SAFETENSORS, detect_hf, map_hf_tensors, read_hf_config, read_hf_weights,
    write_hf)
from gptcore.platform.interfaces import LoadResult, Loader, apply_overrides
from gptcore.models.gpt2.model import GPT2, GPT2Config
from gptcore.platform.validation import ConfigError
from gptcore.platform.weights import assign, skip_init

WEIGHT_FILES = (SAFETENSORS, PICKLED)
#: Fields the file determines: ``--set`` may not change them (it would drop or reinterpret tensors).
FIXED = ("vocab_size", "emb_dim", "n_layers", "n_heads", "qkv_bias", "bias", "tie_weights")
_TRANSPOSED = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
_BUFFERS = re.compile(r"h\.\d+\.attn\.(bias|masked_bias)$")  # causal-mask buffers, not weights
_ACTIVATIONS = {"gelu_new": "tanh", "gelu_pytorch_tanh": "tanh", "gelu_fast": "tanh", "gelu": "none"}


def name_map(cfg: GPT2Config) -> dict[str, str]:
    """gptcore parameter name -> HF GPT-2 name (without the ``transformer.`` prefix)."""
    m = {"tok_emb.weight": "wte.weight", "pos_emb.weight": "wpe.weight",
         "ln_f.weight": "ln_f.weight", "ln_f.bias": "ln_f.bias"}
    for i in range(cfg.n_layers):
        for ours, theirs in (("ln1", "ln_1"), ("ln2", "ln_2"), ("attn.qkv", "attn.c_attn"),
                             ("attn.proj", "attn.c_proj"), ("mlp.fc", "mlp.c_fc"),
                             ("mlp.proj", "mlp.c_proj")):
            for kind in ("weight", "bias"):
                m[f"blocks.{i}.{ours}.{kind}"] = f"h.{i}.{theirs}.{kind}"
    if not cfg.tie_weights:
        m["lm_head.weight"] = "lm_head.weight"
    return m


#: GPT2Config field -> the config.json key it comes from (errors name the file's key).
_HF_NAMES = {"context_length": "n_positions", "emb_dim": "n_embd", "n_layers": "n_layer",
             "n_heads": "n_head", "dropout": "resid_pdrop", "layer_norm_eps": "layer_norm_epsilon",
             "tie_weights": "tie_word_embeddings"}


def config_from_hf(hf: dict[str, Any], path: Path) -> GPT2Config:
    """Translate a HF ``config.json`` into a :class:`GPT2Config` (unsupported options error)."""
    if hf.get("model_type", "gpt2") != "gpt2":
        raise GptcoreError(f"{path} is model_type {hf.get('model_type')!r}, not 'gpt2'")
    act = hf.get("activation_function", "gelu_new")
    if not isinstance(act, str) or act not in _ACTIVATIONS:
        raise GptcoreError(f"{path}: activation_function {act!r} is not supported")
    for key, ok in (("scale_attn_by_inverse_layer_idx", False), ("scale_attn_weights", True)):
        if hf.get(key, ok) != ok:
            raise GptcoreError(f"{path}: {key}={hf[key]} is not supported")
    try:
        cfg = GPT2Config(
            vocab_size=hf["vocab_size"], context_length=hf["n_positions"], emb_dim=hf["n_embd"],
            n_layers=hf["n_layer"], n_heads=hf["n_head"], dropout=hf.get("resid_pdrop", 0.0),
            qkv_bias=True, bias=True, tie_weights=hf.get("tie_word_embeddings", True),
            layer_norm_eps=hf.get("layer_norm_epsilon", 1e-5), gelu_approximate=_ACTIVATIONS[act])
    except KeyError as exc:
        raise GptcoreError(f"{path} lacks field {exc.args[0]!r}") from None
    except ConfigError as exc:
        field, _, rest = str(exc).partition(" ")
        raise GptcoreError(f"{path}: {_HF_NAMES.get(field, field)} {rest}") from None
    if hf.get("n_inner") not in (None, 4 * cfg.emb_dim):
        raise GptcoreError(f"{path}: n_inner={hf['n_inner']!r} is not supported (must be 4*n_embd)")
    return cfg


def detect(path: Path) -> bool:
    """A directory whose ``config.json`` says ``model_type: gpt2``."""
    return detect_hf(path, "gpt2")


def load(path: Path, overrides: dict[str, Any]) -> LoadResult:
    """Read a HF GPT-2 directory into a gptcore :class:`GPT2`."""
    hf = read_hf_config(path)
    cfg_path = path / CONFIG
    cfg = apply_overrides(config_from_hf(hf, cfg_path), overrides, str(cfg_path), fixed=FIXED)
    weights = read_hf_weights(path)
    tensors, origin = map_hf_tensors(  # origin: our name -> the name as the file spells it (errors use it)
        weights, name_map(cfg), rename=lambda name: name.removeprefix("transformer."), transposed=_TRANSPOSED,
        # causal-mask buffers; a tied head saved anyway by some versions
        skip=lambda bare: bool(_BUFFERS.match(bare)) or (cfg.tie_weights and bare == "lm_head.weight"))
    pos = tensors.get("pos_emb.weight")
    if pos is not None and pos.shape[0] > cfg.context_length > 0:
        tensors["pos_emb.weight"] = pos[: cfg.context_length]  # --set context_length=N: the first N positions
    with skip_init():
        model = GPT2(cfg)
    files = weights.files
    assign(model, tensors, files[0] if len(files) == 1 else path, origin, files=weights.source)
    return LoadResult(model.eval(), "gpt2", None,
                      {"source": str(files[0]) if len(files) == 1 else [str(f) for f in files]})


def export_hf(model: nn.Module, out_dir: Path) -> None:
    """Write ``model`` (a :class:`GPT2`) as a directory ``GPT2LMHeadModel.from_pretrained`` reads."""
    cfg: GPT2Config = model.config
    state = {k: v for k, v in model.state_dict().items()}
    tensors: dict[str, torch.Tensor] = {}
    for ours, theirs in name_map(cfg).items():
        if ours in state:
            t = state[ours].detach().float()
        else:  # bias-free variant: HF's Conv1D/LayerNorm always have a bias
            weight = state[ours.replace(".bias", ".weight")]
            t = torch.zeros(weight.shape[0])
        if theirs.endswith(_TRANSPOSED):
            t = t.t()
        key = theirs if theirs == "lm_head.weight" else f"transformer.{theirs}"
        tensors[key] = t.contiguous().clone()
    hf = {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
        "vocab_size": cfg.vocab_size, "n_positions": cfg.context_length, "n_embd": cfg.emb_dim,
        "n_layer": cfg.n_layers, "n_head": cfg.n_heads, "n_inner": None,
        "activation_function": "gelu_new" if cfg.gelu_approximate == "tanh" else "gelu",
        "resid_pdrop": cfg.dropout, "embd_pdrop": cfg.dropout, "attn_pdrop": cfg.dropout,
        "layer_norm_epsilon": cfg.layer_norm_eps, "initializer_range": 0.02,
        "tie_word_embeddings": cfg.tie_weights, "scale_attn_weights": True,
        "torch_dtype": "float32",
    }
    write_hf(out_dir, tensors, hf)


LOADER = Loader(
    name="hf-gpt2", detect=detect, load=load, architectures=("gpt2",),
    description="Hugging Face GPT-2 directory (config.json + model.safetensors / pytorch_model.bin)")
