"""Loader for Hugging Face GPT-NeoX directories (``GPTNeoXForCausalLM`` layout, e.g. Pythia).

Tensor names: ``gpt_neox.embed_in.weight``, ``gpt_neox.layers.N.{input_layernorm,
post_attention_layernorm, attention.query_key_value, attention.dense, mlp.dense_h_to_4h,
mlp.dense_4h_to_h}.{weight,bias}``, ``gpt_neox.final_layer_norm.*`` and ``embed_out.weight``.
The fused QKV rows are already grouped per head ([n_heads, 3, head_dim]) as the model reads
them, so every tensor maps 1:1.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gptcore.plugin import (GptcoreError, LoadResult, Loader, apply_overrides, assign, detect_hf, read_hf_config,
                            read_hf_weights, skip_init)
from gptcore_neox_test.model import API_VERSION, NeoX, NeoXConfig

# derived buffers some transformers versions save (rotary frequencies, causal masks)
_BUFFERS = re.compile(r"gpt_neox\.(layers\.\d+\.attention\.(rotary_emb\.inv_freq|bias|masked_bias)"
                      r"|rotary_emb\.inv_freq)$")


def config_from_hf(hf: Mapping[str, Any], path: Path) -> NeoXConfig:
    """Translate a HF GPT-NeoX ``config.json`` (unsupported options give one-line errors)."""
    if hf.get("hidden_act", "gelu") != "gelu":
        raise GptcoreError(f"{path}: hidden_act {hf['hidden_act']!r} is not supported (gelu)")
    if hf.get("tie_word_embeddings", False):
        raise GptcoreError(f"{path}: tie_word_embeddings=true is not supported (GPT-NeoX has an untied head)")
    rope = dict(hf.get("rope_parameters") or {})  # transformers >= 5 moves the rotary keys here
    try:
        return NeoXConfig(
            vocab_size=int(hf["vocab_size"]), context_length=int(hf["max_position_embeddings"]),
            emb_dim=int(hf["hidden_size"]), n_layers=int(hf["num_hidden_layers"]),
            n_heads=int(hf["num_attention_heads"]), hidden_dim=int(hf["intermediate_size"]),
            rotary_pct=float(rope.get("partial_rotary_factor", hf.get("rotary_pct", 0.25))),
            rotary_base=float(rope.get("rope_theta", hf.get("rotary_emb_base", 10000.0))),
            layer_norm_eps=float(hf.get("layer_norm_eps", 1e-5)),
            parallel_residual=bool(hf.get("use_parallel_residual", True)),
            attention_bias=bool(hf.get("attention_bias", True)),
            dropout=float(hf.get("attention_dropout", 0.0)))
    except KeyError as exc:
        raise GptcoreError(f"{path} lacks field {exc.args[0]!r}") from None
    except ValueError as exc:
        raise GptcoreError(f"{path}: {exc}") from None


def name_map(cfg: NeoXConfig) -> dict[str, str]:
    """Model parameter name -> HF ``GPTNeoXForCausalLM`` name."""
    m = {"embed_in.weight": "gpt_neox.embed_in.weight", "embed_out.weight": "embed_out.weight",
         "final_layer_norm.weight": "gpt_neox.final_layer_norm.weight",
         "final_layer_norm.bias": "gpt_neox.final_layer_norm.bias"}
    for i in range(cfg.n_layers):
        parts = ["input_layernorm", "post_attention_layernorm", "mlp.dense_h_to_4h", "mlp.dense_4h_to_h",
                 "attention.query_key_value", "attention.dense"]
        for part in parts:
            kinds = ("weight", "bias") if cfg.attention_bias or not part.startswith("attention.") else ("weight",)
            for kind in kinds:
                m[f"layers.{i}.{part}.{kind}"] = f"gpt_neox.layers.{i}.{part}.{kind}"
    return m


def detect(path: Path) -> bool:
    """A directory whose ``config.json`` says ``model_type: gpt_neox``."""
    return detect_hf(path, "gpt_neox")


def load(path: Path, overrides: dict[str, Any]) -> LoadResult:
    """Read a HF GPT-NeoX directory into a float32 :class:`NeoX` (eval mode)."""
    path = Path(path)
    cfg_path = path / "config.json"
    cfg = apply_overrides(config_from_hf(read_hf_config(path, "gpt_neox"), cfg_path), overrides, str(cfg_path))
    weights = read_hf_weights(path)
    ours_to_theirs = name_map(cfg)
    theirs_to_ours = {v: k for k, v in ours_to_theirs.items()}
    tensors = {}
    for name, tensor in weights.tensors.items():
        if _BUFFERS.match(name):
            continue
        if name not in theirs_to_ours:
            raise GptcoreError(f"unexpected tensor {name} in {weights.source[name]}")
        tensors[theirs_to_ours[name]] = tensor.float()
    with skip_init():
        model = NeoX(cfg)
    assign(model, tensors, path, ours_to_theirs, files=weights.source)
    vocabulary = str(path) if (path / "tokenizer.json").is_file() else None
    return LoadResult(model.eval(), "neox-test", vocabulary, {"source": [str(f) for f in weights.files]})


LOADER = Loader(name="hf-neox-test", detect=detect, load=load, architectures=("neox-test",),
                description="Hugging Face GPT-NeoX directory (test-only plugin)", api_version=API_VERSION)
