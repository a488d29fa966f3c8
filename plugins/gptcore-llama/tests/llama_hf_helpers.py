"""Helpers for the gptcore-llama tests: tiny random Llama models saved by ``transformers``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

TINY_HF: dict[str, Any] = dict(
    vocab_size=97, hidden_size=32, intermediate_size=72, num_hidden_layers=2,
    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
    rms_norm_eps=1e-5, rope_theta=5000.0, tie_word_embeddings=False)

# Same shapes as TINY_HF, in gptcore-llama's field names (for the plugin test kit).
TINY_GPTCORE: dict[str, Any] = dict(
    vocab_size=97, context_length=64, emb_dim=32, hidden_dim=72, n_layers=2, n_heads=4,
    n_kv_heads=2, rope_theta=5000.0)


def make_hf_llama(path: Path, seed: int = 0, **overrides: Any) -> Any:
    """Build a random ``LlamaForCausalLM``, ``save_pretrained`` it to ``path``; return it (eval)."""
    kwargs = {**TINY_HF, **overrides}
    rope = {"rope_type": "default", "rope_theta": kwargs.pop("rope_theta")}
    rope.update(kwargs.pop("rope_extra", {}))
    import transformers

    cfg = transformers.LlamaConfig(**kwargs)
    # transformers 5 reads rope_parameters, 4.x rope_theta / rope_scaling.
    if hasattr(cfg, "rope_parameters"):
        cfg.rope_parameters = rope
    else:
        cfg.rope_theta = rope["rope_theta"]
        if rope["rope_type"] != "default":
            cfg.rope_scaling = dict(rope)
    cfg._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = transformers.LlamaForCausalLM(cfg).eval()
    with torch.no_grad():  # HF initialises norms to 1: randomise them so they are tested too
        for name, p in model.named_parameters():
            if "norm" in name:
                p.add_(torch.randn_like(p) * 0.1)
    model.save_pretrained(path, safe_serialization=True)
    return model