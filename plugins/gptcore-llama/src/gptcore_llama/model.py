"""Llama in one readable file (registered as the ``llama`` architecture by the package).

Pre-norm decoder with RMSNorm, rotary position embeddings (RoPE, optionally with Llama 3's
frequency scaling), SwiGLU MLP, grouped-query attention (``n_kv_heads`` key/value heads shared
by ``n_heads`` query heads), no biases and an optionally tied output head.

RoPE uses the "rotate half" convention of Hugging Face ``transformers`` (the first and second
halves of each head dimension form the complex pairs), so Hugging Face checkpoints, whose q/k
projections were already permuted from Meta's interleaved layout by transformers' conversion
script, load without any further permutation.  :func:`permute_meta_qk` converts a projection
in Meta's original interleaved layout.

It follows :mod:`gptcore.platform.protocol`: ``forward(ids, cache)``, keys/values of shape
``[B, n_kv_heads, T, head_dim]`` through :class:`gptcore.plugin.KVCache`.  It knows nothing of
weight formats: :mod:`gptcore_llama.hf` imports it, never the other way round.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gptcore.plugin import KVCache, causal_attention, check_bool, check_float, check_int, check_parameters

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
    dim = cfg.head_dim
    inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    if cfg.rope_scaling == "llama3":
        factor, low, high = cfg.rope_factor, cfg.rope_low_freq_factor, cfg.rope_high_freq_factor
        old_ctx = cfg.rope_original_context
        low_wavelen, high_wavelen = old_ctx / low, old_ctx / high
        wavelen = 2 * math.pi / inv_freq
        scaled = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
        smooth = (old_ctx / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
        inv_freq = torch.where(medium, smoothed, scaled)
    return inv_freq


def permute_meta_qk(w: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Meta's interleaved q/k projection ``[H*D, C]`` -> the rotate-half layout used here.

    Same permutation as transformers' ``convert_llama_weights_to_hf.py``.
    """
    out, inp = w.shape
    return w.view(n_heads, out // n_heads // 2, 2, inp).transpose(1, 2).reshape(out, inp)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate ``x [B, H, T, D]`` by position (``cos``/``sin`` are ``[T, D]``)."""
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


class RMSNorm(nn.Module):
    """Root-mean-square norm with a learned scale (no bias), computed in float32."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == self.weight.dtype == torch.float32:  # one fused kernel, scale included
            return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)
        # Lower precision: normalise in float32, round, then scale (as transformers does).
        normed = F.rms_norm(x.float(), (x.shape[-1],), eps=self.eps)
        return self.weight * normed.to(x.dtype)


class Attention(nn.Module):
    """Causal grouped-query attention with rotary embeddings and SDPA."""

    def __init__(self, cfg: LlamaConfig, layer_idx: int) -> None:
        super().__init__()
        self.layer_idx = layer_idx
        self.n_heads, self.n_kv_heads, self.head_dim = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        self.dropout = cfg.dropout
        self.q_proj = nn.Linear(cfg.emb_dim, cfg.n_heads * cfg.head_dim, bias=False)
        self.k_proj = nn.Linear(cfg.emb_dim, cfg.n_kv_heads * cfg.head_dim, bias=False)
        self.v_proj = nn.Linear(cfg.emb_dim, cfg.n_kv_heads * cfg.head_dim, bias=False)
        self.o_proj = nn.Linear(cfg.n_heads * cfg.head_dim, cfg.emb_dim, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                cache: KVCache | None = None) -> torch.Tensor:
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.n_kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.n_kv_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        y = causal_attention(q, k, v, cache, self.layer_idx, self.dropout if self.training else 0.0,
                             enable_gqa=self.n_kv_heads != self.n_heads)
        return self.o_proj(y.transpose(1, 2).reshape(b, t, self.n_heads * self.head_dim))


class SwiGLU(nn.Module):
    """``down(silu(gate(x)) * up(x))``."""

    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(cfg.emb_dim, cfg.hidden_dim, bias=False)
        self.up_proj = nn.Linear(cfg.emb_dim, cfg.hidden_dim, bias=False)
        self.down_proj = nn.Linear(cfg.hidden_dim, cfg.emb_dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    """x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, cfg: LlamaConfig, layer_idx: int) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(cfg.emb_dim, cfg.rms_norm_eps)
        self.attn = Attention(cfg, layer_idx)
        self.mlp_norm = RMSNorm(cfg.emb_dim, cfg.rms_norm_eps)
        self.mlp = SwiGLU(cfg)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                cache: KVCache | None = None) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), cos, sin, cache)
        return x + self.mlp(self.mlp_norm(x))


class Llama(nn.Module):
    """Llama language model: ``forward(input_ids, cache=None) -> logits [B, T, vocab]``."""

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.emb_dim)
        self.blocks = nn.ModuleList(Block(config, i) for i in range(config.n_layers))
        self.norm = RMSNorm(config.emb_dim, config.rms_norm_eps)
        self.lm_head = nn.Linear(config.emb_dim, config.vocab_size, bias=False)
        # Not persistent: derived from the config, so it is not part of the checkpoint format.
        self.register_buffer("inv_freq", rope_inv_freq(config), persistent=False)
        self.apply(self._init_weights)
        if config.tie_weights:
            self.lm_head.weight = self.tok_emb.weight

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def _apply(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        # Keep the RoPE frequencies in float32 when the model is cast (``model.half()``).
        out = super()._apply(fn, *args, **kwargs)
        if self.inv_freq.dtype != torch.float32:
            self.inv_freq = self.inv_freq.float()
        return out

    def rope(self, start: int, length: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """``cos``/``sin`` ``[length, head_dim]`` for positions ``start .. start + length - 1``."""
        pos = torch.arange(start, start + length, device=self.inv_freq.device, dtype=torch.float32)
        freqs = torch.outer(pos, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(dtype), emb.sin().to(dtype)

    def forward(self, input_ids: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        b, t = input_ids.shape
        start = cache.seq_len if cache is not None else 0
        if start + t > self.config.context_length:
            raise ValueError(f"sequence of {start + t} tokens exceeds context_length "
                             f"{self.config.context_length}")
        x = self.tok_emb(input_ids)
        cos, sin = self.rope(start, t, x.dtype)
        for block in self.blocks:
            x = block(x, cos, sin, cache)
        return self.lm_head(self.norm(x))


def build(config: LlamaConfig) -> Llama:
    """Factory used by the registry."""
    return Llama(config)
