"""Loader and exporter for Hugging Face Llama directories (``LlamaForCausalLM`` layout).

Layout: ``config.json`` + ``model.safetensors``, a sharded ``model.safetensors.index.json``, or
``pytorch_model.bin`` (read with ``weights_only=True``, never unpickled).  Tensor names are
``model.embed_tokens.weight``, ``model.layers.N.self_attn.q_proj.weight``, ...,
``model.norm.weight`` and ``lm_head.weight`` (absent when the embeddings are tied).

q/k permutation: transformers' conversion script permutes Meta's interleaved q/k rows into the
"rotate half" RoPE layout; gptcore-llama uses that same layout, so HF tensors map 1:1 (see
:func:`gptcore_llama.model.permute_meta_qk` for Meta's original checkpoints).

Only gptcore's plugin namespace (:mod:`gptcore.plugin`) is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from gptcore.plugin import (GptcoreError, LoadResult, Loader, apply_overrides, detect_hf, hf_state, layer_map,
                            load_hf_state, read_hf_config, read_hf_weights, skip_init, write_hf)
from gptcore_llama.model import API_VERSION, Llama, LlamaConfig

#: Fields the file determines: ``--set`` may not change them (it would drop or reinterpret tensors).
FIXED = ("vocab_size", "emb_dim", "n_layers", "n_heads", "n_kv_heads", "head_dim", "hidden_dim", "tie_weights",
         "rope_scaling", "rope_original_context")
_BUFFERS = r"model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq"  # derived RoPE buffers of old exports
_LAYER = {"attn_norm.weight": "input_layernorm.weight", "mlp_norm.weight": "post_attention_layernorm.weight",
          **{f"attn.{p}.weight": f"self_attn.{p}.weight" for p in ("q_proj", "k_proj", "v_proj", "o_proj")},
          **{f"mlp.{p}.weight": f"mlp.{p}.weight" for p in ("gate_proj", "up_proj", "down_proj")}}


def name_map(cfg: LlamaConfig) -> dict[str, str]:
    """gptcore-llama parameter name -> HF ``LlamaForCausalLM`` name."""
    m = {"tok_emb.weight": "model.embed_tokens.weight", "norm.weight": "model.norm.weight"}
    m |= layer_map(cfg.n_layers, "blocks.{i}", "model.layers.{i}", _LAYER)
    if not cfg.tie_weights:
        m["lm_head.weight"] = "lm_head.weight"
    return m


# --------------------------------------------------------------------------------------------
# config.json
# --------------------------------------------------------------------------------------------


def _rope(hf: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """RoPE settings from transformers >= 5 (``rope_parameters``) or 4.x (``rope_theta`` +
    ``rope_scaling``)."""
    params = dict(hf.get("rope_parameters") or {})
    scaling = dict(hf.get("rope_scaling") or {})
    merged = {**scaling, **params}
    theta = merged.get("rope_theta", hf.get("rope_theta", 10000.0))
    kind = merged.get("rope_type", merged.get("type", "default"))
    out: dict[str, Any] = {"rope_theta": float(theta)}
    if kind == "default":
        return out
    if kind != "llama3":
        raise GptcoreError(f"{path}: rope type {kind!r} is not supported (default, llama3)")
    try:
        out.update(rope_scaling="llama3", rope_factor=float(merged["factor"]),
                   rope_low_freq_factor=float(merged["low_freq_factor"]),
                   rope_high_freq_factor=float(merged["high_freq_factor"]),
                   rope_original_context=int(merged["original_max_position_embeddings"]))
    except KeyError as exc:
        raise GptcoreError(f"{path}: llama3 rope scaling lacks {exc.args[0]!r}") from None
    return out


def config_from_hf(hf: Mapping[str, Any], path: Path) -> LlamaConfig:
    """Translate a HF Llama ``config.json`` (unsupported options give one-line errors)."""
    if hf.get("model_type") != "llama":
        raise GptcoreError(f"{path} is model_type {hf.get('model_type')!r}, not 'llama'")
    if hf.get("hidden_act", "silu") != "silu":
        raise GptcoreError(f"{path}: hidden_act {hf['hidden_act']!r} is not supported (silu)")
    for key in ("attention_bias", "mlp_bias"):
        if hf.get(key, False):
            raise GptcoreError(f"{path}: {key}=true is not supported (Llama has no biases)")
    try:
        fields: dict[str, Any] = dict(
            vocab_size=int(hf["vocab_size"]), context_length=int(hf["max_position_embeddings"]),
            emb_dim=int(hf["hidden_size"]), n_layers=int(hf["num_hidden_layers"]),
            n_heads=int(hf["num_attention_heads"]),
            n_kv_heads=int(hf.get("num_key_value_heads") or hf["num_attention_heads"]),
            hidden_dim=int(hf["intermediate_size"]),
            rms_norm_eps=float(hf.get("rms_norm_eps", 1e-6)),
            tie_weights=bool(hf.get("tie_word_embeddings", False)),
            dropout=float(hf.get("attention_dropout", 0.0)))
    except KeyError as exc:
        raise GptcoreError(f"{path} lacks field {exc.args[0]!r}") from None
    if hf.get("head_dim") is not None:
        fields["head_dim"] = int(hf["head_dim"])
    fields.update(_rope(hf, path))
    try:
        return LlamaConfig(**fields)
    except ValueError as exc:
        raise GptcoreError(f"{path}: {exc}") from None


def config_to_hf(cfg: LlamaConfig) -> dict[str, Any]:
    """The ``config.json`` transformers reads back into the same model (4.x and 5.x keys)."""
    rope: dict[str, Any] = {"rope_type": "default", "rope_theta": cfg.rope_theta}
    if cfg.rope_scaling == "llama3":
        rope = {"rope_type": "llama3", "rope_theta": cfg.rope_theta, "factor": cfg.rope_factor,
                "low_freq_factor": cfg.rope_low_freq_factor,
                "high_freq_factor": cfg.rope_high_freq_factor,
                "original_max_position_embeddings": cfg.rope_original_context}
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": cfg.vocab_size, "max_position_embeddings": cfg.context_length,
        "hidden_size": cfg.emb_dim, "intermediate_size": cfg.hidden_dim,
        "num_hidden_layers": cfg.n_layers, "num_attention_heads": cfg.n_heads,
        "num_key_value_heads": cfg.n_kv_heads, "head_dim": cfg.head_dim, "hidden_act": "silu",
        "rms_norm_eps": cfg.rms_norm_eps, "tie_word_embeddings": cfg.tie_weights,
        "attention_bias": False, "mlp_bias": False, "attention_dropout": cfg.dropout,
        "initializer_range": 0.02, "pretraining_tp": 1, "use_cache": True,
        "rope_theta": cfg.rope_theta,
        "rope_scaling": None if cfg.rope_scaling is None else rope,
        "rope_parameters": rope,
        "torch_dtype": "float32",
    }


# --------------------------------------------------------------------------------------------
# Loader (reading the directory, sharded or not, is gptcore.plugin.read_hf_weights)
# --------------------------------------------------------------------------------------------


def detect(path: Path) -> bool:
    """A directory whose ``config.json`` says ``model_type: llama``."""
    return detect_hf(path, "llama")


def load(path: Path, overrides: dict[str, Any]) -> LoadResult:
    """Read a HF Llama directory into a float32 gptcore-llama :class:`Llama` (eval mode)."""
    path = Path(path)
    cfg_path = path / "config.json"
    cfg = apply_overrides(config_from_hf(read_hf_config(path), cfg_path), overrides, str(cfg_path), fixed=FIXED)
    weights = read_hf_weights(path)
    with skip_init():  # load_hf_state sets (and checks) every parameter
        model = Llama(cfg)
    # a tied head that some exports store anyway is skipped like the derived RoPE buffers
    skip = _BUFFERS + ("|lm_head\\.weight" if cfg.tie_weights else "")
    load_hf_state(model, weights, name_map(cfg), path, skip=skip)
    files = [str(f) for f in weights.files]
    vocabulary = str(path) if (path / "tokenizer.json").is_file() else None  # tokenkit loads the directory
    return LoadResult(model.eval(), "llama", vocabulary, {"source": files[0] if len(files) == 1 else files})


# --------------------------------------------------------------------------------------------
# Exporter (registered on the architecture as exporters["hf"])
# --------------------------------------------------------------------------------------------


def export_hf(model: nn.Module, out_dir: Path) -> None:
    """Write ``model`` as a directory ``LlamaForCausalLM.from_pretrained`` reads."""
    model = getattr(model, "_orig_mod", model)
    write_hf(Path(out_dir), hf_state(model, name_map(model.config)), config_to_hf(model.config))


LOADER = Loader(
    name="hf-llama", detect=detect, load=load, architectures=("llama",),
    description="Hugging Face Llama directory (config.json + safetensors, sharded or not; "
                "plugin gptcore-llama)",
    api_version=API_VERSION,
)
