"""Loader and exporter for Hugging Face Qwen2 directories (``Qwen2ForCausalLM`` layout).

Layout: ``config.json`` + ``model.safetensors``, a sharded ``model.safetensors.index.json``, or
``pytorch_model.bin`` (read with ``weights_only=True``, never unpickled), all through
:func:`gptcore.plugin.read_hf_weights`.  Tensor names are ``model.embed_tokens.weight``,
``model.layers.N.self_attn.{q,k,v}_proj.{weight,bias}``, ``...o_proj.weight``, ...,
``model.norm.weight`` and ``lm_head.weight`` (absent when tied).  RoPE is transformers'
rotate-half layout, as in gptcore's :class:`~gptcore.plugin.Rotary`, so tensors map 1:1.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from gptcore.plugin import (GptcoreError, LoadResult, Loader, apply_overrides, detect_hf, hf_state, layer_map,
                            load_hf_state, read_hf_config, read_hf_weights, skip_init, write_hf)
from gptcore_qwen2.model import API_VERSION, Qwen2, Qwen2Config

#: Fields the file determines: ``--set`` may not change them (it would drop or reinterpret tensors).
FIXED = ("vocab_size", "emb_dim", "n_layers", "n_heads", "n_kv_heads", "head_dim", "hidden_dim", "tie_weights")
_LAYER = {"attn_norm.weight": "input_layernorm.weight", "mlp_norm.weight": "post_attention_layernorm.weight",
          "attn.o_proj.weight": "self_attn.o_proj.weight",
          **{f"attn.{p}.{k}": f"self_attn.{p}.{k}" for p in ("q_proj", "k_proj", "v_proj") for k in ("weight", "bias")},
          **{f"mlp.{p}.weight": f"mlp.{p}.weight" for p in ("gate_proj", "up_proj", "down_proj")}}
_BUFFERS = r"model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq"


def name_map(cfg: Qwen2Config) -> dict[str, str]:
    """gptcore-qwen2 parameter name -> HF ``Qwen2ForCausalLM`` name."""
    m = {"tok_emb.weight": "model.embed_tokens.weight", "norm.weight": "model.norm.weight"}
    m |= layer_map(cfg.n_layers, "blocks.{i}", "model.layers.{i}", _LAYER)
    if not cfg.tie_weights:
        m["lm_head.weight"] = "lm_head.weight"
    return m


def _rope_theta(hf: Mapping[str, Any], path: Path) -> float:
    """``rope_theta`` from transformers 5 (``rope_parameters``) or 4.x; scaled RoPE is refused."""
    rope = {**(hf.get("rope_scaling") or {}), **(hf.get("rope_parameters") or {})}
    kind = rope.get("rope_type", rope.get("type", "default"))
    if kind != "default":
        raise GptcoreError(f"{path}: rope type {kind!r} is not supported (default)")
    return float(rope.get("rope_theta", hf.get("rope_theta", 10000.0)))


def config_from_hf(hf: Mapping[str, Any], path: Path) -> Qwen2Config:
    """Translate a HF Qwen2 ``config.json`` (unsupported options give one-line errors)."""
    if hf.get("model_type") != "qwen2":
        raise GptcoreError(f"{path} is model_type {hf.get('model_type')!r}, not 'qwen2'")
    if hf.get("hidden_act", "silu") != "silu":
        raise GptcoreError(f"{path}: hidden_act {hf['hidden_act']!r} is not supported (silu)")
    sliding = [t for t in hf.get("layer_types") or () if t != "full_attention"]
    if hf.get("use_sliding_window") or sliding:
        raise GptcoreError(f"{path}: sliding-window attention (use_sliding_window / layer_types) is not "
                           "supported; every published Qwen2/2.5 model has it off")
    try:
        n_heads = int(hf["num_attention_heads"])
        fields: dict[str, Any] = dict(
            vocab_size=int(hf["vocab_size"]), context_length=int(hf["max_position_embeddings"]),
            emb_dim=int(hf["hidden_size"]), n_layers=int(hf["num_hidden_layers"]), n_heads=n_heads,
            n_kv_heads=int(hf.get("num_key_value_heads") or n_heads), hidden_dim=int(hf["intermediate_size"]),
            rms_norm_eps=float(hf.get("rms_norm_eps", 1e-6)), tie_weights=bool(hf.get("tie_word_embeddings", False)),
            dropout=float(hf.get("attention_dropout", 0.0)), rope_theta=_rope_theta(hf, path))
    except KeyError as exc:
        raise GptcoreError(f"{path} lacks field {exc.args[0]!r}") from None
    if hf.get("head_dim") is not None:
        fields["head_dim"] = int(hf["head_dim"])
    try:
        return Qwen2Config(**fields)
    except ValueError as exc:
        raise GptcoreError(f"{path}: {exc}") from None


def config_to_hf(cfg: Qwen2Config) -> dict[str, Any]:
    """The ``config.json`` transformers reads back into the same model (4.x and 5.x keys)."""
    return {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
        "vocab_size": cfg.vocab_size, "max_position_embeddings": cfg.context_length,
        "hidden_size": cfg.emb_dim, "intermediate_size": cfg.hidden_dim, "num_hidden_layers": cfg.n_layers,
        "num_attention_heads": cfg.n_heads, "num_key_value_heads": cfg.n_kv_heads, "head_dim": cfg.head_dim,
        "hidden_act": "silu", "rms_norm_eps": cfg.rms_norm_eps, "tie_word_embeddings": cfg.tie_weights,
        "attention_dropout": cfg.dropout, "initializer_range": 0.02, "use_cache": True,
        "use_sliding_window": False, "sliding_window": None, "max_window_layers": cfg.n_layers,
        "rope_theta": cfg.rope_theta, "rope_scaling": None,
        "rope_parameters": {"rope_type": "default", "rope_theta": cfg.rope_theta},
        "torch_dtype": "float32",
    }


def detect(path: Path) -> bool:
    """A directory whose ``config.json`` says ``model_type: qwen2``."""
    return detect_hf(path, "qwen2")


def load(path: Path, overrides: dict[str, Any]) -> LoadResult:
    """Read a HF Qwen2 directory into a float32 :class:`Qwen2` (eval mode).

    The vocabulary is the directory itself when a ``tokenizer.json`` lies beside the weights
    (tokenkit loads it, so ``gptcore generate DIR`` needs no ``--tokenizer``), else None.
    """
    path = Path(path)
    cfg_path = path / "config.json"
    cfg = apply_overrides(config_from_hf(read_hf_config(path), cfg_path), overrides, str(cfg_path), fixed=FIXED)
    weights = read_hf_weights(path)
    with skip_init():  # load_hf_state sets (and checks) every parameter
        model = Qwen2(cfg)
    # derived RoPE buffers of old exports, and a tied head some exports store anyway
    load_hf_state(model, weights, name_map(cfg), path, skip=_BUFFERS + ("|lm_head\\.weight" if cfg.tie_weights else ""))
    files = [str(f) for f in weights.files]
    vocabulary = str(path) if (path / "tokenizer.json").is_file() else None
    return LoadResult(model.eval(), "qwen2", vocabulary, {"source": files[0] if len(files) == 1 else files})


def export_hf(model: nn.Module, out_dir: Path) -> None:
    """Write ``model`` as a directory ``Qwen2ForCausalLM.from_pretrained`` reads."""
    model = getattr(model, "_orig_mod", model)
    write_hf(Path(out_dir), hf_state(model, name_map(model.config)), config_to_hf(model.config))


LOADER = Loader(
    name="hf-qwen2", detect=detect, load=load, architectures=("qwen2",),
    description="Hugging Face Qwen2/Qwen2.5 directory (config.json + safetensors, sharded or not, or "
                "pytorch_model.bin; plugin gptcore-qwen2)",
    api_version=API_VERSION,
)
