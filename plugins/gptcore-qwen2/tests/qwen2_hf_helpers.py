"""Helpers for the gptcore-qwen2 tests: tiny random Qwen2 models saved by ``transformers``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from gptcore.kit import testing

TINY_HF: dict[str, Any] = dict(
    vocab_size=97, hidden_size=32, intermediate_size=72, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=5000.0,
    tie_word_embeddings=False)

# Same shapes as TINY_HF, in gptcore-qwen2's field names (for the plugin test kit).
TINY: dict[str, Any] = dict(vocab_size=97, context_length=64, emb_dim=32, hidden_dim=72, n_layers=2, n_heads=4,
                            n_kv_heads=2, rope_theta=5000.0, tie_weights=False)


def make_hf_qwen2(path: Path, seed: int = 0, **overrides: Any) -> Any:
    """A random ``Qwen2ForCausalLM`` (norms and biases randomised too), saved to ``path``; eval mode."""
    import transformers

    cfg = transformers.Qwen2Config(**{**TINY_HF, "initializer_range": 0.5, **overrides})
    cfg._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = testing.randomize_parameters(transformers.Qwen2ForCausalLM(cfg).eval(), seed, matrices=None)
    model.save_pretrained(path, safe_serialization=True)
    return model
