"""Llama in one readable file (registered as the ``llama`` architecture by the package).

Pre-norm decoder with RMSNorm, rotary position embeddings (RoPE, optionally with Llama 3's
frequency scaling), SwiGLU MLP, grouped-query attention (``n_kv_heads`` key/value heads shared
by ``n_heads`` query heads), no biases and an optionally tied output head.

RoPE uses the "rotate half" convention of Hugging Face ``transformers`` (the first and second
halves of each head dimension form the complex pairs), so Hugging Face checkpoints, whose q/k
projections were already permuted from Meta's interleaved layout by transformers' conversion
script, load without any further permutation.  :func:`permute_meta_qk` converts a projection
in Meta's original interleaved layout.

The layers are gptcore's shared building blocks (:mod:`gptcore.plugin`: ``RMSNorm``,
``Rotary``, ``GroupedQueryAttention``, ``SwiGLU``); this file declares how Llama wires them.
It follows :mod:`gptcore.platform.protocol`: ``forward(ids, cache)``, keys/values of shape
``[B, n_kv_heads, T, head_dim]`` through :class:`gptcore.plugin.KVCache`.  It knows nothing of
weight formats: :mod:`gptcore_llama.hf` imports it, never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from gptcore.plugin import (GroupedQueryAttention, KVCache, RMSNorm, Rotary, SwiGLU, apply_rotary, check_bool,
                            check_float, check_int, check_parameters)
from gptcore.plugin import rope_inv_freq as blocks_inv_freq

#: The gptcore plugin API this plugin was written against (a literal, not gptcore's constant:
#: gptcore rejects the plugin with a clear error if it no longer supports this version).
API_VERSION = 1


@dataclass
class LlamaConfig:
    """Llama hyper-parameters (every field a JSON scalar, every field defaulted)."""

    vocab_size: int = 32000
    context_length: int = 2048
    emb_dim: int = 4096
    n_layers: int = 32
    n_heads: int = 32
    n_kv_heads: int | None = None  # None: same as n_heads (plain multi-head attention)
    head_dim: int | None = None  # None: emb_dim // n_heads
    hidden_dim: int = 11008  # SwiGLU inner size (HF's intermediate_size)
    rope_theta: float = 10000.0
    # Llama 3.x RoPE frequency scaling ("llama3") or none (None).
    rope_scaling: str | None = None
    rope_factor: float = 8.0
    rope_low_freq_factor: float = 1.0
    rope_high_freq_factor: float = 4.0
    rope_original_context: int = 8192
    rms_norm_eps: float = 1e-5
    tie_weights: bool = False
    dropout: float = 0.0  # attention dropout (training only)

    def __post_init__(self) -> None:
        # A config.json from anywhere: types and ranges before anything is allocated.
        check_int("vocab_size", self.vocab_size, 1, 1 << 24)
        check_int("context_length", self.context_length, 1, 1 << 24)
        check_int("emb_dim", self.emb_dim, 1, 1 << 17)
        check_int("n_layers", self.n_layers, 1, 1 << 10)
        check_int("n_heads", self.n_heads, 1, self.emb_dim)
        check_int("hidden_dim", self.hidden_dim, 1, 1 << 20)
        if self.n_kv_heads is not None:
            check_int("n_kv_heads", self.n_kv_heads, 1, self.n_heads)
        if self.head_dim is not None:
            check_int("head_dim", self.head_dim, 2, 1 << 12)
        for name in ("rope_theta", "rope_factor", "rope_low_freq_factor", "rope_high_freq_factor"):
            check_float(name, getattr(self, name), 0.0, 1e12, low_open=True)
        check_int("rope_original_context", self.rope_original_context, 1, 1 << 24)
        check_float("rms_norm_eps", self.rms_norm_eps, 0.0, 1.0, low_open=True)
        check_float("dropout", self.dropout, 0.0, 1.0, high_open=True)
        check_bool("tie_weights", self.tie_weights)
        if self.n_kv_heads is None:
            self.n_kv_heads = self.n_heads
        if self.head_dim is None:
            if self.emb_dim % self.n_heads:
                raise ValueError(f"emb_dim {self.emb_dim} is not divisible by n_heads {self.n_heads}")
            self.head_dim = self.emb_dim // self.n_heads
        if self.n_heads % self.n_kv_heads:
            raise ValueError(f"n_heads {self.n_heads} is not a multiple of n_kv_heads {self.n_kv_heads}")
        if self.head_dim % 2:
            raise ValueError(f"head_dim {self.head_dim} must be even for rotary embeddings")
        if self.rope_scaling not in (None, "llama3"):
            raise ValueError(f"rope_scaling must be None or 'llama3', not {self.rope_scaling!r}")
        attention = self.emb_dim * self.head_dim * (2 * self.n_heads + 2 * self.n_kv_heads)
        mlp = 3 * self.emb_dim * self.hidden_dim
        embeddings = self.vocab_size * self.emb_dim * (1 if self.tie_weights else 2)
        check_parameters("Llama config", embeddings + self.n_layers * (attention + mlp))


_LLAMA32 = dict(vocab_size=128256, context_length=131072, rope_theta=500000.0, rope_scaling="llama3",
                rope_factor=32.0, rope_low_freq_factor=1.0, rope_high_freq_factor=4.0,
                rope_original_context=8192, tie_weights=True, rms_norm_eps=1e-5)

PRESETS: dict[str, dict[str, object]] = {
    # For tests and smoke runs.
    "llama-tiny": dict(vocab_size=512, context_length=256, emb_dim=64, n_layers=2, n_heads=4,
                       n_kv_heads=2, hidden_dim=176),
    # TinyLlama/TinyLlama-1.1B (Llama 2 architecture, 32k SentencePiece vocabulary).
    "tinyllama-1.1b": dict(vocab_size=32000, context_length=2048, emb_dim=2048, n_layers=22,
                           n_heads=32, n_kv_heads=4, hidden_dim=5632, rope_theta=10000.0,
                           rms_norm_eps=1e-5, tie_weights=False),
    # meta-llama/Llama-3.2-1B and -3B.
    "llama-3.2-1b": dict(_LLAMA32, emb_dim=2048, n_layers=16, n_heads=32, n_kv_heads=8,
                         hidden_dim=8192),
    "llama-3.2-3b": dict(_LLAMA32, emb_dim=3072, n_layers=28, n_heads=24, n_kv_heads=8,
                         hidden_dim=8192),
    # meta-llama/Llama-2-7b-hf.
    "llama-2-7b": dict(vocab_size=32000, context_length=4096, emb_dim=4096, n_layers=32, n_heads=32,
                       n_kv_heads=32, hidden_dim=11008, rope_theta=10000.0, rms_norm_eps=1e-5),
    # HuggingFaceTB/SmolLM2-135M and -360M.
    "smollm2-135m": dict(vocab_size=49152, context_length=8192, emb_dim=576, n_layers=30, n_heads=9,
                         n_kv_heads=3, hidden_dim=1536, rope_theta=100000.0, tie_weights=True),
    "smollm2-360m": dict(vocab_size=49152, context_length=8192, emb_dim=960, n_layers=32, n_heads=15,
                         n_kv_heads=5, hidden_dim=2560, rope_theta=100000.0, tie_weights=True),
}


def rope_inv_freq(cfg: LlamaConfig) -> torch.Tensor:
    """Inverse frequencies ``[head_dim / 2]`` (float32), with Llama 3 scaling if configured."""
    return blocks_inv_freq(cfg.head_dim, cfg.rope_theta, **_rope_scaling(cfg))


def _rope_scaling(cfg: LlamaConfig) -> dict[str, Any]:
    if cfg.rope_scaling != "llama3":
        return {}
    return dict(scaling="llama3", factor=cfg.rope_factor, low_freq_factor=cfg.rope_low_freq_factor,
                high_freq_factor=cfg.rope_high_freq_factor, original_context=cfg.rope_original_context)


def permute_meta_qk(w: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Meta's interleaved q/k projection ``[H*D, C]`` -> the rotate-half layout used here.

    Same permutation as transformers' ``convert_llama_weights_to_hf.py``.
    """
    out, inp = w.shape
    return w.view(n_heads, out // n_heads // 2, 2, inp).transpose(1, 2).reshape(out, inp)


apply_rope = apply_rotary  # rotate ``x [B, H, T, D]`` by position (``cos``/``sin`` ``[T, D]``)


class Block(nn.Module):
    """x + attn(attn_norm(x)), then x + mlp(mlp_norm(x))."""

    def __init__(self, cfg: LlamaConfig, layer_idx: int) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(cfg.emb_dim, cfg.rms_norm_eps)
        self.attn = GroupedQueryAttention(cfg.emb_dim, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, layer_idx,
                                          dropout=cfg.dropout)
        self.mlp_norm = RMSNorm(cfg.emb_dim, cfg.rms_norm_eps)
        self.mlp = SwiGLU(cfg.emb_dim, cfg.hidden_dim)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                cache: KVCache | None = None) -> torch.Tensor:  # x: [B, T, C]
        x = x + self.attn(self.attn_norm(x), cos, sin, cache)
        return x + self.mlp(self.mlp_norm(x))


