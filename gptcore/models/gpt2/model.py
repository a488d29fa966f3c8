"""GPT-2 in one readable file (registered as the ``gpt2`` architecture by the package).

Pre-LayerNorm transformer with learned absolute positions, tanh-GELU MLP, fused QKV projection,
``scaled_dot_product_attention`` and (by default) the output head tied to the token embedding.
It follows :mod:`gptcore.platform.protocol`.  Of the shared building blocks (:mod:`gptcore.models.blocks`)
it needs none: LayerNorm, learned positions, the GELU MLP and fused multi-head QKV are GPT-2's
own; its loaders use the shared HF name-map helpers (:mod:`gptcore.platform.hf`).  It knows nothing of weight formats: the loaders in
:mod:`.hf` and :mod:`.textbook` import it, never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gptcore.platform.kvcache import KVCache, causal_attention
from gptcore.platform.validation import check_bool, check_float, check_int, check_parameters


@dataclass
class GPT2Config:
    """GPT-2 hyper-parameters; ``vocab_size`` normally comes from the tokenkit vocabulary."""

    vocab_size: int = 50257
    context_length: int = 1024
    emb_dim: int = 768
    n_layers: int = 12
    n_heads: int = 12
    dropout: float = 0.0
    qkv_bias: bool = True
    bias: bool = True  # biases of the output projection, MLP and LayerNorms
    tie_weights: bool = True
    layer_norm_eps: float = 1e-5
    gelu_approximate: str = "tanh"  # "tanh" (GPT-2's gelu_new) or "none" (exact erf GELU)
    # "gpt2": N(0, 0.02) weights, residual projections scaled by 1/sqrt(2 * n_layers);
    # "pytorch": torch's layer defaults (embeddings N(0, 1), Linear kaiming-uniform), as the textbook
    init: str = "gpt2"

    def __post_init__(self) -> None:
        check_int("vocab_size", self.vocab_size, 1, 1 << 24)
        check_int("context_length", self.context_length, 1, 1 << 20)
        check_int("emb_dim", self.emb_dim, 1, 1 << 16)
        check_int("n_layers", self.n_layers, 1, 1 << 10)
        check_int("n_heads", self.n_heads, 1, max(1, self.emb_dim))
        check_float("dropout", self.dropout, 0.0, 1.0, high_open=True)
        check_float("layer_norm_eps", self.layer_norm_eps, 0.0, 1.0, low_open=True)
        for name in ("qkv_bias", "bias", "tie_weights"):
            check_bool(name, getattr(self, name))
        check_parameters("GPT-2 config", (self.vocab_size + self.context_length) * self.emb_dim
                         + self.n_layers * 12 * self.emb_dim ** 2)
        if self.emb_dim % self.n_heads:
            raise ValueError(f"emb_dim {self.emb_dim} is not divisible by n_heads {self.n_heads}")
        if self.gelu_approximate not in ("tanh", "none"):
            raise ValueError(f"gelu_approximate must be 'tanh' or 'none', not {self.gelu_approximate!r}")
        if self.init not in ("gpt2", "pytorch"):
            raise ValueError(f"init must be 'gpt2' or 'pytorch', not {self.init!r}")


PRESETS: dict[str, dict[str, object]] = {
    "gpt2-small": dict(emb_dim=768, n_layers=12, n_heads=12, context_length=1024),
    "gpt2-medium": dict(emb_dim=1024, n_layers=24, n_heads=16, context_length=1024),
    "gpt2-large": dict(emb_dim=1280, n_layers=36, n_heads=20, context_length=1024),
    "gpt2-xl": dict(emb_dim=1600, n_layers=48, n_heads=25, context_length=1024),
    # Build a Large Language Model (From Scratch), ch. 5: 124M trained on The Verdict.
    "gpt2-124m-ctx256": dict(emb_dim=768, n_layers=12, n_heads=12, context_length=256,
                             dropout=0.1, qkv_bias=False),
    # Small enough to pretrain in minutes on a laptop CPU (most parameters sit in the embedding).
    "gpt2-tiny": dict(emb_dim=128, n_layers=4, n_heads=4, context_length=128),
    "gpt2-mini": dict(emb_dim=256, n_layers=6, n_heads=8, context_length=256),
}


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with one fused QKV matmul."""

    def __init__(self, cfg: GPT2Config, layer_idx: int) -> None:
        super().__init__()
        self.layer_idx = layer_idx
        self.n_heads = cfg.n_heads
        self.head_dim = cfg.emb_dim // cfg.n_heads
        self.dropout = cfg.dropout
        self.qkv = nn.Linear(cfg.emb_dim, 3 * cfg.emb_dim, bias=cfg.qkv_bias)
        self.proj = nn.Linear(cfg.emb_dim, cfg.emb_dim, bias=cfg.bias)
        self.resid_drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.n_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        y = causal_attention(q, k, v, cache, self.layer_idx, self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).reshape(b, t, c)
        return self.resid_drop(self.proj(y))


class MLP(nn.Module):
    """Position-wise feed-forward: 4x expansion with GELU."""

    def __init__(self, cfg: GPT2Config) -> None:
        super().__init__()
        self.fc = nn.Linear(cfg.emb_dim, 4 * cfg.emb_dim, bias=cfg.bias)
        self.proj = nn.Linear(4 * cfg.emb_dim, cfg.emb_dim, bias=cfg.bias)
        self.approximate = cfg.gelu_approximate
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.proj(F.gelu(self.fc(x), approximate=self.approximate)))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln1(x)), then x + mlp(ln2(x))."""

    def __init__(self, cfg: GPT2Config, layer_idx: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.emb_dim, eps=cfg.layer_norm_eps, bias=cfg.bias)
        self.attn = CausalSelfAttention(cfg, layer_idx)
        self.ln2 = nn.LayerNorm(cfg.emb_dim, eps=cfg.layer_norm_eps, bias=cfg.bias)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), cache)
        return x + self.mlp(self.ln2(x))


class GPT2(nn.Module):
    """GPT-2 language model: ``forward(input_ids, cache=None) -> logits [B, T, vocab]``."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.emb_dim)
        self.pos_emb = nn.Embedding(config.context_length, config.emb_dim)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config, i) for i in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.emb_dim, eps=config.layer_norm_eps, bias=config.bias)
        self.lm_head = nn.Linear(config.emb_dim, config.vocab_size, bias=False)
        if config.init == "gpt2":
            self.apply(self._init_weights)
            # GPT-2 scales residual projections by 1/sqrt(2 * n_layers) at init.
            for name, p in self.named_parameters():
                if name.endswith("attn.proj.weight") or name.endswith("mlp.proj.weight"):
                    nn.init.normal_(p, mean=0.0, std=0.02 / (2 * config.n_layers) ** 0.5)
        if config.tie_weights:
            self.lm_head.weight = self.tok_emb.weight

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, input_ids: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        b, t = input_ids.shape
        start = cache.seq_len if cache is not None else 0
        if start + t > self.config.context_length:
            raise ValueError(f"sequence of {start + t} tokens exceeds context_length "
                             f"{self.config.context_length}")
        pos = torch.arange(start, start + t, device=input_ids.device)
        x = self.drop(self.tok_emb(input_ids) + self.pos_emb(pos))
        for block in self.blocks:
            x = block(x, cache)
        return self.lm_head(self.ln_f(x))


def build(config: GPT2Config) -> GPT2:
    """Factory used by the registry."""
    return GPT2(config)
