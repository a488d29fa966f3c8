"""Qwen2 / Qwen2.5 in one short file, declared from gptcore's building blocks.

Pre-norm decoder: RMSNorm, rotary embeddings (theta 1e6 in the published models), SwiGLU MLP,
grouped-query attention whose q/k/v projections carry biases (``o_proj`` does not), and an
output head tied to the embedding in the small models.  Sliding-window attention (off in every
published Qwen2/2.5 config) is not implemented; the loader refuses a config that enables it.

It follows :mod:`gptcore.platform.protocol` and knows no file format (:mod:`gptcore_qwen2.hf` imports it).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gptcore.plugin import (GroupedQueryAttention, KVCache, RMSNorm, Rotary, SwiGLU, check_bool, check_float,
                            check_int, check_parameters)

#: The gptcore plugin API this plugin was written against (a literal, not gptcore's constant).
API_VERSION = 1


@dataclass
class Qwen2Config:
    """Qwen2 hyper-parameters (JSON scalars, all defaulted)."""

    vocab_size: int = 151936
    context_length: int = 32768
    emb_dim: int = 896
    n_layers: int = 24
    n_heads: int = 14
    n_kv_heads: int | None = None  # None: same as n_heads
    head_dim: int | None = None  # None: emb_dim // n_heads
    hidden_dim: int = 4864  # SwiGLU inner size (HF's intermediate_size)
    rope_theta: float = 1000000.0
    rms_norm_eps: float = 1e-6
    tie_weights: bool = True
    dropout: float = 0.0  # attention dropout (training only)

    def __post_init__(self) -> None:
        check_int("vocab_size", self.vocab_size, 1, 1 << 24)
        check_int("context_length", self.context_length, 1, 1 << 24)
        check_int("emb_dim", self.emb_dim, 1, 1 << 17)
        check_int("n_layers", self.n_layers, 1, 1 << 10)
        check_int("n_heads", self.n_heads, 1, self.emb_dim)
        check_int("hidden_dim", self.hidden_dim, 1, 1 << 20)
        self.n_kv_heads = self.n_heads if self.n_kv_heads is None else self.n_kv_heads
        check_int("n_kv_heads", self.n_kv_heads, 1, self.n_heads)
        if self.head_dim is None:
            if self.emb_dim % self.n_heads:
                raise ValueError(f"emb_dim {self.emb_dim} is not divisible by n_heads {self.n_heads}")
            self.head_dim = self.emb_dim // self.n_heads
        check_int("head_dim", self.head_dim, 2, 1 << 12)
        check_float("rope_theta", self.rope_theta, 0.0, 1e12, low_open=True)
        check_float("rms_norm_eps", self.rms_norm_eps, 0.0, 1.0, low_open=True)
        check_float("dropout", self.dropout, 0.0, 1.0, high_open=True)
        check_bool("tie_weights", self.tie_weights)
        if self.n_heads % self.n_kv_heads:
            raise ValueError(f"n_heads {self.n_heads} is not a multiple of n_kv_heads {self.n_kv_heads}")
        if self.head_dim % 2:
            raise ValueError(f"head_dim {self.head_dim} must be even for rotary embeddings")
        attention = self.emb_dim * self.head_dim * (2 * self.n_heads + 2 * self.n_kv_heads)
        embeddings = self.vocab_size * self.emb_dim * (1 if self.tie_weights else 2)
        check_parameters("Qwen2 config", embeddings + self.n_layers * (attention + 3 * self.emb_dim * self.hidden_dim))


_QWEN = dict(vocab_size=151936, rope_theta=1000000.0, rms_norm_eps=1e-6, tie_weights=True)
_QWEN_7B = dict(_QWEN, vocab_size=152064, emb_dim=3584, n_layers=28, n_heads=28, n_kv_heads=4, hidden_dim=18944,
                context_length=131072, tie_weights=False)

# Shapes of the published config.json files (Qwen/<name> on the Hugging Face hub); weights come
# from the loader.  Instruct models share their base model's shapes.
PRESETS: dict[str, dict[str, object]] = {
    "qwen2-tiny": dict(vocab_size=512, context_length=256, emb_dim=64, n_layers=2, n_heads=4, n_kv_heads=2,
                       hidden_dim=176, rope_theta=10000.0),
    "qwen2-0.5b": dict(_QWEN, emb_dim=896, n_layers=24, n_heads=14, n_kv_heads=2, hidden_dim=4864,
                       context_length=131072),
    "qwen2-1.5b": dict(_QWEN, emb_dim=1536, n_layers=28, n_heads=12, n_kv_heads=2, hidden_dim=8960,
                       context_length=131072),
    "qwen2-7b": _QWEN_7B,
    "qwen2.5-0.5b": dict(_QWEN, emb_dim=896, n_layers=24, n_heads=14, n_kv_heads=2, hidden_dim=4864,
                         context_length=32768),
    "qwen2.5-1.5b": dict(_QWEN, emb_dim=1536, n_layers=28, n_heads=12, n_kv_heads=2, hidden_dim=8960,
                         context_length=131072),
    "qwen2.5-3b": dict(_QWEN, emb_dim=2048, n_layers=36, n_heads=16, n_kv_heads=2, hidden_dim=11008,
                       context_length=32768),
    "qwen2.5-7b": _QWEN_7B,
}


class Block(nn.Module):
    """x + attn(attn_norm(x)), then x + mlp(mlp_norm(x))."""

    def __init__(self, cfg: Qwen2Config, layer_idx: int) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(cfg.emb_dim, cfg.rms_norm_eps)
        self.attn = GroupedQueryAttention(cfg.emb_dim, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, layer_idx,
                                          qkv_bias=True, dropout=cfg.dropout)
        self.mlp_norm = RMSNorm(cfg.emb_dim, cfg.rms_norm_eps)
        self.mlp = SwiGLU(cfg.emb_dim, cfg.hidden_dim)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                cache: KVCache | None) -> torch.Tensor:  # x: [B, T, C]
        x = x + self.attn(self.attn_norm(x), cos, sin, cache)
        return x + self.mlp(self.mlp_norm(x))


class Qwen2(nn.Module):
    """Qwen2 language model: ``forward(input_ids [B, T], cache=None) -> logits [B, T, vocab]``."""

    def __init__(self, config: Qwen2Config) -> None:
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.emb_dim)
        self.rotary = Rotary(config.head_dim, config.rope_theta)
        self.blocks = nn.ModuleList(Block(config, i) for i in range(config.n_layers))
        self.norm = RMSNorm(config.emb_dim, config.rms_norm_eps)
        self.lm_head = nn.Linear(config.emb_dim, config.vocab_size, bias=False)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        if config.tie_weights:
            self.lm_head.weight = self.tok_emb.weight

    def forward(self, input_ids: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        t = input_ids.shape[1]
        start = cache.seq_len if cache is not None else 0  # read before layer 0 updates the cache
        if start + t > self.config.context_length:
            raise ValueError(f"sequence of {start + t} tokens exceeds context_length {self.config.context_length}")
        x = self.tok_emb(input_ids)  # [B, T, C]
        cos, sin = self.rotary(start, t, x.dtype)  # [T, D]
        for block in self.blocks:
            x = block(x, cos, sin, cache)
        return self.lm_head(self.norm(x))  # [B, T, vocab]


def build(config: Qwen2Config) -> Qwen2:
    """Factory used by the registry."""
    return Qwen2(config)
