"""GPT-NeoX (Pythia) as a gptcore model: parallel residual, partial rotary, fused per-head QKV.

Test-only family written from ``docs/plugins.md`` alone, as an outside author would; it knows no
file format (the HF loader is :mod:`gptcore_neox_test.hf`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gptcore.plugin import KVCache, causal_attention

API_VERSION = 1


@dataclass
class NeoXConfig:
    vocab_size: int = 50304
    context_length: int = 2048
    emb_dim: int = 64
    n_layers: int = 2
    n_heads: int = 4
    hidden_dim: int = 256
    rotary_pct: float = 0.25
    rotary_base: float = 10000.0
    layer_norm_eps: float = 1e-5
    parallel_residual: bool = True
    attention_bias: bool = True
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.emb_dim % self.n_heads:
            raise ValueError(f"emb_dim {self.emb_dim} is not a multiple of n_heads {self.n_heads}")
        if not 0.0 <= self.rotary_pct <= 1.0:
            raise ValueError(f"rotary_pct {self.rotary_pct} is not in [0, 1]")

    @property
    def head_dim(self) -> int:
        return self.emb_dim // self.n_heads

    @property
    def rotary_dim(self) -> int:
        return int(self.head_dim * self.rotary_pct)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """GPT-NeoX's convention: the two halves of the rotary dims, (a, b) -> (-b, a)."""
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg: NeoXConfig, layer: int) -> None:
        super().__init__()
        self.cfg, self.layer = cfg, layer
        # fused QKV, rows grouped per head: [n_heads, 3, head_dim] (q, k, v of head 0, then head 1 ...)
        self.query_key_value = nn.Linear(cfg.emb_dim, 3 * cfg.emb_dim, bias=cfg.attention_bias)
        self.dense = nn.Linear(cfg.emb_dim, cfg.emb_dim, bias=cfg.attention_bias)
        rot = cfg.rotary_dim
        inv_freq = 1.0 / (cfg.rotary_base ** (torch.arange(0, rot, 2, dtype=torch.float32) / max(rot, 1)))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def _rotary(self, x: torch.Tensor, start: int) -> torch.Tensor:
        rot = self.cfg.rotary_dim
        if rot == 0:
            return x
        pos = torch.arange(start, start + x.shape[-2], device=x.device, dtype=torch.float32)
        freqs = torch.outer(pos, self.inv_freq.to(x.device))
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)
        x_rot, x_pass = x[..., :rot], x[..., rot:]
        return torch.cat((x_rot * cos + rotate_half(x_rot) * sin, x_pass), dim=-1)

    def forward(self, x: torch.Tensor, cache: KVCache | None, start: int) -> torch.Tensor:
        b, t, _ = x.shape
        cfg = self.cfg
        qkv = self.query_key_value(x).view(b, t, cfg.n_heads, 3 * cfg.head_dim).transpose(1, 2)
        q, k, v = qkv.chunk(3, dim=-1)
        q, k = self._rotary(q, start), self._rotary(k, start)
        p = cfg.dropout if self.training else 0.0
        out = causal_attention(q, k, v.contiguous(), cache, self.layer, p)
        return self.dense(out.transpose(1, 2).reshape(b, t, cfg.emb_dim))


class MLP(nn.Module):
    def __init__(self, cfg: NeoXConfig) -> None:
        super().__init__()
        self.dense_h_to_4h = nn.Linear(cfg.emb_dim, cfg.hidden_dim)
        self.dense_4h_to_h = nn.Linear(cfg.hidden_dim, cfg.emb_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense_4h_to_h(F.gelu(self.dense_h_to_4h(x)))


class Block(nn.Module):
    def __init__(self, cfg: NeoXConfig, layer: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.input_layernorm = nn.LayerNorm(cfg.emb_dim, eps=cfg.layer_norm_eps)
        self.post_attention_layernorm = nn.LayerNorm(cfg.emb_dim, eps=cfg.layer_norm_eps)
        self.attention = Attention(cfg, layer)
        self.mlp = MLP(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None, start: int) -> torch.Tensor:
        attn = self.drop(self.attention(self.input_layernorm(x), cache, start))
        if self.cfg.parallel_residual:
            return x + attn + self.drop(self.mlp(self.post_attention_layernorm(x)))
        x = x + attn
        return x + self.drop(self.mlp(self.post_attention_layernorm(x)))


class NeoX(nn.Module):
    """``GPTNeoXForCausalLM`` with gptcore's forward: ``model(ids, cache=None) -> logits``."""

    def __init__(self, config: NeoXConfig) -> None:
        super().__init__()
        self.config = config
        self.embed_in = nn.Embedding(config.vocab_size, config.emb_dim)
        self.drop = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(Block(config, i) for i in range(config.n_layers))
        self.final_layer_norm = nn.LayerNorm(config.emb_dim, eps=config.layer_norm_eps)
        self.embed_out = nn.Linear(config.emb_dim, config.vocab_size, bias=False)  # untied
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
                if getattr(module, "bias", None) is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, input_ids: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        # positions start after the cached tokens; read before layer 0 updates the cache
        start = cache.seq_len if cache is not None else 0
        x = self.drop(self.embed_in(input_ids))
        for block in self.layers:
            x = block(x, cache, start)
        return self.embed_out(self.final_layer_norm(x))