class Llama(nn.Module):
    """Llama language model: ``forward(input_ids, cache=None) -> logits [B, T, vocab]``."""

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.emb_dim)
        self.rotary = Rotary(config.head_dim, config.rope_theta, **_rope_scaling(config))
        self.blocks = nn.ModuleList(Block(config, i) for i in range(config.n_layers))
        self.norm = RMSNorm(config.emb_dim, config.rms_norm_eps)
        self.lm_head = nn.Linear(config.emb_dim, config.vocab_size, bias=False)
        self.apply(self._init_weights)
        if config.tie_weights:
            self.lm_head.weight = self.tok_emb.weight

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, input_ids: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        b, t = input_ids.shape  # [B, T]
        start = cache.seq_len if cache is not None else 0  # read before layer 0 updates the cache
        if start + t > self.config.context_length:
            raise ValueError(f"sequence of {start + t} tokens exceeds context_length "
                             f"{self.config.context_length}")
        x = self.tok_emb(input_ids)  # [B, T, C]
        cos, sin = self.rotary(start, t, x.dtype)  # [T, D]
        for block in self.blocks:
            x = block(x, cos, sin, cache)
        return self.lm_head(self.norm(x))  # [B, T, vocab]


def build(config: LlamaConfig) -> Llama:
    """Factory used by the registry."""
    return Llama(config)
